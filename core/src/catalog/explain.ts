/**
 * `policy explain`: may FROM call TO with this request, and why. The verdict is read off the same proxy views
 * the generators turn into config (the client's outbound services and split, the server's inbound routes and
 * network policies, matched with the same `requestMatches`); the reasons name the objects behind them: SMI
 * TrafficTargets and TrafficSplits, Gateway API (GAMMA) route rules, and the Retry / UpstreamTrafficSetting on the way.
 */
import { identityKey, parseIdentityKey } from '@trellis/plugin-sdk';
import type { GammaRoute, GammaRoutes, HttpMatch, Identity, InboundPort, InboundRoute, MeshServicePort, OutboundService } from '@trellis/plugin-sdk';
import { podServiceAccount } from '../store/index.ts';
import type { MeshStore, PolicyStatus, TrafficTargetObj } from '../store/index.ts';
import type { Catalog } from './catalog.ts';
import { ExplainInputError, explainEgress, externalTarget, type ExplainEgress } from './explain-egress.ts';
import { explainIngress, ingressSource, type ExplainIngress, type IngressSource } from './explain-ingress.ts';
import { attachedRoutes, buildGammaIndex } from './gamma.ts';
import { gammaEditTexts, gammaFilterTexts, gammaMatchText, gammaMatches } from './gamma-match.ts';
import { isHttpLike } from './protocol.ts';
import { requestMatches } from './routes.ts';
import { isActiveTarget, targetGrants } from './views.ts';

export interface ExplainRequest {
  /** `ns/name` of a Pod, ServiceAccount or Service; a `pod:`, `sa:` or `svc:` prefix forces the kind. */
  readonly from: string;
  /** `ns/name` of a Service, Pod or ServiceAccount (its one Service); a prefix forces the kind. */
  readonly to: string;
  /** The Service port (number or name); default its only port. */
  readonly port?: string | number;
  /** Default `/`. */
  readonly path?: string;
  /** Default POST on a gRPC port (every gRPC call is a POST), else GET. */
  readonly method?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface ExplainRoute {
  readonly match: HttpMatch;
  readonly principals: readonly string[] | 'any';
}

export interface ExplainIdentity {
  /** `ns/serviceaccount` behind the destination service. */
  readonly identity: string;
  readonly allowed: boolean;
  /** The inbound route of the destination's proxy that admits the request (HTTP ports). */
  readonly route?: ExplainRoute;
  /** The network policy (TrafficTarget `ns/name`) that admits the connection (TCP ports). */
  readonly tcpPolicy?: string;
  /** TrafficTargets (`ns/name`) admitting this source to this identity for this request. */
  readonly trafficTargets: readonly string[];
}

export interface ExplainBackend {
  /** `ns/name:port` of the service the request goes to (a split backend or the service itself). */
  readonly service: string;
  readonly clusterName: string;
  /** Share of requests, for a split backend. */
  readonly weight?: number;
  readonly allowed: boolean;
  readonly identities: readonly ExplainIdentity[];
}

export interface ExplainResult {
  readonly allowed: boolean;
  /** Why, naming the exact objects; the first line is the verdict. */
  readonly reasons: readonly string[];
  /** Whether permissive mode applies (every meshed identity may call every service). */
  readonly permissive: boolean;
  readonly from: { readonly identity: string; readonly resolvedFrom: string };
  readonly to: { readonly service: string; readonly port: number; readonly targetPort: number; readonly protocol: string; readonly resolvedFrom: string };
  readonly request: { readonly path: string; readonly method: string; readonly headers: Readonly<Record<string, string>> };
  /** Whether the source's proxy has the destination at all (outbound listener and cluster). */
  readonly reachable: boolean;
  /** The TrafficSplit on the destination, when the request is split. */
  readonly split?: { readonly name: string; readonly backends: readonly { readonly service: string; readonly weight: number }[] };
  readonly backends: readonly ExplainBackend[];
  /** The GAMMA route rule in effect, when HTTPRoutes or GRPCRoutes attach to the destination port. */
  readonly route?: ExplainGammaRoute;
  /** `ns/name` of the Retry and of the UpstreamTrafficSetting applied to this client's calls, when any. */
  readonly retry?: string;
  readonly upstream?: string;
  /** TO outside the mesh (`host:port`, `ip:port`): the Egress decision (docs/policies.md, "Egress"). */
  readonly egress?: ExplainEgress;
  /** FROM outside the mesh (`ip:`, `principal:`, `service:`): the IngressBackend decision per backend identity. */
  readonly ingress?: ExplainIngress;
  /** Ignored or invalid policies that concern this pair, with why. */
  readonly ignored: readonly { readonly kind: string; readonly name: string; readonly status: string; readonly reason: string }[];
}

/** The Gateway API route rule that governs the request (routes attached to the destination port replace a TrafficSplit). */
export interface ExplainGammaRoute {
  readonly kind: 'HTTPRoute' | 'GRPCRoute';
  /** `ns/name` of every route object in effect for this client on this port. */
  readonly sources: readonly string[];
  /** False when no rule matches: Envoy answers 404, a proxyless client fails with UNAVAILABLE. */
  readonly matched: boolean;
  /** `ns/name` of the route whose rule matched, its rule index and name, and the match that selected it. */
  readonly name?: string;
  readonly rule?: number;
  readonly ruleName?: string;
  readonly match?: string;
  /** Resolved backends (`ns/name:port`) with their weights. */
  readonly backends: readonly { readonly service: string; readonly weight: number }[];
  /** Weight of backendRefs that do not resolve or that the client may not reach: that share gets a 500. */
  readonly unresolvedWeight: number;
  readonly filters: readonly string[];
}

export { ExplainInputError };

const ref = (ns: string, name: string): string => `${ns}/${name}`;
const portText = (p: MeshServicePort): string => `${p.namespace}/${p.name}:${p.port}`;
const matchText = (m: HttpMatch): string =>
  `${m.methods.includes('*') ? '' : `${m.methods.join(',')} `}${m.pathRegex}${m.headers.length ? ` [${m.headers.map((h) => `${h.name}=~${h.valueRegex}`).join(', ')}]` : ''}`;

function splitPrefix(text: string): { kind?: 'pod' | 'sa' | 'svc'; key: string } {
  const m = /^(pod|sa|svc):(.*)$/.exec(text);
  return m ? { kind: m[1] as 'pod' | 'sa' | 'svc', key: m[2] as string } : { key: text };
}

function nsName(key: string, what: string): { namespace: string; name: string } {
  const id = parseIdentityKey(key);
  if (!id) throw new ExplainInputError(`${what} must be <namespace>/<name> (optionally prefixed pod:, sa: or svc:), got "${key}"`);
  return { namespace: id.namespace, name: id.serviceAccount };
}

function hasIdentity(store: MeshStore, id: Identity): boolean {
  return !!store.get('ServiceAccount', id.namespace, id.serviceAccount) || store.list('Pod', id.namespace).some((p) => podServiceAccount(p) === id.serviceAccount);
}

function resolveSource(catalog: Catalog, store: MeshStore, text: string): { identity: Identity; resolvedFrom: string } {
  const { kind, key } = splitPrefix(text);
  const { namespace, name } = nsName(key, 'FROM');
  if (kind === undefined || kind === 'pod') {
    const p = store.get('Pod', namespace, name);
    if (p) return { identity: { namespace, serviceAccount: podServiceAccount(p) }, resolvedFrom: `Pod ${ref(namespace, name)}` };
    if (kind === 'pod') throw new ExplainInputError(`FROM: no Pod ${ref(namespace, name)}`);
  }
  const asId = { namespace, serviceAccount: name };
  if ((kind === undefined && hasIdentity(store, asId)) || kind === 'sa') return { identity: asId, resolvedFrom: `ServiceAccount ${ref(namespace, name)}` };
  const model = catalog.service(ref(namespace, name));
  if (model) {
    const only = model.identities.length === 1 ? model.identities[0] : undefined;
    if (!only)
      throw new ExplainInputError(
        `FROM: Service ${ref(namespace, name)} has ${model.identities.length ? `several identities (${model.identities.map(identityKey).join(', ')}); name one` : 'no pods with a known identity'}`,
      );
    return { identity: only, resolvedFrom: `Service ${ref(namespace, name)}` };
  }
  throw new ExplainInputError(`FROM: no Pod, ServiceAccount or Service ${ref(namespace, name)}`);
}

function resolveDestination(catalog: Catalog, store: MeshStore, text: string, port: string | number | undefined): { port: MeshServicePort; resolvedFrom: string } {
  const { kind, key } = splitPrefix(text);
  const { namespace, name } = nsName(key, 'TO');
  let svcKey: string | undefined;
  let resolvedFrom = `Service ${ref(namespace, name)}`;
  if ((kind === undefined || kind === 'svc') && catalog.service(ref(namespace, name))) svcKey = ref(namespace, name);
  else if (kind === 'svc') throw new ExplainInputError(`TO: no Service ${ref(namespace, name)}`);
  else {
    const p = kind === 'sa' ? undefined : store.get('Pod', namespace, name);
    if (kind === 'pod' && !p) throw new ExplainInputError(`TO: no Pod ${ref(namespace, name)}`);
    const id: Identity = p ? { namespace, serviceAccount: podServiceAccount(p) } : { namespace, serviceAccount: name };
    const services = catalog.servicesOf(id);
    resolvedFrom = p ? `Pod ${ref(namespace, name)}` : `ServiceAccount ${ref(namespace, name)}`;
    const only = services.length === 1 ? services[0] : undefined;
    if (only === undefined)
      throw new ExplainInputError(
        `TO: ${resolvedFrom} is behind ${services.length ? `several Services (${services.join(', ')}); name one` : 'no Service (explain needs the Service a client calls)'}`,
      );
    svcKey = only;
    resolvedFrom += ` (Service ${svcKey})`;
  }
  const ports = catalog.service(svcKey)?.ports.map((p) => p.port) ?? [];
  const wanted = port === undefined ? undefined : String(port);
  const chosen = wanted === undefined ? (ports.length === 1 ? ports[0] : undefined) : ports.find((p) => String(p.port) === wanted || p.portName === wanted);
  if (!chosen)
    throw new ExplainInputError(
      wanted === undefined
        ? `TO: Service ${svcKey} has ${ports.length ? `several ports (${ports.map((p) => p.port).join(', ')}); pass --port` : 'no ports'}`
        : `TO: Service ${svcKey} has no port ${wanted} (ports: ${ports.map((p) => p.port).join(', ') || 'none'})`,
    );
  return { port: chosen, resolvedFrom };
}

const sameService = (a: MeshServicePort, b: MeshServicePort): boolean => a.namespace === b.namespace && a.name === b.name && a.port === b.port;
const principalAdmits = (r: InboundRoute, from: string): boolean => r.principals === 'any' || r.principals.some((p) => identityKey(p) === from);

/** Active TrafficTargets with this destination identity, sorted by `ns/name`. */
function targetsTo(store: MeshStore, dest: Identity): TrafficTargetObj[] {
  return store
    .list('TrafficTarget')
    .filter((tt) => isActiveTarget(tt) && tt.spec.destination.namespace === dest.namespace && tt.spec.destination.name === dest.serviceAccount)
    .sort((a, b) => ref(a.metadata.namespace, a.metadata.name).localeCompare(ref(b.metadata.namespace, b.metadata.name)));
}

const hasSource = (tt: TrafficTargetObj, from: Identity): boolean => tt.spec.sources.some((s) => s.namespace === from.namespace && s.name === from.serviceAccount);

/** The destination identity's side: its proxy's inbound port decides; reasons name the TrafficTargets. */
function explainIdentity(
  catalog: Catalog,
  store: MeshStore,
  from: Identity,
  dest: Identity,
  service: MeshServicePort,
  req: { path: string; method: string; headers: Record<string, string> },
  reasons: string[],
): ExplainIdentity {
  const fromKey = identityKey(from);
  const destKey = identityKey(dest);
  const view = catalog.viewFor(dest);
  const inbound: InboundPort | undefined = view.inbound.find((p) => sameService(p.service, service));
  const http = isHttpLike(service.protocol);
  const admitting: string[] = [];
  const candidates = targetsTo(store, dest);
  const fromTargets = candidates.filter((tt) => hasSource(tt, from));
  for (const tt of fromTargets) {
    const name = ref(tt.metadata.namespace, tt.metadata.name);
    const grants = targetGrants(store, tt, service.targetPort);
    const hit = grants.find((g) => requestMatches(g.match, req));
    if (http && hit) {
      admitting.push(name);
      reasons.push(
        hit.rule.kind === 'TCPRoute'
          ? `TrafficTarget ${name} admits ${fromKey} to ${destKey} on every request of port ${service.targetPort} (TCPRoute ${ref(tt.metadata.namespace, hit.rule.name)})`
          : `TrafficTarget ${name} admits ${fromKey} to ${destKey}: HTTPRouteGroup ${ref(tt.metadata.namespace, hit.rule.name)} match "${hit.match.name}" (${matchText(hit.match)})`,
      );
    } else if (!http && inbound?.tcpPolicies.some((p) => p.name === name && (p.ports === 'any' || p.ports.includes(service.targetPort)))) {
      admitting.push(name);
      reasons.push(`TrafficTarget ${name} admits ${fromKey} to ${destKey} on port ${service.targetPort}`);
    } else if (grants.length > 0) {
      reasons.push(`TrafficTarget ${name} admits ${grants.map((g) => matchText(g.match)).join(' | ')}, not ${req.method} ${req.path}`);
    } else {
      const missing = tt.spec.rules.filter((r) => (r.kind === 'HTTPRouteGroup' ? !store.get('HTTPRouteGroup', tt.metadata.namespace, r.name) : !store.get(r.kind, tt.metadata.namespace, r.name)));
      reasons.push(
        missing.length
          ? `TrafficTarget ${name} grants nothing here: ${missing.map((r) => `${r.kind} ${ref(tt.metadata.namespace, r.name)} does not exist`).join('; ')}`
          : `TrafficTarget ${name} grants nothing on port ${service.targetPort} (${tt.spec.rules.map((r) => `${r.kind} ${r.name}`).join(', ')})`,
      );
    }
  }
  if (!view.permissive && fromTargets.length === 0) reasons.push(`no TrafficTarget has destination ${destKey} with source ${fromKey}`);

  if (!inbound) {
    reasons.push(`${destKey}'s proxy has no inbound port for ${portText(service)}`);
    return { identity: destKey, allowed: false, trafficTargets: admitting };
  }
  if (http) {
    const route = inbound.routes.find((r) => requestMatches(r.match, req) && principalAdmits(r, fromKey));
    if (route && view.permissive) reasons.push(`permissive mode: ${destKey} accepts every meshed identity`);
    return {
      identity: destKey,
      allowed: !!route,
      ...(route && { route: { match: route.match, principals: route.principals === 'any' ? 'any' : route.principals.map(identityKey) } }),
      trafficTargets: admitting,
    };
  }
  if (view.permissive) {
    reasons.push(`permissive mode: ${destKey} accepts every meshed identity`);
    return { identity: destKey, allowed: true, trafficTargets: admitting };
  }
  const tcp = inbound.tcpPolicies.find((p) => p.principals.some((x) => identityKey(x) === fromKey) && (p.ports === 'any' || p.ports.includes(service.targetPort)));
  return { identity: destKey, allowed: !!tcp, ...(tcp && { tcpPolicy: tcp.name }), trafficTargets: admitting };
}

/** Ignored or invalid policies touching the source, the destination identities or the service. */
function relevantIgnored(store: MeshStore, statuses: readonly PolicyStatus[], from: Identity, dests: readonly Identity[], service: MeshServicePort): ExplainResult['ignored'] {
  const destKeys = new Set(dests.map(identityKey));
  const namespaces = new Set([from.namespace, service.namespace, ...dests.map((d) => d.namespace)]);
  return statuses
    .filter((s) => s.status !== 'accepted')
    .filter((s) => {
      if (s.kind === 'TrafficTarget') {
        const tt = store.get('TrafficTarget', s.namespace, s.name);
        if (!tt) return namespaces.has(s.namespace);
        return destKeys.has(ref(tt.spec.destination.namespace, tt.spec.destination.name)) || hasSource(tt, from);
      }
      if (s.kind === 'TrafficSplit') return s.namespace === service.namespace;
      return namespaces.has(s.namespace);
    })
    .map((s) => {
      const reason = s.reason ?? s.status;
      const short = s.kind === 'TrafficTarget' && /spec\.destination\.namespace/.test(reason) ? `destination namespace differs (${reason})` : reason;
      return { kind: s.kind, name: ref(s.namespace, s.name), status: s.status, reason: short };
    });
}

const share = (w: number, total: number): string => `${Math.round((100 * w) / total)}%`;

/** The rule of `gamma` that governs `req` (the first match in precedence order), with the reasons naming it. */
function explainGamma(gamma: GammaRoutes, out: OutboundService, store: MeshStore, req: { path: string; method: string; headers: Record<string, string> }, reasons: string[]): { route?: GammaRoute; result: ExplainGammaRoute } {
  const svc = ref(out.service.namespace, out.service.name);
  const sources = gamma.sources.map((s) => `${gamma.kind} ${s}`).join(', ');
  const sp = store.splitFor(out.service.namespace, out.service.name);
  if (sp) reasons.push(`TrafficSplit ${ref(sp.metadata.namespace, sp.metadata.name)} does not apply: ${sources} attached to ${svc}:${out.service.port} take precedence (docs/gamma.md)`);
  const route = gamma.routes.find((r) => gammaMatches(r.match, req));
  if (!route) {
    reasons.push(`no rule of ${sources} matches ${req.method} ${req.path}: Envoy answers 404, a proxyless gRPC client fails with UNAVAILABLE`);
    return { result: { kind: gamma.kind, sources: gamma.sources, matched: false, backends: [], unresolvedWeight: 0, filters: [] } };
  }
  const filters = gammaFilterTexts(route);
  const total = route.backends.reduce((n, b) => n + b.weight, 0) + route.unresolvedWeight;
  const rule = `${gamma.kind} ${route.route} rule ${route.rule}${route.ruleName !== undefined ? ` (${route.ruleName})` : ''}`;
  const to = route.backends.map((b) => {
    const edits = [...gammaEditTexts('RequestHeaderModifier', b.requestHeaders), ...gammaEditTexts('ResponseHeaderModifier', b.responseHeaders)];
    return `${ref(b.service.namespace, b.service.name)}:${b.service.port} (weight ${b.weight}, ${share(b.weight, total)}${edits.length ? `; ${edits.join(', ')}` : ''})`;
  });
  reasons.push(
    `${rule} governs it (match: ${gammaMatchText(route.match)})${route.redirect ? ': the proxy answers with a redirect, no backend is called' : `, sending it to ${to.join(', ') || 'no backend'}`}`,
  );
  if (route.unresolvedWeight > 0)
    reasons.push(`${rule}: ${share(route.unresolvedWeight, total)} of requests go to backendRefs that do not resolve or that the client may not reach (HTTP 500; UNAVAILABLE proxyless)`);
  if (filters.length) reasons.push(`${rule} filters: ${filters.join('; ')}${out.service.protocol === 'grpc' ? ' (proxyless gRPC clients apply only the timeouts)' : ''}`);
  return {
    route,
    result: {
      kind: gamma.kind,
      sources: gamma.sources,
      matched: true,
      name: route.route,
      rule: route.rule,
      ...(route.ruleName !== undefined && { ruleName: route.ruleName }),
      match: gammaMatchText(route.match),
      backends: route.backends.map((b) => ({ service: portText(b.service), weight: b.weight })),
      unresolvedWeight: route.unresolvedWeight,
      filters,
    },
  };
}

/** The Retry, UpstreamTrafficSetting and request timeout on this client's calls to the service. */
function explainTrafficPolicies(out: OutboundService, reasons: string[]): { retry?: string; upstream?: string } {
  const r = out.retry;
  if (r) reasons.push(`Retry ${r.policy ?? '(unnamed)'} retries up to ${r.attempts} time(s) on ${r.retryOn.join(', ') || 'the default conditions'}${r.perTryTimeoutMs ? `, ${r.perTryTimeoutMs} ms per try` : ''}`);
  const u = out.upstream;
  if (u) {
    const limits = [
      u.maxConnections !== undefined && `maxConnections ${u.maxConnections}`,
      u.maxRequests !== undefined && `maxRequests ${u.maxRequests}`,
      u.maxPendingRequests !== undefined && `maxPendingRequests ${u.maxPendingRequests}`,
      u.outlierDetection && 'outlier detection',
    ].filter(Boolean);
    reasons.push(`UpstreamTrafficSetting ${u.policy} applies${limits.length ? ` (${limits.join(', ')})` : ''}`);
  }
  if (out.timeoutMs) reasons.push(`request timeout ${out.timeoutMs} ms${u ? ` (UpstreamTrafficSetting ${u.policy})` : ''}`);
  return { ...(r?.policy !== undefined && { retry: r.policy }), ...(u && { upstream: u.policy }) };
}

/** TO outside the mesh: the client's egress rules and the MeshConfig passthrough decide. */
function explainExternal(catalog: Catalog, store: MeshStore, src: { identity: Identity; resolvedFrom: string }, ext: ReturnType<typeof externalTarget> & object, input: ExplainRequest): ExplainResult {
  const fromKey = identityKey(src.identity);
  const view = catalog.viewFor(src.identity);
  const headers = Object.fromEntries(Object.entries(input.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  const req = { path: input.path ?? '/', method: (input.method ?? 'GET').toUpperCase(), headers };
  const reasons: string[] = [];
  const egress = explainEgress(view.egressRules ?? [], view.egress, ext, req, reasons);
  const dest = `${ext.host}:${ext.port}`;
  const allowed = egress.by !== 'none';
  const verdict = allowed
    ? `allowed: ${fromKey} may reach ${dest}${egress.by === 'egress' ? ` (Egress ${egress.policy})` : ' (egress passthrough)'}`
    : `denied: ${fromKey} may not reach ${dest}`;
  const ignored = store
    .policyStatuses()
    .filter((s) => s.kind === 'Egress' && s.status !== 'accepted' && s.namespace === src.identity.namespace)
    .map((s) => ({ kind: s.kind, name: ref(s.namespace, s.name), status: s.status, reason: s.reason ?? s.status }));
  return {
    allowed,
    reasons: [verdict, ...reasons, 'proxyless gRPC clients dial mesh services only: Egress is not applied to them', ...ignored.map((i) => `${i.kind} ${i.name} is ${i.status}: ${i.reason}`)],
    permissive: view.permissive,
    from: { identity: fromKey, resolvedFrom: src.resolvedFrom },
    to: { service: ext.host, port: ext.port, targetPort: ext.port, protocol: egress.protocol ?? 'tcp', resolvedFrom: `external ${ext.ip ? 'address' : 'host'} ${dest}` },
    request: req,
    reachable: allowed,
    backends: [],
    egress,
    ignored,
  };
}

/** FROM outside the mesh: the IngressBackend on the backend's inbound ports decides. */
function explainFromIngress(catalog: Catalog, store: MeshStore, src: IngressSource, input: ExplainRequest): ExplainResult {
  const dst = resolveDestination(catalog, store, input.to, input.port);
  const service = dst.port;
  const ids = catalog.service(ref(service.namespace, service.name))?.identities ?? [];
  const reasons: string[] = [];
  if (ids.length === 0) reasons.push(`Service ${ref(service.namespace, service.name)} has no pods with a known identity`);
  const ingress = explainIngress(ids.map((d) => catalog.viewFor(d)), src, service, reasons);
  const allowed = ingress.identities.length > 0 && ingress.identities.every((i) => i.allowed);
  const headers = Object.fromEntries(Object.entries(input.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  return {
    allowed,
    reasons: [`${allowed ? 'allowed' : 'denied'}: ingress from ${ingress.source} ${allowed ? 'may' : 'may not'} reach ${portText(service)}`, ...reasons],
    permissive: false,
    from: { identity: ingress.source, resolvedFrom: `ingress source ${ingress.source}` },
    to: { service: ref(service.namespace, service.name), port: service.port, targetPort: service.targetPort, protocol: service.protocol, resolvedFrom: dst.resolvedFrom },
    request: { path: input.path ?? '/', method: (input.method ?? 'GET').toUpperCase(), headers },
    reachable: allowed,
    backends: [],
    ingress,
    ignored: [],
  };
}

/** Answers `policy explain` from the catalog's views (the generators' input) and the store. */
export function explainPolicy(catalog: Catalog, store: MeshStore, input: ExplainRequest): ExplainResult {
  const ing = ingressSource(input.from, (k) => {
    const m = catalog.service(k);
    return m && [...new Set(m.ports.flatMap((p) => p.endpoints.map((e) => e.ip)))].sort();
  });
  if (ing) return explainFromIngress(catalog, store, ing, input);
  const src = resolveSource(catalog, store, input.from);
  const ext = externalTarget(input.to, input.port);
  if (ext) return explainExternal(catalog, store, src, ext, input);
  const dst = resolveDestination(catalog, store, input.to, input.port);
  const from = src.identity;
  const fromKey = identityKey(from);
  const service = dst.port;
  const headers = Object.fromEntries(Object.entries(input.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  const req = {
    path: input.path ?? '/',
    method: (input.method ?? (service.protocol === 'grpc' ? 'POST' : 'GET')).toUpperCase(),
    headers,
  };
  const fromView = catalog.viewFor(from);
  const permissive = fromView.permissive;
  const reasons: string[] = [];
  const svcText = portText(service);
  const base = {
    permissive,
    from: { identity: fromKey, resolvedFrom: src.resolvedFrom },
    to: { service: ref(service.namespace, service.name), port: service.port, targetPort: service.targetPort, protocol: service.protocol, resolvedFrom: dst.resolvedFrom },
    request: req,
  };
  const statuses = store.policyStatuses();
  if (permissive) reasons.push('permissive mode is on (MeshConfig spec.traffic.enablePermissiveTrafficPolicyMode): SMI access policies are not enforced');

  const out = fromView.outbound.find((o) => sameService(o.service, service));
  const rootIds = catalog.service(ref(service.namespace, service.name))?.identities ?? [];
  if (!out) {
    const sub: string[] = [];
    if (rootIds.length === 0) sub.push(`Service ${ref(service.namespace, service.name)} has no pods with a known identity`);
    for (const d of rootIds) explainIdentity(catalog, store, from, d, service, req, sub);
    const attached = attachedRoutes(buildGammaIndex(store), from.namespace, service.namespace, service.name, service.port);
    if (attached.length && isHttpLike(service.protocol))
      sub.push(`${attached.map((r) => `${r.kind} ${ref(r.metadata.namespace, r.metadata.name)}`).join(', ')} attach(es) to ${svcText} but name no backend ${fromKey} may reach`);
    const ignored = relevantIgnored(store, statuses, from, rootIds, service);
    return {
      allowed: false,
      reasons: [`denied: ${fromKey}'s proxy has no route to ${svcText} (no policy lets it reach any identity behind the service)`, ...reasons, ...sub, ...ignored.map((i) => `${i.kind} ${i.name} is ${i.status}: ${i.reason}`)],
      ...base,
      reachable: false,
      backends: [],
      ignored,
    };
  }

  const policies = explainTrafficPolicies(out, reasons);
  const gamma = out.gamma && explainGamma(out.gamma, out, store, req, reasons);
  if (gamma && !gamma.route) {
    return {
      allowed: false,
      reasons: [`denied: ${fromKey}'s request ${req.method} ${req.path} to ${svcText} matches no ${gamma.result.kind} rule`, ...reasons],
      ...base,
      reachable: true,
      backends: [],
      route: gamma.result,
      ...policies,
      ignored: relevantIgnored(store, statuses, from, [], service),
    };
  }
  const split = out.split && (out.split.matches.length === 0 || out.split.matches.some((m) => requestMatches(m, req))) ? out.split : undefined;
  if (out.split && !split) reasons.push(`TrafficSplit ${out.split.splitName} does not apply: the request matches none of its matches`);
  const targets = gamma?.route
    ? gamma.route.backends.map((b) => ({ service: b.service, clusterName: b.clusterName, weight: b.weight }))
    : split
    ? split.backends.map((b) => ({ service: b.service, clusterName: b.clusterName, weight: b.weight }))
    : [{ service: out.service, clusterName: out.clusterName, weight: undefined as number | undefined }];
  if (split) {
    const total = split.backends.reduce((n, b) => n + b.weight, 0);
    reasons.push(
      `TrafficSplit ${split.splitName} sends it to ${split.backends.map((b) => `${ref(b.service.namespace, b.service.name)} (weight ${b.weight}, ${Math.round((100 * b.weight) / total)}%)`).join(', ')}`,
    );
  }
  const backends: ExplainBackend[] = [];
  const allDests: Identity[] = [];
  for (const t of targets) {
    const ids = catalog.service(ref(t.service.namespace, t.service.name))?.identities ?? [];
    allDests.push(...ids);
    const identities = ids.map((d) => explainIdentity(catalog, store, from, d, t.service, req, reasons));
    if (ids.length === 0) reasons.push(`Service ${ref(t.service.namespace, t.service.name)} has no pods with a known identity`);
    backends.push({
      service: portText(t.service),
      clusterName: t.clusterName,
      ...(t.weight !== undefined && { weight: t.weight }),
      allowed: identities.length > 0 && identities.every((i) => i.allowed),
      identities,
    });
  }
  const carrying = backends.filter((b) => b.weight === undefined || b.weight > 0);
  const unresolved = gamma?.route ? gamma.route.unresolvedWeight > 0 || !!gamma.route.redirect : false;
  const allowed = !unresolved && carrying.length > 0 && carrying.every((b) => b.allowed);
  const ignored = relevantIgnored(store, statuses, from, allDests, service);
  const denied = carrying.filter((b) => !b.allowed).map((b) => b.service);
  const verdict = allowed
    ? `allowed: ${fromKey} may call ${svcText} with ${req.method} ${req.path}`
    : `denied: ${fromKey} may not call ${svcText} with ${req.method} ${req.path}${denied.length ? ` (refused by ${denied.join(', ')})` : ''}${unresolved ? ` (${gamma?.route?.redirect ? 'redirected' : 'a share of requests has no backend'} by ${gamma?.result.kind} ${gamma?.route?.route})` : ''}`;
  return {
    allowed,
    reasons: [verdict, ...reasons, ...ignored.map((i) => `${i.kind} ${i.name} is ${i.status}: ${i.reason}`)],
    ...base,
    reachable: true,
    ...(split && { split: { name: split.splitName, backends: split.backends.map((b) => ({ service: portText(b.service), weight: b.weight })) } }),
    backends,
    ...(gamma && { route: gamma.result }),
    ...policies,
    ignored,
  };
}
