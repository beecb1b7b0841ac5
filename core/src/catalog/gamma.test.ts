import { describe, expect, it } from 'vitest';
import type { KubeObject } from '@trellis/plugin-sdk';
import { MeshStore } from '../store/index.ts';
import { fakeDeps } from '../store/test-fakes.ts';
import { Catalog } from './catalog.ts';
import { GAMMA_CONSUMER_NS, GAMMA_NS, gammaConformanceMesh, gatewayRoute, serviceParent } from './test-builders.ts';

function viewOf(objs: KubeObject[], ns = GAMMA_NS) {
  const store = new MeshStore(fakeDeps());
  const sink = store.sinkFor('test');
  for (const o of [...gammaConformanceMesh(), ...objs]) sink.apply(o);
  return { store, sink, catalog: new Catalog(store), view: () => new Catalog(store).viewFor({ namespace: ns, serviceAccount: 'client' }) };
}
const gammaOf = (v: ReturnType<Catalog['viewFor']>, svc: string, port: number) => v.outbound.find((o) => o.service.name === svc && o.service.port === port)?.gamma;
const be = (name: string, port: number, weight?: number) => ({ name, port, ...(weight !== undefined && { weight }) });

describe('GAMMA routes in the catalog', () => {
  it('orders GRPCRoute matches by service characters, then method characters, then header count', () => {
    const { view } = viewOf([
      gatewayRoute('GRPCRoute', GAMMA_NS, 'r', {
        parentRefs: [serviceParent('echo', 7070)],
        rules: [
          { matches: [{ headers: [{ name: 'x', value: '1' }] }], backendRefs: [be('echo-v1', 7070)] },
          { matches: [{ method: { method: 'Get' } }], backendRefs: [be('echo-v1', 7070)] },
          { matches: [{ method: { service: 'a.B' } }], backendRefs: [be('echo-v1', 7070)] },
          { matches: [{ method: { service: 'a.B', method: 'Get' } }], backendRefs: [be('echo-v2', 7070)] },
        ],
      }),
    ]);
    const g = gammaOf(view(), 'echo', 7070);
    expect(g?.kind).toBe('GRPCRoute');
    expect(g?.routes.map((r) => [r.rule, r.match.path])).toEqual([
      [3, { type: 'Exact', value: '/a.B/Get' }],
      [2, { type: 'PathPrefix', value: '/a.B' }],
      [1, { type: 'RegularExpression', value: '/[^/]+/\\QGet\\E' }],
      [0, undefined],
    ]);
    // Only port 7070 of echo has routes; ports of other services none.
    expect(gammaOf(view(), 'echo', 80)).toBeUndefined();
    expect(gammaOf(view(), 'echo-v1', 7070)).toBeUndefined();
  });

  it('a consumer route replaces producer routes for its namespace only; GRPCRoute wins over HTTPRoute on a port', () => {
    const producer = gatewayRoute('HTTPRoute', GAMMA_NS, 'producer', { parentRefs: [serviceParent('echo-v1')], rules: [{ backendRefs: [be('echo-v1', 80)] }] });
    const consumerRoute = gatewayRoute('HTTPRoute', GAMMA_CONSUMER_NS, 'consumer', { parentRefs: [serviceParent('echo-v1', undefined, GAMMA_NS)], rules: [{ backendRefs: [{ ...be('echo-v2', 80), namespace: GAMMA_NS }] }] });
    const grpc = gatewayRoute('GRPCRoute', GAMMA_NS, 'grpc', { parentRefs: [serviceParent('echo-v1', 7070)], rules: [{ backendRefs: [be('echo-v2', 7070)] }] });
    const mesh = viewOf([producer, consumerRoute, grpc]);
    expect(gammaOf(mesh.view(), 'echo-v1', 80)?.sources).toEqual([`${GAMMA_NS}/producer`]);
    expect(gammaOf(mesh.view(), 'echo-v1', 7070)?.sources).toEqual([`${GAMMA_NS}/grpc`]);
    const fromConsumer = viewOf([producer, consumerRoute, grpc], GAMMA_CONSUMER_NS).view();
    expect(gammaOf(fromConsumer, 'echo-v1', 80)?.sources).toEqual([`${GAMMA_CONSUMER_NS}/consumer`]);
    expect(gammaOf(fromConsumer, 'echo-v1', 80)?.routes[0]?.backends.map((b) => b.clusterName)).toEqual([`${GAMMA_NS}/echo-v2|8080`]);
  });

  it('follows route changes: a new route and a deleted one change the cached view', () => {
    const m = viewOf([]);
    const v0 = m.catalog.viewFor({ namespace: GAMMA_NS, serviceAccount: 'client' });
    expect(gammaOf(v0, 'echo', 80)).toBeUndefined();
    const r = gatewayRoute('HTTPRoute', GAMMA_NS, 'r', { parentRefs: [serviceParent('echo', 80)], rules: [{ backendRefs: [be('echo-v1', 80)] }] });
    m.sink.apply(r);
    expect(gammaOf(m.catalog.viewFor({ namespace: GAMMA_NS, serviceAccount: 'client' }), 'echo', 80)?.routes).toHaveLength(1);
    m.sink.delete({ apiVersion: r.apiVersion, kind: r.kind, namespace: GAMMA_NS, name: 'r' });
    expect(gammaOf(m.catalog.viewFor({ namespace: GAMMA_NS, serviceAccount: 'client' }), 'echo', 80)).toBeUndefined();
  });
});
