import { describe, expect, it } from 'vitest';
import type { KubeObject, ProxyView } from '@trellis/plugin-sdk';
import { keyOf } from '@trellis/plugin-sdk';
import { MeshStore } from '../store/index.ts';
import { fakeDeps } from '../store/test-fakes.ts';
import { Catalog } from './catalog.ts';
import { hostnames } from './hostnames.ts';
import { protocolOf } from './protocol.ts';
import { requestMatches } from './routes.ts';
import { meshConfig, pod, routeGroup, sa, slice, split, svc, target, tcpRoute, workload } from './test-builders.ts';

function setup(objects: KubeObject[]): { store: MeshStore; catalog: Catalog; sink: ReturnType<MeshStore['sinkFor']> } {
  const store = new MeshStore(fakeDeps());
  const sink = store.sinkFor('test');
  for (const o of objects) sink.apply(o);
  return { store, catalog: new Catalog(store), sink };
}

const id = (namespace: string, serviceAccount: string) => ({ namespace, serviceAccount });
const outNames = (v: ProxyView) => v.outbound.map((o) => o.clusterName);
const abc = (): KubeObject[] => [...workload('t', 'a', '10.0.0.1'), ...workload('t', 'b', '10.0.0.2'), ...workload('t', 'c', '10.0.0.3')];

describe('service model', () => {
  it('takes the protocol from appProtocol, then the port-name prefix, else http', () => {
    expect(protocolOf({ port: 1, appProtocol: 'grpc', name: 'tcp-x' })).toBe('grpc');
    expect(protocolOf({ port: 1, appProtocol: 'kubernetes.io/h2c' })).toBe('http2');
    expect(protocolOf({ port: 1, name: 'tcp-db' })).toBe('tcp');
    expect(protocolOf({ port: 1, name: 'grpc-api' })).toBe('grpc');
    expect(protocolOf({ port: 1, name: 'tcp-server-first-mysql' })).toBe('tcp-server-first');
    expect(protocolOf({ port: 1, name: 'http-web' })).toBe('http');
    expect(protocolOf({ port: 1, name: 'web' })).toBe('http');
    expect(protocolOf({ port: 1 })).toBe('http');
  });

  it("uses OSM's hostname forms; short names only in the client's namespace", () => {
    const same = hostnames({ namespace: 'ns', name: 'bookstore' }, 14001, 'ns');
    expect(same).toContain('bookstore');
    expect(same).toContain('bookstore:14001');
    expect(same).toContain('bookstore.ns.svc.cluster.local:14001');
    expect(same).toHaveLength(10);
    const other = hostnames({ namespace: 'ns', name: 'bookstore' }, 14001, 'x');
    expect(other).not.toContain('bookstore');
    expect(other).toEqual([...other].sort());
    expect(other).toEqual([
      'bookstore.ns',
      'bookstore.ns.svc',
      'bookstore.ns.svc.cluster',
      'bookstore.ns.svc.cluster.local',
      'bookstore.ns.svc.cluster.local:14001',
      'bookstore.ns.svc.cluster:14001',
      'bookstore.ns.svc:14001',
      'bookstore.ns:14001',
    ].sort());
  });

  it('finds identities by targetRef when pods share an IP, and by IP only as a fallback', () => {
    const { catalog } = setup([
      svc('demo', 'multi', [{ port: 80, targetPort: 9000, appProtocol: 'grpc' }], {}),
      pod('demo', 'p1', 'sa-one', '127.0.0.1', {}),
      pod('demo', 'p2', 'sa-two', '127.0.0.1', {}),
      pod('demo', 'p3', 'sa-three', '10.1.1.1', {}),
      slice('demo', 'multi', [{ ip: '127.0.0.1', pod: 'p2' }, { ip: '127.0.0.1' }, { ip: '10.1.1.1' }], [{ port: 9000 }]),
      meshConfig({ traffic: { enablePermissiveTrafficPolicyMode: true } }),
    ]);
    const out = catalog.viewFor(id('demo', 'sa-one')).outbound.find((o) => o.service.name === 'multi');
    expect(out?.service).toMatchObject({ port: 80, targetPort: 9000, protocol: 'grpc' });
    expect(out?.endpoints.map((e) => [e.ip, e.identity?.serviceAccount, e.podName])).toEqual([
      ['10.1.1.1', 'sa-three', undefined],
      ['127.0.0.1', undefined, undefined], // ambiguous IP: no identity
      ['127.0.0.1', 'sa-two', 'p2'],
    ]);
    expect(out?.identities).toEqual([id('demo', 'sa-three'), id('demo', 'sa-two')]);
  });

  it('uses Endpoints when a service has no EndpointSlices, with not-ready addresses', () => {
    const { catalog } = setup([
      svc('e', 's', [{ port: 80, targetPort: 'web', name: 'http' }]),
      pod('e', 's-0', 'sa', '10.0.0.9', { app: 's' }),
      { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 's', namespace: 'e' }, subsets: [{ addresses: [{ ip: '10.0.0.9', targetRef: { kind: 'Pod', name: 's-0' } }], notReadyAddresses: [{ ip: '10.0.0.8' }], ports: [{ name: 'http', port: 8081 }] }] },
      meshConfig({ traffic: { enablePermissiveTrafficPolicyMode: true } }),
    ]);
    const o = catalog.viewFor(id('e', 'sa')).outbound[0];
    expect(o?.service.targetPort).toBe(8081);
    expect(o?.endpoints).toEqual([
      { ip: '10.0.0.8', port: 8081, ready: false },
      { ip: '10.0.0.9', port: 8081, ready: true, identity: id('e', 'sa'), podName: 's-0' },
    ]);
    expect(catalog.viewFor(id('e', 'sa')).localEndpoints).toEqual([{ ip: '10.0.0.9', port: 8081, ready: true, identity: id('e', 'sa'), podName: 's-0' }]);
  });

  it('gives each port a named targetPort resolves to on the identity\'s own pods an inbound port, as kube-proxy does', () => {
    // Two EndpointSlices of one Service: the pods renamed their container port mid-rollout (8080 -> 9090).
    const { catalog, sink } = setup([
      sa('r', 'web'),
      svc('r', 'web', [{ port: 80, targetPort: 'http', name: 'http' }]),
      pod('r', 'web-old', 'web', '10.0.0.1', { app: 'web' }),
      pod('r', 'web-new', 'web', '10.0.0.2', { app: 'web' }),
      slice('r', 'web', [{ ip: '10.0.0.1', pod: 'web-old' }], [{ name: 'http', port: 8080 }], 'web-a'),
      slice('r', 'web', [{ ip: '10.0.0.2', pod: 'web-new' }], [{ name: 'http', port: 9090 }], 'web-b'),
      meshConfig({ traffic: { enablePermissiveTrafficPolicyMode: true } }),
    ]);
    const inbound = (): number[] => catalog.viewFor(id('r', 'web')).inbound.map((p) => p.service.targetPort);
    expect(inbound()).toEqual([8080, 9090]);
    expect(catalog.viewFor(id('r', 'web')).inbound.map((p) => p.localClusterName)).toHaveLength(2);
    // Clients reach each pod on its own port; the Service keeps one resolved targetPort for its cluster.
    const out = catalog.viewFor(id('r', 'web')).outbound.find((o) => o.service.name === 'web');
    expect(out?.endpoints.map((e) => [e.ip, e.port])).toEqual([['10.0.0.1', 8080], ['10.0.0.2', 9090]]);
    // The rollout ends: one number again, one inbound port.
    sink.delete({ apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', namespace: 'r', name: 'web-a' });
    expect(inbound()).toEqual([9090]);
  });

  it('lists every identity with pods or a ServiceAccount and the trust domain from MeshConfig', () => {
    const { catalog, sink } = setup([...abc(), sa('x', 'lonely'), pod('y', 'p', 'default', '10.9.9.9', {})]);
    expect(catalog.identities()).toEqual([id('t', 'a'), id('t', 'b'), id('t', 'c'), id('x', 'lonely'), id('y', 'default')]);
    expect(catalog.trustDomain()).toBe('cluster.local');
    sink.apply(meshConfig({ certificate: { trustDomain: 'example.org' } }));
    expect(catalog.trustDomain()).toBe('example.org');
    expect(catalog.viewFor(id('t', 'a')).trustDomain).toBe('example.org');
  });
});

describe('SMI access (conformance: access)', () => {
  it('denies by default, allows with TCPRoute (ports: []) + TrafficTarget, denies again once both are deleted', () => {
    const { catalog, sink } = setup(abc());
    expect(outNames(catalog.viewFor(id('t', 'a')))).toEqual([]);
    const b0 = catalog.viewFor(id('t', 'b'));
    expect(b0.inbound).toHaveLength(1);
    expect(b0.inbound[0]?.routes).toEqual([]);
    expect(b0.inbound[0]?.tcpPolicies).toEqual([]);

    const tr = tcpRoute('t', 'all-ports', []);
    const tt = target('t', 'a-to-b', 'b', ['a'], [{ kind: 'TCPRoute', name: 'all-ports' }]);
    sink.apply(tr);
    sink.apply(tt);
    const a1 = catalog.viewFor(id('t', 'a'));
    expect(outNames(a1)).toEqual(['t/b|8080']);
    expect(a1.outbound[0]?.identities).toEqual([id('t', 'b')]);
    expect(a1.outbound[0]?.endpoints.map((e) => `${e.ip}:${e.port}`)).toEqual(['10.0.0.2:8080']);
    const b1 = catalog.viewFor(id('t', 'b'));
    expect(b1.inbound[0]?.localClusterName).toBe('t/b|8080|local');
    expect(b1.inbound[0]?.routes).toEqual([{ match: { name: '*', pathRegex: '.*', methods: ['*'], headers: [] }, principals: [id('t', 'a')] }]);
    expect(b1.inbound[0]?.tcpPolicies).toEqual([{ name: 't/a-to-b', principals: [id('t', 'a')], ports: 'any' }]);
    expect(outNames(catalog.viewFor(id('t', 'c')))).toEqual([]);

    sink.delete(keyOf(tt));
    sink.delete(keyOf(tr));
    expect(outNames(catalog.viewFor(id('t', 'a')))).toEqual([]);
    expect(catalog.viewFor(id('t', 'b')).inbound[0]?.routes).toEqual([]);
  });

  it('ignores (and reports) a TrafficTarget whose namespace differs from its destination', () => {
    const { catalog, store } = setup([...abc(), tcpRoute('other', 'r', []), target('other', 'cross', 'b', [['t', 'a']], [{ kind: 'TCPRoute', name: 'r' }], 't')]);
    expect(outNames(catalog.viewFor(id('t', 'a')))).toEqual([]);
    expect(catalog.viewFor(id('t', 'b')).inbound[0]?.tcpPolicies).toEqual([]);
    const st = store.policyStatuses().find((p) => p.kind === 'TrafficTarget');
    expect(st).toMatchObject({ namespace: 'other', name: 'cross', status: 'ignored' });
    expect(st?.reason).toMatch(/spec\.destination\.namespace/);
  });

  it('enforces cross-namespace sources at the destination', () => {
    const { catalog } = setup([...workload('x', 'client', '10.0.1.1'), ...workload('t', 'b', '10.0.0.2'), tcpRoute('t', 'r', []), target('t', 'in', 'b', [['x', 'client']], [{ kind: 'TCPRoute', name: 'r' }])]);
    const v = catalog.viewFor(id('x', 'client'));
    expect(outNames(v)).toEqual(['t/b|8080']);
    expect(v.outbound[0]?.hostnames).not.toContain('b');
    expect(catalog.viewFor(id('t', 'b')).inbound[0]?.tcpPolicies[0]?.principals).toEqual([id('x', 'client')]);
  });
});

describe('SMI HTTP routes (conformance: spec)', () => {
  const allow = (v: ProxyView, req: { path: string; method: string; headers?: Record<string, string> }, who = id('t', 'a')) =>
    (v.inbound[0]?.routes ?? []).some((r) => requestMatches(r.match, req) && r.principals !== 'any' && r.principals.some((p) => p.serviceAccount === who.serviceAccount && p.namespace === who.namespace));

  it('allows /metrics for every method and denies /echo; then `.*` GET only allows GET and denies POST', () => {
    const { catalog, sink } = setup([...abc(), routeGroup('t', 'rg', [{ name: 'metrics', pathRegex: '/metrics', methods: ['*'] }]), target('t', 'a-b', 'b', ['a'], [{ kind: 'HTTPRouteGroup', name: 'rg' }])]);
    let b = catalog.viewFor(id('t', 'b'));
    expect(b.inbound[0]?.routes).toEqual([{ match: { name: 'metrics', pathRegex: '/metrics', methods: ['*'], headers: [] }, principals: [id('t', 'a')] }]);
    expect(allow(b, { path: '/metrics', method: 'POST' })).toBe(true);
    expect(allow(b, { path: '/echo', method: 'GET' })).toBe(false);
    expect(allow(b, { path: '/metrics', method: 'GET' }, id('t', 'c'))).toBe(false);

    sink.apply(routeGroup('t', 'rg', [{ name: 'everything', pathRegex: '.*', methods: ['GET'] }]));
    b = catalog.viewFor(id('t', 'b'));
    expect(allow(b, { path: '/echo', method: 'GET' })).toBe(true);
    expect(allow(b, { path: '/echo', method: 'POST' })).toBe(false);
  });

  it('matches pathRegex against the WHOLE path (OSM / RE2 full match), so /foo does not allow /foo/bar', () => {
    const { catalog } = setup([...abc(), routeGroup('t', 'rg', [{ name: 'foo', pathRegex: '/foo' }]), target('t', 'a-b', 'b', ['a'], [{ kind: 'HTTPRouteGroup', name: 'rg' }])]);
    const b = catalog.viewFor(id('t', 'b'));
    expect(allow(b, { path: '/foo', method: 'GET' })).toBe(true);
    expect(allow(b, { path: '/foo/bar', method: 'GET' })).toBe(false);
    expect(allow(b, { path: '/x/foo', method: 'GET' })).toBe(false);
    expect(allow(b, { path: '/anything', method: 'GET' })).toBe(false); // OSM e2e: 403 outside /foo
  });

  it('matches with RE2 semantics (re2js), as Envoy and gRPC do: RE2-only syntax works, alternation is whole-path', () => {
    const m = (pathRegex: string, headers: { name: string; valueRegex: string }[] = []) => ({ name: 'm', pathRegex, methods: ['*'], headers });
    expect(requestMatches(m('(?i)/Books'), { path: '/bOOks', method: 'GET' })).toBe(true);
    expect(requestMatches(m('/\\pL+'), { path: '/Ünïcode', method: 'GET' })).toBe(true);
    expect(requestMatches(m('/[[:digit:]]+'), { path: '/42', method: 'GET' })).toBe(true);
    expect(requestMatches(m('\\Q/a.b\\E'), { path: '/axb', method: 'GET' })).toBe(false);
    expect(requestMatches(m('/a|/b'), { path: '/a/x', method: 'GET' })).toBe(false);
    expect(requestMatches(m('.*', [{ name: 'x-id', valueRegex: '1|2' }]), { path: '/', method: 'GET', headers: { 'x-id': '12' } })).toBe(false);
  });

  it('builds routes with headers, methods, and the rule`s match subset; headers accept map and list forms', () => {
    const { catalog } = setup([
      ...abc(),
      routeGroup('t', 'rg', [
        { name: 'buy', pathRegex: '/buy', methods: ['POST', 'GET'], headers: [{ 'User-Agent': '.*Mozilla.*' }, { host: 'b\\..*' }] },
        { name: 'sell', pathRegex: '/sell', headers: { 'x-id': '[0-9]+' } },
      ]),
      target('t', 'a-b', 'b', ['a'], [{ kind: 'HTTPRouteGroup', name: 'rg', matches: ['buy'] }]),
    ]);
    const routes = catalog.viewFor(id('t', 'b')).inbound[0]?.routes ?? [];
    expect(routes.map((r) => r.match)).toEqual([
      { name: 'buy', pathRegex: '/buy', methods: ['GET', 'POST'], headers: [{ name: 'host', valueRegex: 'b\\..*' }, { name: 'user-agent', valueRegex: '.*Mozilla.*' }] },
    ]);
    const m = routes[0]!.match;
    expect(requestMatches(m, { path: '/buy', method: 'post', headers: { 'user-agent': 'x Mozilla y', host: 'b.t' } })).toBe(true);
    expect(requestMatches(m, { path: '/buy', method: 'POST', headers: { 'user-agent': 'curl' , host: 'b.t'} })).toBe(false);
    expect(requestMatches(m, { path: '/buy', method: 'PUT', headers: { 'user-agent': 'Mozilla', host: 'b.t' } })).toBe(false);
  });

  it('merges routes shared by several TrafficTargets with the union of principals (per port, per-route RBAC)', () => {
    const { catalog } = setup([
      ...abc(),
      ...workload('t', 'd', '10.0.0.4'),
      svc('t', 'b-admin', [{ port: 9090, name: 'tcp-admin' }], { app: 'b' }),
      routeGroup('t', 'rg', [{ name: 'read', pathRegex: '/r', methods: ['GET'] }, { name: 'write', pathRegex: '/w', methods: ['POST'] }]),
      target('t', 'a-b', 'b', ['a'], [{ kind: 'HTTPRouteGroup', name: 'rg' }]),
      target('t', 'cd-b', 'b', ['d', 'c'], [{ kind: 'HTTPRouteGroup', name: 'rg', matches: ['read'] }]),
    ]);
    const b = catalog.viewFor(id('t', 'b'));
    expect(b.inbound.map((p) => p.localClusterName)).toEqual(['t/b-admin|9090|local', 't/b|8080|local']);
    const http = b.inbound.find((p) => p.service.name === 'b')!;
    expect(http.routes.map((r) => [r.match.name, r.principals])).toEqual([
      ['read', [id('t', 'a'), id('t', 'c'), id('t', 'd')]],
      ['write', [id('t', 'a')]],
    ]);
    expect(http.hostnames).toContain('b:8080');
    const tcp = b.inbound.find((p) => p.service.name === 'b-admin')!;
    expect(tcp.routes).toEqual([]); // tcp ports have no HTTP routes
    expect(tcp.tcpPolicies.map((p) => p.name)).toEqual(['t/a-b', 't/cd-b']);
  });
});

describe('network policies (TrafficTarget -> L4 RBAC)', () => {
  it('has one policy per TrafficTarget: TCPRoute ports, the HTTP ports for HTTP rules, nothing for UDP or missing routes', () => {
    const { catalog } = setup([
      ...abc(),
      tcpRoute('t', 'db', [5432, 3306]),
      tcpRoute('t', 'more', [5432, 6379]),
      tcpRoute('t', 'udp', [53], 'UDPRoute'),
      routeGroup('t', 'rg', [{ name: 'all' }]),
      target('t', 'http-only', 'b', ['a'], [{ kind: 'HTTPRouteGroup', name: 'rg' }]),
      target('t', 'ports', 'b', ['c'], [{ kind: 'TCPRoute', name: 'db' }, { kind: 'TCPRoute', name: 'more' }, { kind: 'UDPRoute', name: 'udp' }]),
      target('t', 'missing', 'b', ['c'], [{ kind: 'TCPRoute', name: 'nope' }]),
    ]);
    const b = catalog.viewFor(id('t', 'b')).inbound[0]!;
    expect(b.tcpPolicies).toEqual([
      { name: 't/http-only', principals: [id('t', 'a')], ports: [8080] },
      { name: 't/missing', principals: [id('t', 'c')], ports: [] },
      { name: 't/ports', principals: [id('t', 'c')], ports: [3306, 5432, 6379] },
    ]);
    // port 8080 is not among c's TCPRoute ports: c gets no HTTP route on it
    expect(b.routes.map((r) => [r.match.name, r.principals])).toEqual([['all', [id('t', 'a')]]]);
  });
});

describe('TrafficSplit (conformance: split)', () => {
  const mesh = (): KubeObject[] => [
    ...abc(),
    svc('t', 'root', [{ port: 8080, name: 'http' }, { port: 9000, name: 'http-other' }], { app: 'none' }),
    tcpRoute('t', 'any', []),
    target('t', 'to-b', 'b', ['a'], [{ kind: 'TCPRoute', name: 'any' }]),
    target('t', 'to-c', 'c', ['a'], [{ kind: 'TCPRoute', name: 'any' }]),
  ];

  it('makes the root reachable through its backends, with weights and the port rule', () => {
    const { catalog, sink } = setup(mesh());
    expect(outNames(catalog.viewFor(id('t', 'a')))).toEqual(['t/b|8080', 't/c|8080']); // no split: root not reachable
    sink.apply(split('t', 'sp', 'root', [{ service: 'c', weight: 25 }, { service: 'b', weight: 75 }]));
    const a = catalog.viewFor(id('t', 'a'));
    expect(outNames(a)).toEqual(['t/b|8080', 't/c|8080', 't/root|8080', 't/root|9000']);
    const r8080 = a.outbound.find((o) => o.clusterName === 't/root|8080')!;
    expect(r8080.split).toEqual({
      splitName: 't/sp',
      matches: [],
      backends: [
        { service: expect.objectContaining({ name: 'b', port: 8080 }), weight: 75, clusterName: 't/b|8080' },
        { service: expect.objectContaining({ name: 'c', port: 8080 }), weight: 25, clusterName: 't/c|8080' },
      ],
    });
    // port rule: no backend has port 9000, so that root port is not split
    expect(a.outbound.find((o) => o.clusterName === 't/root|9000')?.split).toBeUndefined();
    // b is not allowed to reach anything: the root is not reachable for it
    expect(outNames(catalog.viewFor(id('t', 'b')))).toEqual([]);
  });

  it('sends everything to one backend with weights 1:0 and reversed', () => {
    const { catalog, sink } = setup(mesh());
    sink.apply(split('t', 'sp', 'root', [{ service: 'b', weight: 1 }, { service: 'c', weight: 0 }]));
    const w = () => catalog.viewFor(id('t', 'a')).outbound.find((o) => o.clusterName === 't/root|8080')!.split!.backends.map((b) => [b.clusterName, b.weight]);
    expect(w()).toEqual([['t/b|8080', 1], ['t/c|8080', 0]]);
    sink.apply(split('t', 'sp', 'root', [{ service: 'b', weight: 0 }, { service: 'c', weight: 1 }]));
    expect(w()).toEqual([['t/b|8080', 0], ['t/c|8080', 1]]);
  });

  it('leaves out backends the client may not reach', () => {
    const { catalog, sink } = setup(mesh());
    sink.delete(keyOf(target('t', 'to-c', 'c', [], [])));
    sink.apply(split('t', 'sp', 'root', [{ service: 'b', weight: 50 }, { service: 'c', weight: 50 }]));
    const r = catalog.viewFor(id('t', 'a')).outbound.find((o) => o.clusterName === 't/root|8080')!;
    expect(r.split?.backends.map((b) => b.clusterName)).toEqual(['t/b|8080']);
  });

  it('supports a split whose root is also a backend, and backends sharing a service account', () => {
    const { catalog } = setup([
      ...abc(),
      svc('t', 'b-v2', [{ port: 8080, name: 'http' }], { app: 'b' }), // same pods, same identity as b
      tcpRoute('t', 'any', []),
      target('t', 'to-b', 'b', ['a'], [{ kind: 'TCPRoute', name: 'any' }]),
      split('t', 'sp', 'b', [{ service: 'b', weight: 10 }, { service: 'b-v2', weight: 90 }]),
    ]);
    const a = catalog.viewFor(id('t', 'a'));
    expect(outNames(a)).toEqual(['t/b|8080', 't/b-v2|8080']);
    expect(a.outbound.find((o) => o.clusterName === 't/b|8080')?.split?.backends.map((b) => [b.clusterName, b.weight])).toEqual([
      ['t/b-v2|8080', 90],
      ['t/b|8080', 10],
    ]);
  });

  it('limits a v1alpha4 split to matching requests', () => {
    const { catalog, sink } = setup([...mesh(), routeGroup('t', 'canary', [{ name: 'canary-header', headers: { 'x-canary': 'yes' } }])]);
    sink.apply(split('t', 'sp', 'root', [{ service: 'b', weight: 1 }, { service: 'c', weight: 1 }], ['canary']));
    const s = catalog.viewFor(id('t', 'a')).outbound.find((o) => o.clusterName === 't/root|8080')!.split!;
    expect(s.matches).toEqual([{ name: 'canary-header', pathRegex: '.*', methods: ['*'], headers: [{ name: 'x-canary', valueRegex: 'yes' }] }]);
  });

  it('uses one split per root (the first by name) and reports the other as ignored', () => {
    const { catalog, store } = setup([...mesh(), split('t', 'b-first', 'root', [{ service: 'b', weight: 1 }]), split('t', 'z-second', 'root', [{ service: 'c', weight: 1 }])]);
    expect(catalog.viewFor(id('t', 'a')).outbound.find((o) => o.clusterName === 't/root|8080')?.split?.splitName).toBe('t/b-first');
    expect(store.policyStatuses().filter((p) => p.kind === 'TrafficSplit').map((p) => [p.name, p.status])).toEqual([
      ['b-first', 'accepted'],
      ['z-second', 'ignored'],
    ]);
  });
});

describe('permissive mode', () => {
  it('reaches every service, allows any principal on a wildcard route, has no network RBAC; switching back restores SMI', () => {
    const { catalog, sink } = setup([...abc(), meshConfig({ traffic: { enablePermissiveTrafficPolicyMode: true } }, 'osm-mesh-config', 'config.openservicemesh.io/v1alpha2')]);
    const a = catalog.viewFor(id('t', 'a'));
    expect(a.permissive).toBe(true);
    expect(outNames(a)).toEqual(['t/a|8080', 't/b|8080', 't/c|8080']);
    expect(a.inbound[0]?.routes).toEqual([{ match: { name: '*', pathRegex: '.*', methods: ['*'], headers: [] }, principals: 'any' }]);
    expect(a.inbound[0]?.tcpPolicies).toEqual([]);
    sink.apply(meshConfig({ traffic: { enablePermissiveTrafficPolicyMode: false, enableEgress: false } }, 'osm-mesh-config', 'config.openservicemesh.io/v1alpha2'));
    const a2 = catalog.viewFor(id('t', 'a'));
    expect(a2.permissive).toBe(false);
    expect(a2.egress).toBe(false);
    expect(outNames(a2)).toEqual([]);
  });
});

describe('view cache and affected sets', () => {
  it('recomputes only affected identities', () => {
    const { catalog, sink, store } = setup([...abc(), ...workload('u', 'z', '10.0.9.9'), tcpRoute('t', 'any', []), target('t', 'a-b', 'b', ['a'], [{ kind: 'TCPRoute', name: 'any' }])]);
    const views = catalog.identities().map((i) => catalog.viewFor(i));
    const changes: unknown[] = [];
    store.onChange((c) => changes.push(catalog.affected(c)));
    sink.apply(pod('t', 'b-1', 'b', '10.0.0.22', { app: 'b' }));
    expect(changes.at(-1)).toEqual(new Set(['t/a', 't/b']));
    const after = catalog.identities().map((i) => catalog.viewFor(i));
    expect(after.map((v, i) => v === views[i])).toEqual([false, false, true, true]); // a, b recomputed; c, z cached
    sink.apply(meshConfig({ certificate: { serviceCertValidityDuration: '12h' } }));
    expect(changes.at(-1)).toEqual(new Set()); // no view-relevant field changed
    sink.apply(meshConfig({ traffic: { enablePermissiveTrafficPolicyMode: true } }));
    expect(changes.at(-1)).toBe('all');
  });

  it('names the destination and sources for policy changes, nothing for ServiceAccounts', () => {
    const { catalog, store, sink } = setup([...abc(), tcpRoute('t', 'any', []), routeGroup('t', 'rg', [{ name: 'm' }])]);
    const seen: unknown[] = [];
    store.onChange((c) => seen.push(catalog.affected(c)));
    sink.apply(target('t', 'a-b', 'b', ['a', 'c'], [{ kind: 'HTTPRouteGroup', name: 'rg' }]));
    expect(seen.at(-1)).toEqual(new Set(['t/a', 't/b', 't/c']));
    sink.apply(routeGroup('t', 'rg', [{ name: 'm', pathRegex: '/x' }]));
    expect(seen.at(-1)).toEqual(new Set(['t/b'])); // only the destination's inbound routes change
    sink.apply(sa('t', 'newcomer'));
    expect(seen.at(-1)).toEqual(new Set());
  });

  it('keeps serving the last good policy when an update is invalid', () => {
    const { catalog, sink } = setup([...abc(), tcpRoute('t', 'any', []), target('t', 'a-b', 'b', ['a'], [{ kind: 'TCPRoute', name: 'any' }])]);
    const before = catalog.viewFor(id('t', 'a'));
    sink.apply(target('t', 'a-b', 'b', ['a'], [{ kind: 'Bogus', name: 'any' }]));
    expect(catalog.viewFor(id('t', 'a'))).toBe(before);
    expect(outNames(catalog.viewFor(id('t', 'a')))).toEqual(['t/b|8080']);
  });
});

describe('service IPs', () => {
  it('lists a service’s cluster IPs (not headless None) and a change of them reaches its clients', () => {
    const withIP = (ip: string): KubeObject => {
      const s = svc('t', 'b', [{ port: 8080, name: 'http' }]);
      return { ...s, spec: { ...(s.spec as object), clusterIP: ip } };
    };
    const { catalog, sink } = setup([...abc(), target('t', 'a-b', 'b', ['a'], [{ kind: 'TCPRoute', name: 'any' }]), tcpRoute('t', 'any', []), withIP('10.96.0.7')]);
    expect(catalog.viewFor(id('t', 'a')).outbound.find((o) => o.service.name === 'b')?.serviceIPs).toEqual(['10.96.0.7']);
    sink.apply(withIP('10.96.0.8'));
    expect(catalog.viewFor(id('t', 'a')).outbound.find((o) => o.service.name === 'b')?.serviceIPs).toEqual(['10.96.0.8']);
    sink.apply(withIP('None'));
    expect(catalog.viewFor(id('t', 'a')).outbound.find((o) => o.service.name === 'b')?.serviceIPs).toBeUndefined();
  });
});
