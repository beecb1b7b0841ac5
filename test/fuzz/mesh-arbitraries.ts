/**
 * fast-check arbitraries of mesh objects: valid ones of every kind (drawn from small name pools so that
 * references between objects often resolve), mutated ones (one node of a valid object replaced by a hostile
 * value) and hostile ones (anything at all under a known apiVersion/kind).
 */
import fc from 'fast-check';
import type { KubeObject } from '@trellis/plugin-sdk';
import { meshConfig, ns, pod, routeGroup, sa, slice, split, svc, target, tcpRoute, workload } from '@trellis/plugin-sdk/testing/objects';

const NAMESPACES = ['shop', 'data'] as const;
const ACCOUNTS = ['web', 'db', 'api', 'default'] as const;
const SERVICES = ['web', 'db', 'api', 'web-v2'] as const;
const ROUTES = ['rg', 'rg-2', 'tcp', 'missing'] as const;

const nsArb = fc.constantFrom(...NAMESPACES);
const accountArb = fc.constantFrom(...ACCOUNTS);
const serviceArb = fc.constantFrom(...SERVICES);
const routeArb = fc.constantFrom(...ROUTES);
const ipArb = fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 1, max: 5 })).map(([a, b]) => `10.0.${a}.${b}`);
const portArb = fc.constantFrom(80, 8080, 5432, 9090, 53, 1, 65535);
/** RE2-valid patterns, including ones JavaScript reads differently or not at all. */
const regexArb = fc.constantFrom('.*', '/api/.*', '/books/[0-9]+', '/a|/b', '(?i)/Books', '\\pL+', '[[:alpha:]]+', '/v\\d{1,3}/.*', '\\Q.*\\E', '', 'a{90}');
const methodArb = fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', '*');

const portSpecArb = fc.record({
  port: portArb,
  name: fc.constantFrom('http', 'tcp-db', 'grpc-api', 'http2-x', 'udp-dns', 'web', 'tcp-server-first-m'),
  targetPort: fc.oneof(portArb, fc.constant('web-port')),
  appProtocol: fc.option(fc.constantFrom('http', 'grpc', 'tcp', 'kubernetes.io/h2c'), { nil: undefined }),
});

const serviceObj = fc
  .record({ ns: nsArb, name: serviceArb, ports: fc.uniqueArray(portSpecArb, { minLength: 1, maxLength: 3, selector: (p) => p.name }), app: accountArb, ip: fc.option(ipArb, { nil: undefined }) })
  .map(({ ns: n, name, ports, app, ip }) => {
    const unique = [...new Map(ports.map((p) => [p.port, p])).values()];
    const o = svc(n, name, unique.map((p) => ({ port: p.port, name: p.name, targetPort: p.targetPort, ...(p.appProtocol && { appProtocol: p.appProtocol }) })), { app });
    return ip ? { ...o, spec: { ...(o.spec as object), clusterIP: ip } } : o;
  });

const podObj = fc
  .record({ ns: nsArb, sa: accountArb, i: fc.integer({ min: 0, max: 2 }), ip: ipArb })
  .map(({ ns: n, sa: s, i, ip }) => pod(n, `${s}-${i}`, s, ip, { app: s }));

const sliceObj = fc
  .record({
    ns: nsArb,
    service: serviceArb,
    endpoints: fc.array(fc.record({ ip: ipArb, pod: fc.option(fc.tuple(accountArb, fc.integer({ min: 0, max: 2 })).map(([s, i]) => `${s}-${i}`), { nil: undefined }), ready: fc.boolean() }), { maxLength: 3 }),
    ports: fc.uniqueArray(fc.record({ name: fc.constantFrom('http', 'tcp-db', 'grpc-api', 'web'), port: portArb }), { maxLength: 2, selector: (p) => p.name }),
  })
  .map(({ ns: n, service, endpoints, ports }) => slice(n, service, endpoints.map((e) => ({ ip: e.ip, ready: e.ready, ...(e.pod && { pod: e.pod }) })), ports));

const ruleArb = fc.oneof(
  fc.record({ kind: fc.constant('HTTPRouteGroup'), name: routeArb, matches: fc.option(fc.uniqueArray(fc.constantFrom('read', 'write', 'all', 'nope'), { minLength: 1, maxLength: 2 }), { nil: undefined }) }),
  fc.record({ kind: fc.constantFrom('TCPRoute', 'UDPRoute'), name: routeArb }),
);

const targetObj = fc
  .record({ ns: nsArb, name: fc.constantFrom('t1', 't2', 't3'), dest: accountArb, sources: fc.array(fc.oneof(accountArb, fc.tuple(nsArb, accountArb)), { minLength: 1, maxLength: 3 }), rules: fc.array(ruleArb, { minLength: 1, maxLength: 3 }), crossNs: fc.boolean() })
  .map(({ ns: n, name, dest, sources, rules, crossNs }) =>
    target(n, name, dest, sources, rules.map((r) => ('matches' in r && r.matches ? { kind: r.kind, name: r.name, matches: r.matches } : { kind: r.kind, name: r.name })), crossNs ? (n === 'shop' ? 'data' : 'shop') : n),
  );

const matchArb = fc.record({
  name: fc.constantFrom('read', 'write', 'all'),
  pathRegex: fc.option(regexArb, { nil: undefined }),
  methods: fc.option(fc.uniqueArray(methodArb, { minLength: 1, maxLength: 3 }), { nil: undefined }),
  headers: fc.option(fc.dictionary(fc.constantFrom('host', 'user-agent', 'x-canary', 'Client-App'), regexArb, { maxKeys: 2 }), { nil: undefined }),
});
const routeGroupObj = fc
  .record({ ns: nsArb, name: routeArb, matches: fc.uniqueArray(matchArb, { minLength: 1, maxLength: 3, selector: (m) => m.name }) })
  .map(({ ns: n, name, matches }) => routeGroup(n, name, matches.map((m) => Object.fromEntries(Object.entries(m).filter(([, v]) => v !== undefined)) as { name: string })));

const tcpRouteObj = fc
  .record({ ns: nsArb, name: routeArb, ports: fc.uniqueArray(portArb, { maxLength: 3 }), udp: fc.boolean() })
  .map(({ ns: n, name, ports, udp }) => tcpRoute(n, name, ports, udp ? 'UDPRoute' : 'TCPRoute'));

const splitObj = fc
  .record({
    ns: nsArb,
    name: fc.constantFrom('s1', 's2'),
    root: serviceArb,
    backends: fc.uniqueArray(fc.record({ service: serviceArb, weight: fc.oneof(fc.integer({ min: 0, max: 100 }), fc.constantFrom(2_147_483_648, 4_294_967_295)) }), { minLength: 1, maxLength: 3, selector: (b) => b.service }),
    matches: fc.option(fc.uniqueArray(routeArb, { minLength: 1, maxLength: 2 }), { nil: undefined }),
  })
  .map(({ ns: n, name, root, backends, matches }) => split(n, name, root, backends, matches));

const meshConfigObj = fc
  .record({ permissive: fc.boolean(), egress: fc.boolean(), validity: fc.constantFrom('1h', '24h', '90s', '1m') })
  .map(({ permissive, egress, validity }) => meshConfig({ traffic: { enablePermissiveTrafficPolicyMode: permissive, enableEgress: egress }, certificate: { serviceCertValidityDuration: validity } }));

/** Valid objects of every kind the store knows. */
export const validObject: fc.Arbitrary<KubeObject> = fc.oneof(
  nsArb.map(ns),
  fc.tuple(nsArb, accountArb).map(([n, s]) => sa(n, s)),
  serviceObj,
  podObj,
  sliceObj,
  targetObj,
  routeGroupObj,
  tcpRouteObj,
  splitObj,
  meshConfigObj,
);

/**
 * A consistent mesh: workloads (ServiceAccount, Service, pod, EndpointSlice) sharing port numbers, so that
 * policies and splits drawn from the same pools actually apply, plus a MeshConfig (often permissive).
 */
export const meshWorld: fc.Arbitrary<KubeObject[]> = fc
  .record({
    workloads: fc.uniqueArray(fc.tuple(nsArb, serviceArb, fc.constantFrom(80, 8080), fc.constantFrom('http', 'tcp-db', 'grpc-api')), { minLength: 2, maxLength: 6, selector: ([n, s]) => `${n}/${s}` }),
    permissive: fc.boolean(),
  })
  .map(({ workloads, permissive }) => [
    meshConfig({ traffic: { enablePermissiveTrafficPolicyMode: permissive } }),
    ...workloads.flatMap(([n, s, port, portName], i) => workload(n, s, `10.1.${i}.1`, port, port, portName)),
  ]);

/** Values no field expects: wrong types, extremes, huge strings, RE2-invalid patterns, prototype keys. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.anything({ maxDepth: 2, withNullPrototype: true, withBigInt: true, withDate: true, withMap: true, withSet: true, withTypedArray: true, withSparseArray: true, withBoxedValues: true }),
  fc.constantFrom(null, undefined, '', -1, 0, 1.5, NaN, Infinity, -Infinity, 4294967296, 2 ** 53, -0, true, [], {}, '\\Z', 'a{1001}', '\\cA', '(?=x)', 'UPPER', '-x-', '10.0.0.256', 'None'),
  fc.constantFrom('a'.repeat(64), 'a'.repeat(254), 'x'.repeat(300_000), 'ü'.repeat(100)),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constant(JSON.parse('{"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}}') as unknown),
);

type Json = Record<string, unknown> | unknown[];
const isContainer = (v: unknown): v is Json => typeof v === 'object' && v !== null;

/** Number of nodes (containers and leaves) in a JSON tree, the root included. */
function countNodes(v: unknown): number {
  if (!isContainer(v)) return 1;
  return 1 + Object.values(v).reduce<number>((n, x) => n + countNodes(x), 0);
}

/** A deep copy of `v` with its `index`-th node (pre-order; 0 = root, never replaced) set to `value`. */
function replaceNode(v: unknown, index: number, value: unknown): unknown {
  let i = 0;
  const walk = (x: unknown): unknown => {
    const here = i++;
    if (here === index && here !== 0) return value;
    if (!isContainer(x)) return x;
    if (Array.isArray(x)) return x.map(walk);
    return Object.fromEntries(Object.entries(x).map(([k, y]) => [k, walk(y)]));
  };
  return walk(v);
}

/** A valid object with one node (or a new key) replaced by a hostile value. */
export const mutatedObject: fc.Arbitrary<KubeObject> = fc
  .tuple(validObject, fc.nat(), hostileValue, fc.option(fc.constantFrom('spec', 'metadata', 'status', 'extra'), { nil: undefined }))
  .map(([obj, n, value, addKey]) => {
    if (addKey) return { ...obj, [addKey]: value };
    return replaceNode(obj, 1 + (n % Math.max(1, countNodes(obj) - 1)), value) as KubeObject;
  });

const KIND_VERSIONS: readonly [string, string][] = [
  ['v1', 'Service'],
  ['v1', 'Pod'],
  ['v1', 'Namespace'],
  ['v1', 'ServiceAccount'],
  ['v1', 'Endpoints'],
  ['discovery.k8s.io/v1', 'EndpointSlice'],
  ['access.smi-spec.io/v1alpha3', 'TrafficTarget'],
  ['specs.smi-spec.io/v1alpha4', 'HTTPRouteGroup'],
  ['specs.smi-spec.io/v1alpha4', 'TCPRoute'],
  ['split.smi-spec.io/v1alpha4', 'TrafficSplit'],
  ['config.trellismesh.io/v1alpha1', 'MeshConfig'],
];

/** Anything at all under a known kind (and sometimes not even an object). */
export const hostileObject: fc.Arbitrary<KubeObject> = fc.oneof(
  fc
    .tuple(fc.constantFrom(...KIND_VERSIONS), fc.option(nsArb, { nil: undefined }), fc.oneof(fc.constantFrom<unknown>('x', 'web'), hostileValue), fc.dictionary(fc.string({ maxLength: 8 }), hostileValue, { maxKeys: 4 }), hostileValue)
    .map(([[apiVersion, kind], n, name, rest, spec]) => ({ ...rest, apiVersion, kind, metadata: { name, ...(n && { namespace: n }) }, spec }) as unknown as KubeObject),
  hostileValue as fc.Arbitrary<KubeObject>,
);

/** Any object a source might deliver. */
export const anyObject: fc.Arbitrary<KubeObject> = fc.oneof({ arbitrary: validObject, weight: 3 }, { arbitrary: mutatedObject, weight: 3 }, { arbitrary: hostileObject, weight: 1 });
