/**
 * Type-level tests: `tsc` (npm run typecheck) fails if a `@ts-expect-error` line stops being an error, i.e. if
 * the typed inputs stopped catching misspelled fields or wrong value forms. The runtime part checks the
 * helpers' output.
 */
import { describe, expect, it } from 'vitest';
import { ExtensionTypeUrls, TypeUrls, type ExtensionTypeUrl, type TypeUrl, type XdsResource, type XdsResourceFactory } from './resources.ts';
import { durationMs, typedConfig, type ExtensionTypes, type ResourceTypes } from './types.ts';

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
// Every type URL constant has an input type, and every input type a constant.
const resourcesComplete: Same<TypeUrl, keyof ResourceTypes> = true;
const extensionsComplete: Same<ExtensionTypeUrl, keyof ExtensionTypes> = true;

const made: unknown[] = [];
const factory: XdsResourceFactory = {
  create(typeUrl, name, value): XdsResource {
    made.push(value);
    return { typeUrl, name, version: 'v', body: new Uint8Array(0), value: value as Record<string, unknown> };
  },
};

describe('typed xDS inputs', () => {
  it('accept the proto field names and object forms', () => {
    expect([resourcesComplete, extensionsComplete]).toEqual([true, true]);
    factory.create(TypeUrls.cluster, 'c', { name: 'c', type: 'EDS', connect_timeout: durationMs(1500), per_connection_buffer_limit_bytes: { value: 1 } });
    factory.create(TypeUrls.listener, 'l', {
      name: 'l',
      filter_chains: [{ filters: [{ name: 'hcm', typed_config: typedConfig(ExtensionTypeUrls.httpConnectionManager, { stat_prefix: 'p' }) }] }],
    });
    expect(made).toHaveLength(2);
  });

  it('make a misspelled field or a wrong value form a compile error', () => {
    // @ts-expect-error `nmae` is not a field of Cluster
    factory.create(TypeUrls.cluster, 'c', { nmae: 'c' });
    // @ts-expect-error a misspelled field deep inside (socket_address.port_valu)
    factory.create(TypeUrls.endpoint, 'e', { cluster_name: 'e', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { port_valu: 1 } } } }] }] });
    // @ts-expect-error the typed config is checked against its @type's message (HttpConnectionManager has no `sni`)
    typedConfig(ExtensionTypeUrls.httpConnectionManager, { sni: 'x' });
    // @ts-expect-error a Duration is an object, not proto3 JSON's "1s"
    factory.create(TypeUrls.cluster, 'c', { name: 'c', connect_timeout: '1s' });
    // @ts-expect-error an enum takes its names only
    factory.create(TypeUrls.cluster, 'c', { name: 'c', type: 'ED' });
    // @ts-expect-error the value is typed by the type URL: a Cluster field on a Listener
    factory.create(TypeUrls.listener, 'l', { name: 'l', connect_timeout: { seconds: 1 } });
    // @ts-expect-error a type URL without an input type
    factory.create('type.googleapis.com/envoy.config.core.v3.Node', 'n', {});
    expect(made.length).toBeGreaterThan(2);
  });

  it('typedConfig puts @type first and keeps the fields; durationMs splits seconds and nanos', () => {
    expect(typedConfig(ExtensionTypeUrls.router)).toEqual({ '@type': ExtensionTypeUrls.router });
    expect(typedConfig(ExtensionTypeUrls.tcpProxy, { stat_prefix: 's', cluster: 'c' })).toEqual({ '@type': ExtensionTypeUrls.tcpProxy, stat_prefix: 's', cluster: 'c' });
    expect(durationMs(1500)).toEqual({ seconds: 1, nanos: 500_000_000 });
    expect(durationMs(0)).toEqual({ seconds: 0, nanos: 0 });
    expect(durationMs(30_000)).toEqual({ seconds: 30, nanos: 0 });
  });
});
