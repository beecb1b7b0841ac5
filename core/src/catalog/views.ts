/**
 * Pure view computation: what one identity may reach (outbound) and who may reach it (inbound), from a
 * snapshot of indexes over the store. Every list is sorted so equal states give equal views.
 */
import { identityKey, localClusterName, outboundClusterName } from '@trellis/plugin-sdk';
import type { HttpMatch, Identity, InboundPort, IngressPolicy, InboundRoute, InboundTcpPolicy, LocalRateLimitPolicy, MeshEndpoint, MeshServicePort, OutboundService, ProxyView, SplitPolicy, WeightedBackend } from '@trellis/plugin-sdk';
import type { MeshConfigSettings, MeshStore, TrafficSplitObj, TrafficTargetObj } from '../store/index.ts';
import { gammaRoots, gammaRoutesFor } from './gamma.ts';
import type { GammaIndex } from './gamma.ts';
import { hostnames as hostnameForms } from './hostnames.ts';
import { egressRulesOf, ingressFor, rateLimitFor, retriesFrom, upstreamFor } from './policies.ts';
import { compareEndpoints, sortIdentities } from './model.ts';
import type { ServiceModel } from './model.ts';
import { isHttpLike } from './protocol.ts';
import { WILDCARD_MATCH, matchKey, toHttpMatch } from './routes.ts';

/** Indexes the view computation reads; the catalog rebuilds the parts a change touches. */
export interface ViewIndexes {
  readonly store: MeshStore;
  readonly settings: MeshConfigSettings;
  /** Every Service, by `ns/name`. */
  readonly services: ReadonlyMap<string, ServiceModel>;
  /** identityKey -> `ns/name` of services it is behind. */
  readonly servicesOf: ReadonlyMap<string, readonly string[]>;
  /** Active TrafficTargets (destination in their own namespace) by source / destination identityKey. */
  readonly targetsBySource: ReadonlyMap<string, readonly TrafficTargetObj[]>;
  readonly targetsByDestination: ReadonlyMap<string, readonly TrafficTargetObj[]>;
  /** The TrafficSplit in effect per root service `ns/name` (store.splitFor). */
  readonly splitsByRoot: ReadonlyMap<string, TrafficSplitObj>;
  /** Gateway API routes by parent Service (gamma.ts); absent means none. */
  readonly gamma?: GammaIndex;
}

const svcKey = (ns: string, name: string): string => `${ns}/${name}`;
const subjectId = (s: { namespace: string; name: string }): Identity => ({ namespace: s.namespace, serviceAccount: s.name });

export function isActiveTarget(tt: TrafficTargetObj): boolean {
  return tt.spec.destination.namespace === tt.metadata.namespace;
}

/** Keys of the services `id` may reach directly (SMI: a TrafficTarget allows it to one identity behind them). */
export function directlyReachable(ix: ViewIndexes, id: Identity): Set<string> {
  if (ix.settings.permissive) return new Set(ix.services.keys());
  const out = new Set<string>();
  for (const tt of ix.targetsBySource.get(identityKey(id)) ?? [])
    for (const s of ix.servicesOf.get(identityKey(subjectId(tt.spec.destination))) ?? []) out.add(s);
  return out;
}

/** A Service's cluster IPs (`clusterIPs`, else `clusterIP`), without `None` (headless); sorted. */
function clusterIPs(svc: { spec: { clusterIP?: string; clusterIPs?: string[] } }): string[] {
  const ips = svc.spec.clusterIPs?.length ? svc.spec.clusterIPs : svc.spec.clusterIP ? [svc.spec.clusterIP] : [];
  return [...new Set(ips.filter((ip) => ip && ip !== 'None'))].sort();
}

/**
 * A port's hostname forms as seen from a namespace, shared by every view that computes them: every identity of
 * a namespace reaches a service under the same names, and in permissive mode every identity reaches every
 * service, so per-view copies would be identities x services arrays of strings.
 */
const hostnameMemo = new WeakMap<object, Map<string, string[]>>();
function hostnames(service: Parameters<typeof hostnameForms>[0] & object, port: number, fromNamespace: string): string[] {
  let byNs = hostnameMemo.get(service);
  if (!byNs) hostnameMemo.set(service, (byNs = new Map()));
  const key = `${port}|${fromNamespace}`;
  let names = byNs.get(key);
  if (!names) byNs.set(key, (names = Object.freeze(hostnameForms(service, port, fromNamespace)) as string[]));
  return names;
}

/** Outbound entries without identity-specific parts, per (port, client namespace); checked against their inputs. */
const plainMemo = new WeakMap<object, Map<string, OutboundService>>();
function plainOutbound(
  port: object,
  fromNamespace: string,
  endpoints: readonly unknown[],
  identities: readonly unknown[],
  serviceIPs: readonly string[],
  build: () => OutboundService,
): OutboundService {
  let byNs = plainMemo.get(port);
  if (!byNs) plainMemo.set(port, (byNs = new Map()));
  const found = byNs.get(fromNamespace);
  if (found && found.endpoints === endpoints && found.identities === identities && (found.serviceIPs ?? []).join(',') === serviceIPs.join(',')) return found;
  const made = Object.freeze(build());
  byNs.set(fromNamespace, made);
  return made;
}

export function computeView(ix: ViewIndexes, id: Identity): ProxyView {
  const key = identityKey(id);
  const reachable = directlyReachable(ix, id);
  // Split roots whose backends this identity reaches become reachable too, with the split.
  const splits = new Map<string, TrafficSplitObj>();
  for (const [root, split] of ix.splitsByRoot) {
    const ns = split.metadata.namespace;
    if (ix.services.has(root) && split.spec.backends.some((b) => reachable.has(svcKey(ns, b.service)))) splits.set(root, split);
  }
  const gammaParents = ix.gamma ? gammaRoots(ix.gamma, id.namespace, reachable) : new Set<string>();
  const outbound: OutboundService[] = [];
  const retries = retriesFrom(ix.store, id);
  for (const sk of [...new Set([...reachable, ...splits.keys(), ...gammaParents])].sort()) {
    const m = ix.services.get(sk);
    if (!m) continue;
    const split = splits.get(sk);
    const serviceIPs = clusterIPs(m.svc);
    for (const { port, endpoints } of m.ports) {
      // GAMMA routes on a port replace the TrafficSplit there (docs/gamma.md).
      const gamma = ix.gamma ? gammaRoutesFor(ix.gamma, id.namespace, port, ix.services, reachable) : undefined;
      const policy = split && !gamma ? splitPolicy(ix, split, port.port, reachable) : undefined;
      const retry = retries.get(sk);
      const upstream = upstreamFor(ix.store, port);
      const build = (): OutboundService => ({
        service: port,
        clusterName: outboundClusterName(port, port.targetPort),
        hostnames: hostnames(port, port.port, id.namespace),
        endpoints,
        identities: m.identities,
        ...(serviceIPs.length > 0 && { serviceIPs }),
        ...(policy && { split: policy }),
        ...(gamma && { gamma }),
        ...(retry && { retry }),
        ...(upstream?.timeoutMs !== undefined && { timeoutMs: upstream.timeoutMs }),
        ...(upstream?.settings && { upstream: upstream.settings }),
      });
      // Nothing identity-specific (no split, routes, retry or upstream policy): the same object for every view
      // from this namespace, so permissive views are references, not identities x services copies.
      outbound.push(!policy && !gamma && !retry && !upstream ? plainOutbound(port, id.namespace, endpoints, m.identities, serviceIPs, build) : build());
    }
  }
  const inbound: InboundPort[] = [];
  const local = new Map<string, MeshEndpoint>();
  const targets = ix.settings.permissive ? [] : (ix.targetsByDestination.get(key) ?? []);
  const localPorts = (ix.servicesOf.get(key) ?? []).flatMap((sk) => ix.services.get(sk)?.ports ?? []);
  for (const { endpoints } of localPorts) for (const e of endpoints) if (e.identity && identityKey(e.identity) === key) local.set(`${e.ip}|${e.port}|${e.podName ?? ''}`, e);
  const inboundPorts = localPorts.flatMap(({ port, endpoints }) => localTargetPorts(port, endpoints, key));
  const httpPorts = [...new Set(inboundPorts.filter((p) => isHttpLike(p.protocol)).map((p) => p.targetPort))];
  const tcpPolicies = targets.map((tt) => tcpPolicy(ix, tt, httpPorts)).sort((a, b) => a.name.localeCompare(b.name));
  for (const port of inboundPorts) {
    inbound.push({
      service: port,
      localClusterName: localClusterName(port, port.targetPort),
      hostnames: hostnames(port, port.port, port.namespace),
      routes: isHttpLike(port.protocol) ? inboundRoutes(ix, targets, port.targetPort) : [],
      tcpPolicies,
      ...ingressField(ix, port),
      ...rateLimitField(ix, port),
    });
  }
  inbound.sort((a, b) => a.localClusterName.localeCompare(b.localClusterName) || a.service.port - b.service.port);
  const egressRules = egressRulesOf(ix.store, id);
  return {
    identity: { namespace: id.namespace, serviceAccount: id.serviceAccount },
    trustDomain: ix.settings.trustDomain,
    permissive: ix.settings.permissive,
    egress: ix.settings.egress,
    outbound,
    inbound,
    localEndpoints: [...local.values()].sort(compareEndpoints),
    ...(ix.settings.telemetry ? { telemetry: ix.settings.telemetry } : {}),
    ...(egressRules.length > 0 && { egressRules }),
  };
}

/**
 * The ports this identity's own pods serve a Service port on. A named targetPort resolves per pod, so pods of one
 * identity may use different numbers (a rollout that renames a container port): the endpoints say which, and
 * each number gets its own inbound port. Without local endpoints, the Service's resolved targetPort.
 */
function localTargetPorts(port: MeshServicePort, endpoints: readonly MeshEndpoint[], key: string): MeshServicePort[] {
  const used = new Set<number>();
  for (const e of endpoints) if (e.identity && identityKey(e.identity) === key) used.add(e.port);
  if (used.size === 0 || (used.size === 1 && used.has(port.targetPort))) return [port];
  return [...used].sort((a, b) => a - b).map((targetPort) => (targetPort === port.targetPort ? port : { ...port, targetPort }));
}

function rateLimitField(ix: ViewIndexes, port: InboundPort['service']): { rateLimit?: LocalRateLimitPolicy } {
  const rateLimit = rateLimitFor(ix.store, port);
  return rateLimit ? { rateLimit } : {};
}

function ingressField(ix: ViewIndexes, port: InboundPort['service']): { ingress?: IngressPolicy } {
  if (!isHttpLike(port.protocol)) return {};
  const ingress = ingressFor(ix.store, ix.services, port);
  return ingress ? { ingress } : {};
}

/**
 * The split on one root port. A backend gets traffic only on its port whose number equals the root's port
 * (SMI's port rule) and only when this client may reach it (otherwise the destination would refuse it and
 * the client would have no cluster for it). v1alpha4 `matches` limit the split to matching requests; when
 * none of the referenced HTTPRouteGroups exists the split applies to nothing and is left out.
 */
function splitPolicy(ix: ViewIndexes, split: TrafficSplitObj, rootPort: number, reachable: ReadonlySet<string>): SplitPolicy | undefined {
  const ns = split.metadata.namespace;
  const backends: WeightedBackend[] = [];
  for (const b of split.spec.backends) {
    const sk = svcKey(ns, b.service);
    if (!reachable.has(sk)) continue;
    const p = ix.services.get(sk)?.ports.find((x) => x.port.port === rootPort)?.port;
    if (p) backends.push({ service: p, weight: b.weight, clusterName: outboundClusterName(p, p.targetPort) });
  }
  if (backends.reduce((n, b) => n + b.weight, 0) === 0) return undefined;
  let matches: HttpMatch[] = [];
  if (split.spec.matches?.length) {
    for (const ref of split.spec.matches) {
      const g = ix.store.get('HTTPRouteGroup', ns, ref.name);
      if (g) matches.push(...g.spec.matches.map(toHttpMatch));
    }
    if (matches.length === 0) return undefined;
    matches = dedupeMatches(matches);
  }
  backends.sort((a, b) => a.clusterName.localeCompare(b.clusterName));
  return { splitName: `${ns}/${split.metadata.name}`, backends, matches };
}

function dedupeMatches(ms: HttpMatch[]): HttpMatch[] {
  const m = new Map<string, HttpMatch>();
  for (const x of ms) m.set(matchKey(x), x);
  return [...m.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, v]) => v);
}

/** One HTTP match a TrafficTarget rule grants on a port, with the rule it came from (`policy explain` names it). */
export interface TargetGrant {
  readonly match: HttpMatch;
  readonly rule: { readonly kind: 'HTTPRouteGroup' | 'TCPRoute'; readonly name: string };
}

/**
 * What one TrafficTarget grants on one local HTTP port: each HTTPRouteGroup match its rules select (all of the
 * group's when a rule names none), and the wildcard for a TCPRoute covering the port. A missing route grants nothing.
 */
export function targetGrants(store: MeshStore, tt: TrafficTargetObj, targetPort: number): TargetGrant[] {
  const ns = tt.metadata.namespace;
  const out: TargetGrant[] = [];
  for (const rule of tt.spec.rules) {
    if (rule.kind === 'HTTPRouteGroup') {
      const g = store.get('HTTPRouteGroup', ns, rule.name);
      for (const m of g?.spec.matches ?? []) if (!rule.matches || rule.matches.includes(m.name)) out.push({ match: toHttpMatch(m), rule: { kind: rule.kind, name: rule.name } });
    } else if (rule.kind === 'TCPRoute') {
      const r = store.get(rule.kind, ns, rule.name);
      const ports = r?.spec.matches?.ports ?? [];
      if (r && (ports.length === 0 || ports.includes(targetPort))) out.push({ match: WILDCARD_MATCH, rule: { kind: rule.kind, name: rule.name } });
    }
  }
  return out;
}

/**
 * HTTP routes of one local port: each HTTPRouteGroup match a TrafficTarget allows (all of the group's matches
 * when the rule names none), and a wildcard route for targets whose TCPRoute covers this port (port access
 * implies every request; a UDPRoute grants UDP only). Routes equal across targets merge with the union of
 * their sources.
 */
function inboundRoutes(ix: ViewIndexes, targets: readonly TrafficTargetObj[], targetPort: number): InboundRoute[] {
  if (ix.settings.permissive) return [{ match: WILDCARD_MATCH, principals: 'any' }];
  const merged = new Map<string, { match: HttpMatch; principals: Identity[] }>();
  const add = (match: HttpMatch, principals: Identity[]): void => {
    const k = matchKey(match);
    const cur = merged.get(k);
    if (cur) cur.principals.push(...principals);
    else merged.set(k, { match, principals: [...principals] });
  };
  for (const tt of targets) {
    const principals = tt.spec.sources.map(subjectId);
    for (const g of targetGrants(ix.store, tt, targetPort)) add(g.match, principals);
  }
  return [...merged.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([, r]) => ({ match: r.match, principals: sortIdentities(r.principals) }));
}

/**
 * Network RBAC of one TrafficTarget (one ALLOW policy per target, as OSM): the destination ports its rules
 * grant. A TCPRoute grants its ports (every port when it lists none). An HTTPRouteGroup rule grants the
 * destination's HTTP ports (`httpPorts`, target ports), where per-route HTTP RBAC then decides, and only when
 * the group exists and the rule selects at least one of its matches: HTTP rules never open a TCP port. A
 * UDPRoute grants no TCP port; a missing route or group grants nothing. (OSM gave a target without TCPRoute
 * rules every port; see docs/smi.md.)
 */
function tcpPolicy(ix: ViewIndexes, tt: TrafficTargetObj, httpPorts: readonly number[]): InboundTcpPolicy {
  const ns = tt.metadata.namespace;
  let any = false;
  const ports = new Set<number>();
  for (const rule of tt.spec.rules) {
    if (rule.kind === 'TCPRoute') {
      const r = ix.store.get('TCPRoute', ns, rule.name);
      const p = r?.spec.matches?.ports ?? [];
      if (r && p.length === 0) any = true;
      for (const x of p) ports.add(x);
    } else if (rule.kind === 'HTTPRouteGroup') {
      const g = ix.store.get('HTTPRouteGroup', ns, rule.name);
      if (g?.spec.matches.some((m) => !rule.matches || rule.matches.includes(m.name))) for (const x of httpPorts) ports.add(x);
    }
  }
  return {
    name: `${ns}/${tt.metadata.name}`,
    principals: sortIdentities(tt.spec.sources.map(subjectId)),
    ports: any ? 'any' : [...ports].sort((a, b) => a - b),
  };
}
