import { ExtensionTypeUrls, TypeUrls, isTrellisError, typedConfig } from '@trellis/plugin-sdk';
import type { Cluster, Listener } from '@trellis/plugin-sdk';
import { describe, expect, it } from 'vitest';
import { createResourceFactory } from './factory.ts';
import { messageType } from './protos.ts';

const cluster: Cluster = {
  name: 'bookstore',
  type: 'EDS',
  connect_timeout: { seconds: 1, nanos: 500_000_000 },
  eds_cluster_config: { service_name: 'bookstore', eds_config: { ads: {} } },
  per_connection_buffer_limit_bytes: { value: 32768 },
  typed_extension_protocol_options: {
    'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': typedConfig(ExtensionTypeUrls.httpProtocolOptions, {
      explicit_http_config: { http2_protocol_options: {} },
    }),
  },
};

/** The error `create` throws, for assertions on its message. */
function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    expect(isTrellisError(err)).toBe(true);
    return err as Error;
  }
  throw new Error('expected an error');
}

describe('createResourceFactory', () => {
  const factory = createResourceFactory();
  const strict = createResourceFactory({ strict: true });

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
    const c = factory.create(TypeUrls.cluster, 'bookstore', { ...cluster, connect_timeout: { seconds: 2 } });
    expect(a.version).toBe(b.version);
    expect(c.version).not.toBe(a.version);
  });

  it('rejects an unknown field at run time with resource type, name and path (not dropping it)', () => {
    const typo = { name: 'x', nmae: 'typo' } as Cluster;
    const err = errorOf(() => factory.create(TypeUrls.cluster, 'x', typo));
    expect(err.message).toContain('envoy.config.cluster.v3.Cluster "x"');
    expect(err.message).toContain('$.nmae: envoy.config.cluster.v3.Cluster has no field "nmae"');
  });

  it('rejects an unknown field deep inside an Any payload, naming the path through it', () => {
    const listener = {
      name: 'l',
      filter_chains: [{ filters: [{ name: 'hcm', typed_config: { '@type': ExtensionTypeUrls.httpConnectionManager, stat_prefx: 'p' } }] }],
    } as unknown as Listener;
    const err = errorOf(() => factory.create(TypeUrls.listener, 'l', listener));
    expect(err.message).toContain(
      '$.filter_chains[0].filters[0].typed_config<envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager>.stat_prefx',
    );
  });

  it('rejects an unknown Any @type and a message field given a scalar', () => {
    const unknownAny = { name: 'l', filter_chains: [{ filters: [{ name: 'f', typed_config: { '@type': 'type.googleapis.com/no.Such' } }] }] } as unknown as Listener;
    expect(errorOf(() => factory.create(TypeUrls.listener, 'l', unknownAny)).message).toContain('$.filter_chains[0].filters[0].typed_config: unknown Any @type "type.googleapis.com/no.Such"');
    const jsonDuration = { name: 'c', connect_timeout: '1s' } as unknown as Cluster;
    expect(errorOf(() => factory.create(TypeUrls.cluster, 'c', jsonDuration)).message).toContain('$.connect_timeout: expected google.protobuf.Duration object, got string "1s"');
  });

  it('strict mode also runs the full walk: value types the cheap check leaves to the compiler', () => {
    const wrongType = { name: 'bad', type: 'NO_SUCH_TYPE' } as unknown as Cluster;
    expect(factory.create(TypeUrls.cluster, 'bad', { name: 'bad' }).name).toBe('bad');
    expect(errorOf(() => strict.create(TypeUrls.cluster, 'bad', wrongType)).message).toContain('$.type');
  });

  it('refuses a Secret holding a private key without an audience, and keeps the audience it is given', () => {
    const secret = { name: 's', tls_certificate: { private_key: { inline_string: 'KEY' } } };
    expect(errorOf(() => factory.create(TypeUrls.secret, 's', secret)).message).toContain('names no audience');
    const audience = { namespace: 'ns', serviceAccount: 'sa' };
    expect(factory.create(TypeUrls.secret, 's', secret, { audience }).audience).toEqual(audience);
    const publicSecret = factory.create(TypeUrls.secret, 'ca', { name: 'ca', validation_context: { trusted_ca: { inline_string: 'CA' } } });
    expect(publicSecret.audience).toBeUndefined();
  });
});
