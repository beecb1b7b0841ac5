import { TypeUrls } from '@trellis/plugin-sdk';
import type { StandInContext, XdsResource, XdsResourceFactory } from '@trellis/plugin-sdk';
import { describe, expect, it } from 'vitest';
import { createGrpcStandIns } from '../generator.ts';
import { serverListenerName } from './names.ts';
import { DENIED_CLUSTER } from './deny.ts';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const factory: XdsResourceFactory = {
  create(typeUrl: string, name: string, value: Record<string, unknown>): XdsResource {
    const body = new TextEncoder().encode(JSON.stringify(value));
    return { typeUrl, name, version: String(body.length), body, value };
  },
};
const node = { uuid: 'u', kind: 'grpc', namespace: 't', serviceAccount: 'a', trustDomain: 'cluster.local' } as const;
const ctx: StandInContext = { node, resources: factory, denyResponder: { ip: '127.0.0.1', port: 15130, serverName: 'trellis-controller' } };

describe('gRPC stand-ins (deny)', () => {
  const standIn = createGrpcStandIns();

  it('answers a dialled name with an api_listener routing every call to trellis-denied, the same for every name', () => {
    const l = standIn(TypeUrls.listener, 'b.t:8080', ctx)?.value as Obj;
    expect(l.name).toBe('b.t:8080');
    const hcm = l.api_listener.api_listener;
    expect(hcm.route_config.virtual_hosts[0].routes).toEqual([{ name: 'denied', match: { prefix: '' }, route: { cluster: DENIED_CLUSTER } }]);
    expect(hcm.http_filters.map((f: Obj) => f.name)).toEqual(['envoy.filters.http.router']);
    const other = standIn(TypeUrls.listener, 'not-a-service.example.com', ctx)?.value as Obj;
    expect({ ...other, name: 'x' }).toEqual({ ...l, name: 'x' });
    // Encoded once per name: the same object on the next push.
    expect(standIn(TypeUrls.listener, 'b.t:8080', ctx)).toBe(standIn(TypeUrls.listener, 'b.t:8080', ctx));
  });

  it('points the cluster at the responder over mTLS, checking its certificate name, and the endpoint at its address', () => {
    const c = standIn(TypeUrls.cluster, DENIED_CLUSTER, ctx)?.value as Obj;
    expect(c.type).toBe('EDS');
    const tls = c.transport_socket.typed_config;
    expect(tls.sni).toBe('trellis-controller');
    expect(tls.common_tls_context.tls_certificate_provider_instance).toEqual({ instance_name: 'default' });
    expect(tls.common_tls_context.combined_validation_context.default_validation_context.match_subject_alt_names).toEqual([{ exact: 'trellis-controller' }]);
    const e = standIn(TypeUrls.endpoint, DENIED_CLUSTER, ctx)?.value as Obj;
    expect(e.endpoints[0].lb_endpoints).toEqual([{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 15130 } } }, health_status: 'HEALTHY' }]);
  });

  it('stands in for nothing else: server Listeners, other clusters, odd names, or without a responder', () => {
    expect(standIn(TypeUrls.listener, serverListenerName('127.0.0.1', 8080), ctx)).toBeUndefined();
    expect(standIn(TypeUrls.cluster, 't/b|8080', ctx)).toBeUndefined();
    expect(standIn(TypeUrls.endpoint, 't/b|8080', ctx)).toBeUndefined();
    expect(standIn(TypeUrls.route, DENIED_CLUSTER, ctx)).toBeUndefined();
    for (const n of ['', 'a b', 'x'.repeat(300), 'xdstp://auth/envoy.config.listener.v3.Listener/x', 'b\n'])
      expect(standIn(TypeUrls.listener, n, ctx), n).toBeUndefined();
    expect(standIn(TypeUrls.listener, 'b.t:8080', { node, resources: factory })).toBeUndefined();
  });
});
