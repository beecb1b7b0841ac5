import { describe, expect, it } from 'vitest';
import type { KubeObject } from '@trellis/plugin-sdk';
import { Catalog } from '../catalog/index.ts';
import { meshConfig, routeGroup, split, target, tcpRoute, workload } from '../catalog/test-builders.ts';
import { MeshStore } from '../store/index.ts';
import { fakeDeps } from '../store/test-fakes.ts';
import { buildTopology, syncState, type TopologyProxyInput } from './topology.ts';

function topology(objects: KubeObject[], proxies: TopologyProxyInput[] = []) {
  const store = new MeshStore(fakeDeps());
  const sink = store.sinkFor('test');
  for (const o of objects) sink.apply(o);
  return buildTopology({ store, catalog: new Catalog(store), proxies: () => proxies });
}

const http = [{ kind: 'HTTPRouteGroup', name: 'routes', matches: ['say'] }];
const shop = (): KubeObject[] => [
  ...workload('shop', 'cart', '10.0.0.1'),
  ...workload('shop', 'checkout', '10.0.0.2'),
  ...workload('shop', 'db', '10.0.0.3', 5432, 5432, 'tcp-db'),
  routeGroup('shop', 'routes', [
    { name: 'say', pathRegex: '/shop\\.Echo/Say', methods: ['POST'] },
    { name: 'admin', pathRegex: '/shop\\.Echo/Admin' },
  ]),
  tcpRoute('shop', 'db', [5432]),
];

const proxy = (identity: string, types: TopologyProxyInput['types']): TopologyProxyInput => ({
  nodeId: `sidecar~${identity}`,
  kind: 'sidecar',
  identity,
  protocol: 'sotw',
  transport: 'mtls',
  connectedSince: '2026-01-01T00:00:00.000Z',
  types,
});

describe('topology', () => {
  it('draws allow edges from the catalog views: the route a TrafficTarget admits, TCP access by port, nothing else', () => {
    const t = topology([...shop(), target('shop', 'cart-to-checkout', 'checkout', ['cart'], http), target('shop', 'checkout-to-db', 'db', ['checkout'], [{ kind: 'TCPRoute', name: 'db' }])]);
    expect(t.nodes.map((n) => n.id)).toEqual(['id:shop/cart', 'id:shop/checkout', 'id:shop/db', 'svc:shop/cart', 'svc:shop/checkout', 'svc:shop/db']);
    const allow = t.edges.filter((e) => e.type === 'allow');
    expect(allow).toEqual([
      {
        id: 'allow:id:shop/cart->svc:shop/checkout',
        type: 'allow',
        source: 'id:shop/cart',
        target: 'svc:shop/checkout',
        trafficTargets: ['shop/cart-to-checkout'],
        ports: [8080],
        routes: [{ name: 'say', pathRegex: '/shop\\.Echo/Say', methods: ['POST'] }],
      },
      { id: 'allow:id:shop/checkout->svc:shop/db', type: 'allow', source: 'id:shop/checkout', target: 'svc:shop/db', trafficTargets: ['shop/checkout-to-db'], ports: [5432], routes: [] },
    ]);
    expect(t.edges.filter((e) => e.type === 'backs').map((e) => `${e.source} ${e.target}`)).toEqual(['svc:shop/cart id:shop/cart', 'svc:shop/checkout id:shop/checkout', 'svc:shop/db id:shop/db']);
    expect(t.namespaces).toEqual([{ name: 'shop', services: 3, identities: 3 }]);
  });

  it('draws a source only a TrafficTarget names as a missing identity', () => {
    const t = topology([...shop(), target('shop', 'ghost-to-checkout', 'checkout', ['ghost'], http)]);
    expect(t.nodes.find((n) => n.id === 'id:shop/ghost')).toEqual({ id: 'id:shop/ghost', type: 'identity', namespace: 'shop', name: 'ghost', missing: true });
    expect(t.edges.filter((e) => e.type === 'allow').map((e) => e.source)).toEqual(['id:shop/ghost']);
    expect(t.nodes.find((n) => n.id === 'id:shop/cart')?.missing).toBeUndefined();
  });

  it('lists an ignored TrafficTarget with its reason and draws no edge for it', () => {
    const t = topology([...shop(), target('other', 'cart-to-checkout', 'checkout', [['shop', 'cart']], http, 'shop')]);
    expect(t.edges.filter((e) => e.type === 'allow')).toEqual([]);
    expect(t.policies.ignored).toEqual([expect.objectContaining({ kind: 'TrafficTarget', namespace: 'other', name: 'cart-to-checkout', status: 'ignored', reason: expect.stringContaining('namespace') })]);
  });

  it('gives split edges their weights and shares, and marks a backend without a Service as missing', () => {
    const t = topology([...shop(), ...workload('shop', 'checkout-v2', '10.0.0.4'), split('shop', 'canary', 'checkout', [{ service: 'checkout-v2', weight: 1 }, { service: 'checkout-v3', weight: 3 }])]);
    expect(t.edges.filter((e) => e.type === 'split')).toEqual([
      { id: 'split:svc:shop/checkout->svc:shop/checkout-v2', type: 'split', source: 'svc:shop/checkout', target: 'svc:shop/checkout-v2', split: 'shop/canary', weight: 1, share: 0.25 },
      { id: 'split:svc:shop/checkout->svc:shop/checkout-v3', type: 'split', source: 'svc:shop/checkout', target: 'svc:shop/checkout-v3', split: 'shop/canary', weight: 3, share: 0.75 },
    ]);
    expect(t.nodes.find((n) => n.id === 'svc:shop/checkout-v3')).toMatchObject({ missing: true });
  });

  it('draws no allow edge in permissive mode (every call is allowed) and says so', () => {
    const t = topology([...shop(), meshConfig({ traffic: { enablePermissiveTrafficPolicyMode: true } })]);
    expect(t.permissive).toBe(true);
    expect(t.edges.filter((e) => e.type === 'allow')).toEqual([]);
  });

  it('counts proxies per identity by sync state, and an identity only a proxy names is a missing node', () => {
    const acked = { lastSent: { version: '2', at: 'b' }, lastAcked: { version: '2', at: 'c' } };
    const behind = { lastSent: { version: '3', at: 'd' }, lastAcked: { version: '2', at: 'c' } };
    const nacked = { lastSent: { version: '3', at: 'd' }, lastAcked: { version: '2', at: 'c' }, lastNack: { version: '3', message: 'bad listener', at: 'e' } };
    const t = topology(shop(), [proxy('shop/cart', { cds: acked, lds: acked }), proxy('shop/cart', { cds: behind }), proxy('shop/ghost', { cds: nacked })]);
    expect(t.nodes.find((n) => n.id === 'id:shop/cart')?.proxies).toEqual({ total: 2, synced: 1, pending: 1, nack: 0 });
    expect(t.nodes.find((n) => n.id === 'id:shop/ghost')).toMatchObject({ missing: true, proxies: { total: 1, nack: 1 } });
    expect(t.proxies.map((p) => [p.identity, p.sync, p.lastNack])).toEqual([
      ['shop/cart', 'synced', undefined],
      ['shop/cart', 'pending', undefined],
      ['shop/ghost', 'nack', 'bad listener'],
    ]);
  });

  it('syncState: a NACK older than the last ACK no longer counts', () => {
    expect(syncState(proxy('a/b', { cds: { lastSent: { version: '4', at: 'f' }, lastAcked: { version: '4', at: 'g' }, lastNack: { version: '3', message: 'x', at: 'e' } } }))).toEqual({ sync: 'synced' });
  });
});
