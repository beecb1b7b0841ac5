import { describe, expect, it } from 'vitest';
import type { KubeObject } from '@trellis/plugin-sdk';
import { MeshStore } from '../store/index.ts';
import { fakeDeps } from '../store/test-fakes.ts';
import { Catalog } from './catalog.ts';
import { ExplainInputError, explainPolicy } from './explain.ts';
import { gatewayRoute, meshConfig, pod, routeGroup, serviceParent, slice, split, svc, target, tcpRoute, workload } from './test-builders.ts';

function setup(objects: KubeObject[]): (from: string, to: string, extra?: { path?: string; port?: string; method?: string; headers?: Record<string, string> }) => ReturnType<typeof explainPolicy> {
  const store = new MeshStore(fakeDeps());
  const sink = store.sinkFor('test');
  for (const o of objects) sink.apply(o);
  const catalog = new Catalog(store);
  return (from, to, extra = {}) => explainPolicy(catalog, store, { from, to, ...extra });
}

const base = (): KubeObject[] => [
  ...workload('shop', 'cart', '10.0.0.1', 8080, 8080, 'grpc'),
  ...workload('shop', 'checkout', '10.0.0.2', 8080, 8080, 'grpc'),
  ...workload('shop', 'fraud', '10.0.0.3', 8080, 8080, 'grpc'),
];

describe('policy explain', () => {
  it('denies without policy, naming the missing TrafficTarget', () => {
    const r = setup(base())('shop/fraud', 'shop/checkout', { path: '/shop.Echo/Say' });
    expect(r.allowed).toBe(false);
    expect(r.reachable).toBe(false);
    expect(r.reasons).toContain('no TrafficTarget has destination shop/checkout with source shop/fraud');
  });

  it('admits the route a TrafficTarget names and denies another path, naming both', () => {
    const ex = setup([
      ...base(),
      routeGroup('shop', 'echo', [{ name: 'say', pathRegex: '/shop.Echo/Say', methods: ['*'] }]),
      target('shop', 'cart-to-checkout', 'checkout', ['cart'], [{ kind: 'HTTPRouteGroup', name: 'echo' }]),
    ]);
    const ok = ex('shop/cart', 'shop/checkout', { path: '/shop.Echo/Say' });
    expect(ok.allowed).toBe(true);
    expect(ok.backends[0]?.identities[0]?.trafficTargets).toEqual(['shop/cart-to-checkout']);
    expect(ok.reasons.join('\n')).toContain('TrafficTarget shop/cart-to-checkout admits shop/cart to shop/checkout: HTTPRouteGroup shop/echo match "say"');
    const no = ex('shop/cart', 'shop/checkout', { path: '/shop.Echo/Admin' });
    expect(no.allowed).toBe(false);
    expect(no.reachable).toBe(true);
    expect(no.reasons).toContain('TrafficTarget shop/cart-to-checkout admits /shop.Echo/Say, not POST /shop.Echo/Admin');
  });

  it('matches headers and methods as the inbound route does', () => {
    const ex = setup([
      ...base(),
      routeGroup('shop', 'bob', [{ name: 'bob-only', pathRegex: '/shop.Echo/.*', methods: ['POST'], headers: { 'x-user': 'bob|alice' } }]),
      target('shop', 'cart-to-checkout', 'checkout', ['cart'], [{ kind: 'HTTPRouteGroup', name: 'bob' }]),
    ]);
    expect(ex('shop/cart', 'shop/checkout', { path: '/shop.Echo/Say', headers: { 'X-User': 'alice' } }).allowed).toBe(true);
    expect(ex('shop/cart', 'shop/checkout', { path: '/shop.Echo/Say', headers: { 'x-user': 'alicex' } }).allowed).toBe(false);
    expect(ex('shop/cart', 'shop/checkout', { path: '/shop.Echo/Say' }).allowed).toBe(false);
    expect(ex('shop/cart', 'shop/checkout', { path: '/shop.Echo/Say', method: 'GET', headers: { 'x-user': 'bob' } }).allowed).toBe(false);
  });

  it('reports a TrafficTarget in another namespace as ignored: destination namespace differs', () => {
    const r = setup([...base(), tcpRoute('other', 'all', []), target('other', 'fraud-to-checkout', 'checkout', [['shop', 'fraud']], [{ kind: 'TCPRoute', name: 'all' }], 'shop')])(
      'shop/fraud',
      'shop/checkout',
    );
    expect(r.allowed).toBe(false);
    expect(r.ignored.map((i) => i.name)).toEqual(['other/fraud-to-checkout']);
    expect(r.reasons.some((x) => x.startsWith('TrafficTarget other/fraud-to-checkout is ignored: destination namespace differs'))).toBe(true);
  });

  it('allows everything in permissive mode and says so', () => {
    const r = setup([...base(), meshConfig({ traffic: { enablePermissiveTrafficPolicyMode: true } })])('shop/fraud', 'shop/checkout');
    expect(r).toMatchObject({ allowed: true, permissive: true });
  });

  it('names the split backends with their weights, and denies when a weighted backend refuses', () => {
    const objs = [
      ...base(),
      svc('shop', 'pay', [{ port: 8080, name: 'grpc' }], { app: 'checkout' }),
      slice('shop', 'pay', [{ ip: '10.0.0.2', pod: 'checkout-0' }], [{ name: 'grpc', port: 8080 }]),
      tcpRoute('shop', 'all', []),
      target('shop', 'cart-to-checkout', 'checkout', ['cart'], [{ kind: 'TCPRoute', name: 'all' }]),
      split('shop', 'pay-split', 'pay', [
        { service: 'checkout', weight: 75 },
        { service: 'fraud', weight: 25 },
      ]),
    ];
    const r = setup(objs)('shop/cart', 'svc:shop/pay');
    // fraud is not reachable for cart: the view leaves it out of the split, so all traffic goes to checkout.
    expect(r.split).toEqual({ name: 'shop/pay-split', backends: [{ service: 'shop/checkout:8080', weight: 75 }] });
    expect(r.allowed).toBe(true);
    const both = setup([...objs, target('shop', 'cart-to-fraud', 'fraud', ['cart'], [{ kind: 'HTTPRouteGroup', name: 'none' }]), routeGroup('shop', 'none', [{ name: 'x', pathRegex: '/x' }])])(
      'shop/cart',
      'svc:shop/pay',
      { path: '/y' },
    );
    expect(both.split?.backends.map((b) => b.weight)).toEqual([75, 25]);
    expect(both.allowed).toBe(false);
    expect(both.backends.find((b) => b.service === 'shop/fraud:8080')?.allowed).toBe(false);
  });

  it('names the GRPCRoute rule, match, backends and filters that govern a call, over the TrafficSplit; a call no rule matches is denied', () => {
    const ex = setup([
      ...base(),
      svc('shop', 'pay', [{ port: 8080, name: 'grpc' }], { app: 'checkout' }),
      slice('shop', 'pay', [{ ip: '10.0.0.2', pod: 'checkout-0' }], [{ name: 'grpc', port: 8080 }]),
      tcpRoute('shop', 'all', []),
      target('shop', 'cart-to-checkout', 'checkout', ['cart'], [{ kind: 'TCPRoute', name: 'all' }]),
      split('shop', 'pay-split', 'pay', [{ service: 'checkout', weight: 75 }, { service: 'fraud', weight: 25 }]),
      gatewayRoute('GRPCRoute', 'shop', 'pay-route', {
        parentRefs: [serviceParent('pay', 8080)],
        rules: [
          {
            name: 'say',
            matches: [{ method: { service: 'shop.Echo', method: 'Say' } }],
            filters: [{ type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'x-a', value: '1' }] } }],
            backendRefs: [{ name: 'checkout', port: 8080, weight: 3 }],
          },
          { matches: [{ headers: [{ name: 'x-canary', value: 'yes' }] }], backendRefs: [{ name: 'fraud', port: 8080 }] },
        ],
      }),
    ]);
    const say = ex('shop/cart', 'svc:shop/pay', { path: '/shop.Echo/Say' });
    expect(say.allowed).toBe(true);
    expect(say.split).toBeUndefined();
    expect(say.route).toEqual({
      kind: 'GRPCRoute',
      sources: ['shop/pay-route'],
      matched: true,
      name: 'shop/pay-route',
      rule: 0,
      ruleName: 'say',
      match: 'path Exact /shop.Echo/Say',
      backends: [{ service: 'shop/checkout:8080', weight: 3 }],
      unresolvedWeight: 0,
      filters: ['RequestHeaderModifier (set x-a: 1)'],
    });
    expect(say.backends.map((b) => [b.service, b.weight, b.allowed])).toEqual([['shop/checkout:8080', 3, true]]);
    expect(say.reasons).toContain('TrafficSplit shop/pay-split does not apply: GRPCRoute shop/pay-route attached to shop/pay:8080 take precedence (docs/gamma.md)');
    expect(say.reasons).toContain('GRPCRoute shop/pay-route rule 0 (say) governs it (match: path Exact /shop.Echo/Say), sending it to shop/checkout:8080 (weight 3, 100%)');

    const none = ex('shop/cart', 'svc:shop/pay', { path: '/shop.Echo/Other' });
    expect(none).toMatchObject({ allowed: false, reachable: true, backends: [], route: { matched: false, sources: ['shop/pay-route'] } });
    expect(none.reasons).toContain('no rule of GRPCRoute shop/pay-route matches POST /shop.Echo/Other: Envoy answers 404, a proxyless gRPC client fails with UNAVAILABLE');

    // Rule 1 names fraud, which cart may not reach: its whole share has no backend.
    const canary = ex('shop/cart', 'svc:shop/pay', { path: '/shop.Echo/Other', headers: { 'X-Canary': 'yes' } });
    expect(canary).toMatchObject({ allowed: false, route: { rule: 1, match: 'header x-canary=yes', backends: [], unresolvedWeight: 1 } });
    expect(canary.reasons[0]).toMatch(/a share of requests has no backend by GRPCRoute shop\/pay-route/);

    // fraud may reach no backend of the route: no route at all, and explain says the route attaches.
    const fraud = ex('shop/fraud', 'svc:shop/pay', { path: '/shop.Echo/Say' });
    expect(fraud.reachable).toBe(false);
    expect(fraud.reasons).toContain("GRPCRoute shop/pay-route attach(es) to shop/pay:8080 but name no backend shop/fraud may reach");
  });

  it('resolves a pod as FROM and rejects unknown objects and ambiguous ports precisely', () => {
    const ex = setup([...base(), pod('shop', 'cart-extra', 'cart', '10.0.0.9', { app: 'cart' }), svc('shop', 'multi', [{ port: 1, name: 'a' }, { port: 2, name: 'b' }])]);
    expect(ex('pod:shop/cart-extra', 'shop/checkout').from).toEqual({ identity: 'shop/cart', resolvedFrom: 'Pod shop/cart-extra' });
    expect(() => ex('shop/nobody', 'shop/checkout')).toThrow(new ExplainInputError('FROM: no Pod, ServiceAccount or Service shop/nobody'));
    expect(() => ex('shop/cart', 'shop/multi')).toThrow(/several ports \(1, 2\); pass --port/);
    expect(() => ex('shop/cart', 'shop/checkout', { port: '9' })).toThrow(/has no port 9/);
  });
});

describe('policy explain to an external destination (Egress)', () => {
  const egress = (name: string, spec: Record<string, unknown>): KubeObject => ({
    apiVersion: 'policy.openservicemesh.io/v1alpha1',
    kind: 'Egress',
    metadata: { name, namespace: 'shop' },
    spec: { sources: [{ kind: 'ServiceAccount', name: 'cart', namespace: 'shop' }], ...spec },
  });
  const objs = (): KubeObject[] => [
    ...base(),
    egress('httpbin', { hosts: ['httpbin.org'], ports: [{ number: 80, protocol: 'http' }], matches: [{ apiGroup: 'specs.smi-spec.io/v1alpha4', kind: 'HTTPRouteGroup', name: 'get-only' }] }),
    routeGroup('shop', 'get-only', [{ name: 'get', pathRegex: '/get', methods: ['GET'] }]),
    egress('tls', { hosts: ['*.example.com'], ports: [{ number: 443, protocol: 'https' }] }),
    egress('db', { ipAddresses: ['203.0.113.0/24'], ports: [{ number: 5432, protocol: 'tcp' }] }),
    // Passthrough is on by default (as in OSM): off here so only Egress policies admit.
    meshConfig({ traffic: { enableEgress: false } }),
  ];

  it('names the Egress and the HTTPRouteGroup match that admit an HTTP request, and refuses another path', () => {
    const ex = setup(objs());
    const ok = ex('shop/cart', 'httpbin.org:80', { path: '/get' });
    expect(ok).toMatchObject({ allowed: true, egress: { by: 'egress', policy: 'shop/httpbin', protocol: 'http', matched: 'host httpbin.org', match: 'get' } });
    expect(ok.reasons[1]).toBe('Egress shop/httpbin admits httpbin.org:80: host httpbin.org, http port 80, HTTPRouteGroup match "get" (GET /get)');
    const no = ex('shop/cart', 'httpbin.org:80', { path: '/post', method: 'POST' });
    expect(no).toMatchObject({ allowed: false, egress: { by: 'none', policy: 'shop/httpbin' } });
    expect(no.reasons[1]).toContain('only for GET /get, not POST /post');
  });

  it('matches wildcard SNI hosts and IP ranges, and denies what no Egress lists', () => {
    const ex = setup(objs());
    expect(ex('shop/cart', 'api.example.com', { port: '443' }).egress).toMatchObject({ by: 'egress', policy: 'shop/tls', matched: 'host *.example.com' });
    expect(ex('shop/cart', 'example.com:443').allowed).toBe(false);
    expect(ex('shop/cart', '203.0.113.7:5432').egress).toMatchObject({ by: 'egress', policy: 'shop/db', matched: 'ipRange 203.0.113.0/24' });
    const out = ex('shop/cart', '198.51.100.1:5432');
    expect(out.allowed).toBe(false);
    expect(out.reasons[1]).toBe('no Egress of this identity (shop/db, shop/httpbin, shop/tls) admits 198.51.100.1:5432, and egress passthrough is off (MeshConfig spec.traffic.enableEgress)');
    // Egress names its sources: another identity has none.
    expect(ex('shop/fraud', 'api.example.com:443').reasons[1]).toContain('no Egress has this identity as a source');
  });

  it('allows by MeshConfig passthrough, except on a port an HTTP Egress owns', () => {
    const ex = setup([...objs().slice(0, -1), meshConfig({ traffic: { enableEgress: true } })]);
    expect(ex('shop/fraud', 'api.github.com:443').egress).toMatchObject({ by: 'passthrough' });
    expect(ex('shop/cart', 'other.org:443').egress).toMatchObject({ by: 'passthrough' });
    const r = ex('shop/cart', 'other.org:80');
    expect(r.allowed).toBe(false);
    expect(r.reasons[1]).toContain('chain egress-http.80 takes every connection to port 80, so egress passthrough does not apply');
  });

  it('rejects an external TO without a port or with a bad one', () => {
    const ex = setup(objs());
    expect(() => ex('shop/cart', 'httpbin.org')).toThrow(ExplainInputError);
    expect(() => ex('shop/cart', 'httpbin.org:80', { port: '81' })).toThrow(/names port 80 but --port is 81/);
    expect(() => ex('shop/cart', 'bad_host!:80')).toThrow(/neither <namespace>\/<name> nor an external host/);
    expect(() => ex('shop/cart', 'checkout:8080')).toThrow(/a mesh TO is <namespace>\/<name>, an external one a dotted host/);
  });
});

describe('policy explain from an ingress source (IngressBackend)', () => {
  const ingress = (name: string, sources: Record<string, unknown>[], protocol = 'http'): KubeObject => ({
    apiVersion: 'policy.openservicemesh.io/v1alpha1',
    kind: 'IngressBackend',
    metadata: { name, namespace: 'shop' },
    spec: { backends: [{ name: 'web', port: { number: 8080, protocol } }], sources },
  });
  const objs = (): KubeObject[] => [...base(), ...workload('shop', 'web', '10.0.0.5', 80, 8080, 'http'), ...workload('shop', 'gw', '10.0.0.9', 80, 8080, 'http')];

  it('names the IngressBackend and the range that admit an address, and refuses others', () => {
    const ex = setup([...objs(), ingress('from-lb', [{ kind: 'IPRange', name: '10.1.0.0/16' }])]);
    const ok = ex('ip:10.1.2.3', 'shop/web');
    expect(ok).toMatchObject({ allowed: true, ingress: { source: 'ip:10.1.2.3', identities: [{ identity: 'shop/web', policy: 'shop/from-lb', allowed: true }] } });
    expect(ok.reasons[1]).toBe('IngressBackend shop/from-lb admits ip:10.1.2.3: http, source 10.1.0.0/16');
    const no = ex('ip:10.2.0.1', 'shop/web');
    expect(no.allowed).toBe(false);
    expect(no.reasons[1]).toBe('IngressBackend shop/from-lb admits 10.1.0.0/16, not 10.2.0.1 (ip:10.2.0.1)');
  });

  it('admits a Service source by its endpoints, and says when no IngressBackend names the backend', () => {
    const ex = setup([...objs(), ingress('from-gw', [{ kind: 'Service', namespace: 'shop', name: 'gw' }])]);
    expect(ex('service:shop/gw', 'shop/web').allowed).toBe(true);
    expect(ex('service:shop/cart', 'shop/web').allowed).toBe(false);
    const none = ex('ip:10.1.2.3', 'shop/checkout');
    expect(none.allowed).toBe(false);
    expect(none.reasons).toContain("no IngressBackend has backend shop/checkout port 8080 (on shop/checkout's proxy)");
  });

  it('checks the AuthenticatedPrincipal of an https backend', () => {
    const ex = setup([...objs(), ingress('mtls', [{ kind: 'AuthenticatedPrincipal', name: 'gw.shop.cluster.local' }], 'https')]);
    expect(ex('principal:gw.shop.cluster.local', 'shop/web').allowed).toBe(true);
    const no = ex('principal:other.cluster.local', 'shop/web');
    expect(no.allowed).toBe(false);
    expect(no.reasons[1]).toBe('IngressBackend shop/mtls (https) requires a client certificate of gw.shop.cluster.local, not other.cluster.local');
    expect(() => ex('ip:nope', 'shop/web')).toThrow(ExplainInputError);
  });
});
