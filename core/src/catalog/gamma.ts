/**
 * Gateway API routes for the mesh (GAMMA) as one client sees them on one Service port: which routes attach
 * (producer routes in the Service's namespace; consumer routes in the client's namespace, which then replace
 * the producer routes for that client), their (match, rule) pairs in the spec's precedence order, and the
 * backends resolved to the client's clusters. Access still comes from TrafficTargets: a backend the client may
 * not reach resolves to nothing and its share of requests gets a 500.
 */
import { outboundClusterName } from '@trellis/plugin-sdk';
import type { GammaBackend, GammaHeaderEdit, GammaMatch, GammaRoute, GammaRoutes, MeshServicePort } from '@trellis/plugin-sdk';
import type { BackendRefSpec, GatewayRouteObj, HeaderEditSpec, MeshStore, RouteMatchSpec, RouteRuleSpec } from '../store/index.ts';
import type { ServiceModel } from './model.ts';
import { isHttpLike } from './protocol.ts';

/** Routes by the `ns/name` of each Service they name as a parent. */
export type GammaIndex = ReadonlyMap<string, readonly GatewayRouteObj[]>;

const isServiceRef = (r: { group: string; kind: string }): boolean => r.group === '' && r.kind === 'Service';

/** Every HTTPRoute and GRPCRoute by parent Service, each list in the spec's route order (oldest, then ns/name). */
export function buildGammaIndex(store: MeshStore): GammaIndex {
  const out = new Map<string, GatewayRouteObj[]>();
  for (const r of [...store.list('HTTPRoute'), ...store.list('GRPCRoute')])
    for (const key of new Set(r.spec.parentRefs.filter(isServiceRef).map((p) => `${p.namespace}/${p.name}`))) {
      const l = out.get(key);
      if (l) l.push(r);
      else out.set(key, [r]);
    }
  for (const l of out.values()) l.sort(routeOrder);
  return out;
}

function routeOrder(a: GatewayRouteObj, b: GatewayRouteObj): number {
  const ta = a.metadata.creationTimestamp ?? '';
  const tb = b.metadata.creationTimestamp ?? '';
  if (ta !== tb) return ta < tb ? -1 : 1;
  const ka = `${a.metadata.namespace}/${a.metadata.name}`;
  const kb = `${b.metadata.namespace}/${b.metadata.name}`;
  return ka < kb ? -1 : ka > kb ? 1 : a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0;
}

/**
 * The routes of `index` attached to Service `svcNs/svcName` port `port` for a client in `clientNs`: consumer
 * routes (in the client's namespace, naming a Service of another namespace) when there are any, else producer
 * routes (in the Service's namespace). GRPCRoutes win over HTTPRoutes on the same port (GEP-1016).
 */
export function attachedRoutes(index: GammaIndex, clientNs: string, svcNs: string, svcName: string, port: number): GatewayRouteObj[] {
  const candidates = (index.get(`${svcNs}/${svcName}`) ?? []).filter((r) =>
    r.spec.parentRefs.some((p) => isServiceRef(p) && p.namespace === svcNs && p.name === svcName && (p.port === undefined || p.port === port)),
  );
  const consumer = clientNs !== svcNs ? candidates.filter((r) => r.metadata.namespace === clientNs) : [];
  const chosen = consumer.length > 0 ? consumer : candidates.filter((r) => r.metadata.namespace === svcNs);
  const grpc = chosen.filter((r) => r.kind === 'GRPCRoute');
  return grpc.length > 0 ? grpc : chosen;
}

/** Keys of the Services with routes for this client that reach at least one backend it may reach. */
export function gammaRoots(index: GammaIndex, clientNs: string, reachable: ReadonlySet<string>): Set<string> {
  const out = new Set<string>();
  for (const [key, routes] of index) {
    const slash = key.indexOf('/');
    const svcNs = key.slice(0, slash);
    if (routes.some((r) => (r.metadata.namespace === svcNs || r.metadata.namespace === clientNs) && r.spec.rules.some((rule) => rule.backendRefs.some((b) => b.weight > 0 && reachable.has(`${b.namespace}/${b.name}`)))))
      out.add(key);
  }
  return out;
}

interface Resolver {
  readonly services: ReadonlyMap<string, ServiceModel>;
  readonly reachable: ReadonlySet<string>;
}

function resolvePort(rs: Resolver, ref: BackendRefSpec): MeshServicePort | undefined {
  if (!isServiceRef(ref)) return undefined;
  const key = `${ref.namespace}/${ref.name}`;
  if (!rs.reachable.has(key)) return undefined;
  return rs.services.get(key)?.ports.find((p) => p.port.port === ref.port)?.port;
}

function headerEdit(h: HeaderEditSpec | undefined): GammaHeaderEdit | undefined {
  return h && { set: h.set, add: h.add, remove: h.remove };
}

/** RE2 for a literal: `\Q...\E` (the store refuses patterns that would break it; a literal has no `\E`). */
function literal(s: string): string {
  return s.includes('\\E') ? s.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&') : `\\Q${s}\\E`;
}

/** A GRPCRoute method match as a path match on `/<service>/<method>`. */
function grpcPath(m: NonNullable<RouteMatchSpec['grpcMethod']>): GammaMatch['path'] {
  if (m.type === 'RegularExpression') return { type: 'RegularExpression', value: `/(?:${m.service ?? '[^/]+'})/(?:${m.method ?? '[^/]+'})` };
  if (m.service !== undefined && m.method !== undefined) return { type: 'Exact', value: `/${m.service}/${m.method}` };
  if (m.service !== undefined) return { type: 'PathPrefix', value: `/${m.service}` };
  return { type: 'RegularExpression', value: `/[^/]+/${literal(m.method ?? '')}` };
}

function toMatch(m: RouteMatchSpec): GammaMatch {
  const path = m.grpcMethod ? grpcPath(m.grpcMethod) : m.path;
  return { ...(path && { path }), ...(m.method !== undefined && { method: m.method }), headers: m.headers, queryParams: m.queryParams };
}

/** Sort keys, highest precedence first: HTTPRoute's spec order (path kind and length, method, headers, query). */
function httpRank(m: RouteMatchSpec): number[] {
  const p = m.path;
  const kind = !p ? 0 : p.type === 'Exact' ? 3 : p.type === 'RegularExpression' ? 2 : 1;
  return [kind, p?.value.length ?? 0, m.method ? 1 : 0, m.headers.length, m.queryParams.length];
}

/** GRPCRoute's: characters of an exact service, of an exact method, then header count. */
function grpcRank(m: RouteMatchSpec): number[] {
  const g = m.grpcMethod;
  const exact = g?.type === 'Exact';
  return [exact ? (g.service?.length ?? 0) : 0, exact ? (g.method?.length ?? 0) : 0, g ? 1 : 0, m.headers.length];
}

function compareRanks(a: number[], b: number[]): number {
  for (let i = 0; i < a.length; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (b[i] ?? 0) - (a[i] ?? 0);
  return 0;
}

function ruleRoute(rs: Resolver, route: GatewayRouteObj, ruleIndex: number, rule: RouteRuleSpec, match: RouteMatchSpec): GammaRoute {
  const backends: GammaBackend[] = [];
  let unresolvedWeight = 0;
  for (const b of rule.backendRefs) {
    if (b.weight <= 0) continue;
    const p = resolvePort(rs, b);
    if (!p) {
      unresolvedWeight += b.weight;
      continue;
    }
    const req = headerEdit(b.filters.find((f) => f.type === 'RequestHeaderModifier')?.headers);
    const res = headerEdit(b.filters.find((f) => f.type === 'ResponseHeaderModifier')?.headers);
    backends.push({ service: p, clusterName: outboundClusterName(p, p.targetPort), weight: b.weight, ...(req && { requestHeaders: req }), ...(res && { responseHeaders: res }) });
  }
  const f = (t: string) => rule.filters.find((x) => x.type === t);
  const requestHeaders = headerEdit(f('RequestHeaderModifier')?.headers);
  const responseHeaders = headerEdit(f('ResponseHeaderModifier')?.headers);
  const redirect = f('RequestRedirect')?.redirect;
  const rewrite = f('URLRewrite')?.rewrite;
  const mirrors = rule.filters.flatMap((x) => {
    const p = x.mirror && resolvePort(rs, x.mirror.backendRef);
    return p && x.mirror ? [{ clusterName: outboundClusterName(p, p.targetPort), percent: x.mirror.percent }] : [];
  });
  // A rule with neither backends nor a redirect answers 500 (the spec's "no backendRefs" case).
  if (!redirect && rule.backendRefs.length === 0) unresolvedWeight = 1;
  return {
    route: `${route.metadata.namespace}/${route.metadata.name}`,
    rule: ruleIndex,
    ...(rule.name !== undefined && { ruleName: rule.name }),
    match: toMatch(match),
    backends,
    unresolvedWeight,
    ...(requestHeaders && { requestHeaders }),
    ...(responseHeaders && { responseHeaders }),
    ...(redirect && { redirect }),
    ...(rewrite && { rewrite }),
    mirrors,
    ...(rule.timeouts?.requestMs !== undefined && { timeoutMs: rule.timeouts.requestMs }),
    ...(rule.timeouts?.backendRequestMs !== undefined && { backendTimeoutMs: rule.timeouts.backendRequestMs }),
  };
}

/** The routes for one client and one service port, in precedence order; undefined when none attach. */
export function gammaRoutesFor(
  index: GammaIndex,
  clientNs: string,
  port: MeshServicePort,
  services: ReadonlyMap<string, ServiceModel>,
  reachable: ReadonlySet<string>,
): GammaRoutes | undefined {
  if (!isHttpLike(port.protocol)) return undefined;
  const routes = attachedRoutes(index, clientNs, port.namespace, port.name, port.port);
  if (routes.length === 0) return undefined;
  const kind = routes[0]?.kind === 'GRPCRoute' ? 'GRPCRoute' : 'HTTPRoute';
  const rank = kind === 'GRPCRoute' ? grpcRank : httpRank;
  const rs: Resolver = { services, reachable };
  const entries: { rank: number[]; order: number; route: GammaRoute }[] = [];
  for (const r of routes)
    r.spec.rules.forEach((rule, i) => {
      for (const m of rule.matches) entries.push({ rank: rank(m), order: entries.length, route: ruleRoute(rs, r, i, rule, m) });
    });
  entries.sort((a, b) => compareRanks(a.rank, b.rank) || a.order - b.order);
  return { kind, sources: routes.map((r) => `${r.metadata.namespace}/${r.metadata.name}`), routes: entries.map((e) => e.route) };
}
