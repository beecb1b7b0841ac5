import { TypeUrls, isTrellisError } from '@trellis/plugin-sdk';
import { describe, expect, it } from 'vitest';
import type { Cluster } from '../generated/envoy/config/cluster/v3/Cluster.ts';
import { createResourceFactory } from './factory.ts';
import { messageType } from './protos.ts';

const cluster = {
  name: 'bookstore',
  type: 'EDS',
  connect_timeout: '1.5s',
  eds_cluster_config: { service_name: 'bookstore', eds_config: { ads: {} } },
  per_connection_buffer_limit_bytes: 32768,
  typed_extension_protocol_options: {
    'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
      '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
      explicit_http_config: { http2_protocol_options: {} },
    },
  },
};

describe('createResourceFactory', () => {
  const factory = createResourceFactory();

  it('encodes once and derives a content version', () => {
    const r = factory.create(TypeUrls.cluster, 'bookstore', cluster);
    expect(r.version).toMatch(/^[A-Za-z0-9_-]{16}$/);
    const decoded = messageType(TypeUrls.cluster).toObject(messageType(TypeUrls.cluster).decode(r.body), {
      enums: String,
      longs: Number,
    });
    expect(decoded.name).toBe('bookstore');
    expect(decoded.type).toBe('EDS');
    expect(decoded.connect_timeout).toEqual({ seconds: 1, nanos: 500_000_000 });
    expect(decoded.per_connection_buffer_limit_bytes).toEqual({ value: 32768 });
    const any = decoded.typed_extension_protocol_options['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'];
    expect(any.type_url).toBe('type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions');
    expect(any.value.length).toBeGreaterThan(0);
    expect(r.value).toBe(cluster);
  });

  it('gives equal versions for equal content and different ones otherwise', () => {
    const a = factory.create(TypeUrls.cluster, 'bookstore', structuredClone(cluster));
    const b = factory.create(TypeUrls.cluster, 'bookstore', structuredClone(cluster));
    const c = factory.create(TypeUrls.cluster, 'bookstore', { ...cluster, connect_timeout: '2s' });
    expect(a.version).toBe(b.version);
    expect(c.version).not.toBe(a.version);
  });

  it('throws a precise error for a wrong value type', () => {
    try {
      factory.create(TypeUrls.cluster, 'bad', { name: 'bad', connect_timeout: 'soon' });
      expect.unreachable();
    } catch (err) {
      expect(isTrellisError(err)).toBe(true);
      expect((err as Error).message).toContain('"bad"');
      expect((err as Error).message).toContain('$.connect_timeout');
    }
  });

  it('strict mode rejects unknown keys; default mode drops them', () => {
    const obj = { name: 'x', nmae: 'typo' };
    expect(() => createResourceFactory({ strict: true }).create(TypeUrls.cluster, 'x', obj)).toThrow(/\$\.nmae/);
    expect(factory.create(TypeUrls.cluster, 'x', obj).version).toBe(factory.create(TypeUrls.cluster, 'x', { name: 'x' }).version);
  });

  it('accepts objects typed with the generated proto types (protobufjs object form)', () => {
    const typed: Cluster = { name: 't', type: 'EDS', connect_timeout: { seconds: 2 }, per_connection_buffer_limit_bytes: { value: 1024 } };
    const r = factory.create(TypeUrls.cluster, 't', typed as Record<string, unknown>);
    const json = factory.create(TypeUrls.cluster, 't', { name: 't', type: 'EDS', connect_timeout: '2s', per_connection_buffer_limit_bytes: 1024 });
    expect(r.version).toBe(json.version);
  });
});
