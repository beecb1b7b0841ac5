/**
 * Traffic policies on a client's outbound services: the Retry from this source to a service, and the
 * UpstreamTrafficSetting of a service (connection limits, outlier detection, request timeout). When several
 * apply, the first by `namespace/name` wins (OSM left the choice undefined), so views stay deterministic.
 */
import { identityKey } from '@trellis/plugin-sdk';
import type { EgressRule, HttpLocalRateLimitPolicy, HttpMatch, Identity, IngressPolicy, LocalRateLimitPolicy, MeshServicePort, RetryPolicy, TokenBucketPolicy, UpstreamSettings } from '@trellis/plugin-sdk';
import type { HttpLocalRateLimitSpec, IngressBackendObj, MeshStore, RetryObj, ServiceObj, TcpLocalRateLimitSpec, UpstreamTrafficSettingObj } from '../store/index.ts';
import type { ServiceModel } from './model.ts';
import { matchKey, toHttpMatch } from './routes.ts';
import { RATE_LIMIT_UNIT_MS, goDurationMs, retryConditions } from '../store/policy-validate.ts';

const byName = (a: { metadata: { namespace?: string; name: string } }, b: { metadata: { namespace?: string; name: string } }): number =>
  `${a.metadata.namespace ?? ''}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace ?? ''}/${b.metadata.name}`);

const ms = (v: string | undefined): number | undefined => (v === undefined ? undefined : goDurationMs(v));

/** `ns/name` of a service -> the Retry policy `client` has towards it. */
export function retriesFrom(store: MeshStore, client: Identity): Map<string, RetryPolicy> {
  const out = new Map<string, RetryPolicy>();
  const key = identityKey(client);
  for (const r of store.list('Retry').sort(byName)) {
    if (identityKey({ namespace: r.spec.source.namespace, serviceAccount: r.spec.source.name }) !== key) continue;
    const policy = retryPolicy(r);
    for (const d of r.spec.destinations) {
      const k = `${d.namespace}/${d.name}`;
      if (!out.has(k)) out.set(k, policy);
    }
  }
  return out;
}

function retryPolicy(r: RetryObj): RetryPolicy {
  const p = r.spec.retryPolicy;
  const perTry = ms(p.perTryTimeout);
  const backoff = ms(p.retryBackoffBaseInterval);
  return {
    attempts: p.numRetries ?? 1,
    retryOn: retryConditions(p.retryOn),
    ...(perTry !== undefined && { perTryTimeoutMs: perTry }),
    ...(backoff !== undefined && { backoffBaseMs: backoff }),
    policy: `${r.metadata.namespace}/${r.metadata.name}`,
  };
}

/**
 * Whether an UpstreamTrafficSetting's `host` names the service: OSM writes the FQDN (`svc.ns.svc.cluster.local`);
 * `svc`, `svc.ns` and `svc.ns.svc` are accepted too. The setting lives in the service's namespace (as in OSM).
 */
export function hostNames(host: string, svc: { name: string; namespace: string }): boolean {
  const full = `${svc.name}.${svc.namespace}.svc`;
  return host === svc.name || host === `${svc.name}.${svc.namespace}` || host === full || host.startsWith(`${full}.`);
}

export interface UpstreamPolicy {
  readonly settings?: UpstreamSettings;
  readonly timeoutMs?: number;
}

const settingFor = (store: MeshStore, port: MeshServicePort): UpstreamTrafficSettingObj | undefined =>
  store
    .list('UpstreamTrafficSetting', port.namespace)
    .filter((u) => hostNames(u.spec.host, port))
    .sort(byName)[0];

/** The UpstreamTrafficSetting in effect for a service port's service, as view fields. */
export function upstreamFor(store: MeshStore, port: MeshServicePort): UpstreamPolicy | undefined {
  const uts = settingFor(store, port);
  return uts ? upstreamPolicy(uts) : undefined;
}

/** The local rate limits of the same UpstreamTrafficSetting, for the destination's own (inbound) view. */
export function rateLimitFor(store: MeshStore, port: MeshServicePort): LocalRateLimitPolicy | undefined {
  const uts = settingFor(store, port);
  if (!uts) return undefined;
  const local = uts.spec.rateLimit?.local;
  const routes = (uts.spec.httpRoutes ?? []).flatMap((r) => (r.rateLimit?.local ? [{ path: r.path, http: httpBucket(r.rateLimit.local) }] : []));
  if (!local?.tcp && !local?.http && routes.length === 0) return undefined;
  return {
    policy: `${uts.metadata.namespace}/${uts.metadata.name}`,
    ...(local?.tcp && { tcp: bucket(local.tcp.connections, local.tcp) }),
    ...(local?.http && { http: httpBucket(local.http) }),
    routes,
  };
}

function bucket(n: number, s: TcpLocalRateLimitSpec | HttpLocalRateLimitSpec): TokenBucketPolicy {
  return { tokensPerFill: n, fillIntervalMs: RATE_LIMIT_UNIT_MS[s.unit] ?? 1000, maxTokens: n + (s.burst ?? 0) };
}

function httpBucket(s: HttpLocalRateLimitSpec): HttpLocalRateLimitPolicy {
  return {
    ...bucket(s.requests, s),
    ...(s.responseStatusCode ? { statusCode: s.responseStatusCode } : {}),
    responseHeaders: (s.responseHeadersToAdd ?? []).map((h) => ({ name: h.name, value: h.value })),
  };
}

function upstreamPolicy(u: UpstreamTrafficSettingObj): UpstreamPolicy {
  const tcp = u.spec.connectionSettings?.tcp;
  const http = u.spec.connectionSettings?.http;
  const od = u.spec.outlierDetection;
  const defined = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
  const outlier = od
    ? defined({
        consecutive5xx: od.consecutive5xxErrors,
        consecutiveGatewayErrors: od.consecutiveGatewayErrors,
        intervalMs: ms(od.interval),
        baseEjectionTimeMs: ms(od.baseEjectionTime),
        maxEjectionPercent: od.maxEjectionPercent,
        failurePercentage: od.failurePercentage && defined({ threshold: od.failurePercentage.threshold, minimumHosts: od.failurePercentage.minimumHosts, requestVolume: od.failurePercentage.requestVolume }),
      })
    : undefined;
  const settings: UpstreamSettings = defined({
    policy: `${u.metadata.namespace}/${u.metadata.name}`,
    maxConnections: tcp?.maxConnections,
    connectTimeoutMs: ms(tcp?.connectTimeout),
    maxRequests: http?.maxRequests,
    maxPendingRequests: http?.maxPendingRequests,
    maxRetries: http?.maxRetries,
    maxRequestsPerConnection: http?.maxRequestsPerConnection,
    outlierDetection: outlier,
  });
  const timeoutMs = ms(http?.requestTimeout);
  return { settings, ...(timeoutMs !== undefined && { timeoutMs }) };
}

/** The services an UpstreamTrafficSetting (any of `objs`, old and new) applies to. */
export function servicesOfSettings(store: MeshStore, objs: readonly UpstreamTrafficSettingObj[]): ServiceObj[] {
  const out = new Map<string, ServiceObj>();
  for (const u of objs)
    for (const s of store.list('Service', u.metadata.namespace))
      if (hostNames(u.spec.host, { name: s.metadata.name, namespace: s.metadata.namespace })) out.set(`${s.metadata.namespace}/${s.metadata.name}`, s);
  return [...out.values()];
}

/**
 * The IngressBackend for a local service port (backend name = service, port number = target port, as OSM), as
 * the view's ingress policy. A Service source contributes its endpoints' addresses; one without endpoints
 * contributes nothing (OSM refused the whole policy then; an empty source list would open the port to all).
 */
export function ingressFor(store: MeshStore, services: ReadonlyMap<string, ServiceModel>, port: MeshServicePort): IngressPolicy | undefined {
  for (const ib of store.list('IngressBackend', port.namespace).sort(byName)) {
    const backend = ib.spec.backends.find((b) => b.name === port.name && b.port.number === port.targetPort);
    if (!backend) continue;
    const ranges = new Set<string>();
    const principals = new Set<string>();
    let serviceSources = 0;
    for (const s of ib.spec.sources) {
      if (s.kind === 'IPRange') ranges.add(s.name);
      else if (s.kind === 'AuthenticatedPrincipal') principals.add(s.name);
      else {
        serviceSources++;
        for (const p of services.get(`${s.namespace}/${s.name}`)?.ports ?? []) for (const e of p.endpoints) ranges.add(`${e.ip}/${e.ip.includes(':') ? 128 : 32}`);
      }
    }
    // Service sources without endpoints must not turn into "any address".
    if (ranges.size === 0 && serviceSources > 0 && !ib.spec.sources.some((s) => s.kind === 'IPRange')) ranges.add(NOWHERE);
    const skip = backend.tls?.skipClientCertValidation === true;
    return {
      policy: `${ib.metadata.namespace}/${ib.metadata.name}`,
      protocol: backend.port.protocol,
      sourceRanges: [...ranges].sort(),
      principals: backend.port.protocol === 'http' || skip || principals.size === 0 ? 'any' : [...principals].sort(),
      skipClientCertValidation: skip,
      sniHosts: [...new Set(backend.tls?.sniHosts ?? [])].sort(),
    };
  }
  return undefined;
}

/** A range no client has (TEST-NET-1's first address, never a pod): a Service source with no endpoints. */
const NOWHERE = '192.0.2.0/32';

/** `ns/name` of the services IngressBackends name as sources or backends (old and new objects). */
export function servicesOfIngress(objs: readonly IngressBackendObj[]): { backends: Set<string>; sources: Set<string> } {
  const backends = new Set<string>();
  const sources = new Set<string>();
  for (const ib of objs) {
    for (const b of ib.spec.backends) backends.add(`${ib.metadata.namespace}/${b.name}`);
    for (const s of ib.spec.sources) if (s.kind === 'Service') sources.add(`${s.namespace}/${s.name}`);
  }
  return { backends, sources };
}

/** The Egress rules of `client` (one per policy port), sorted by port, protocol and policy. */
export function egressRulesOf(store: MeshStore, client: Identity): EgressRule[] {
  const key = identityKey(client);
  const out: EgressRule[] = [];
  for (const e of store.list('Egress').sort(byName)) {
    if (!e.spec.sources.some((s) => identityKey({ namespace: s.namespace, serviceAccount: s.name }) === key)) continue;
    let matches: HttpMatch[] = [];
    let nothing = false;
    if (e.spec.matches?.length) {
      for (const m of e.spec.matches) matches.push(...(store.get('HTTPRouteGroup', e.metadata.namespace, m.name)?.spec.matches.map(toHttpMatch) ?? []));
      // Matches naming only missing groups allow no request (as a TrafficTarget rule with a missing group).
      nothing = matches.length === 0;
      matches = [...new Map(matches.map((m) => [matchKey(m), m])).entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, m]) => m);
    }
    for (const p of e.spec.ports) {
      if (p.protocol === 'http' && nothing) continue;
      out.push({
        policy: `${e.metadata.namespace}/${e.metadata.name}`,
        port: p.number,
        protocol: p.protocol,
        hosts: [...new Set(e.spec.hosts ?? [])].sort(),
        ipRanges: [...new Set(e.spec.ipAddresses ?? [])].sort(),
        matches: p.protocol === 'http' ? matches : [],
      });
    }
  }
  return out.sort((a, b) => a.port - b.port || a.protocol.localeCompare(b.protocol) || a.policy.localeCompare(b.policy));
}
