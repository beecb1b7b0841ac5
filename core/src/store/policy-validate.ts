/**
 * Structural validation of the traffic policy kinds (Retry, UpstreamTrafficSetting), in OSM's shapes: the
 * normalized object (defaulted namespaces) or the precise reason (field and why). Fields OSM defines that
 * Trellis does not enforce are accepted and reported by `policyNotes` (shown in /debug/policies).
 */
import { GRPC_RETRY_CONDITIONS, grpcRetryConditions } from '@trellis/plugin-sdk';
import { isIP } from 'node:net';
import type { KubeObject } from '@trellis/plugin-sdk';
import { dns1035Label, dns1123Label, dns1123Subdomain } from './k8s-names.ts';
import { bad, FieldError, isRec, optRec, rec, type Rec, type Rule } from './fields.ts';
import { show } from './show.ts';

export type PolicyCheck = { readonly ok: true; readonly obj: KubeObject } | { readonly ok: false; readonly reason: string };

function str(v: unknown, field: string, rule?: Rule): string {
  if (typeof v !== 'string' || v === '') bad(field, v === undefined ? 'is required' : 'must be a non-empty string');
  const why = rule?.(v);
  if (why) bad(field, why);
  return v;
}

const UINT32_MAX = 0xffff_ffff;

function uint32(v: unknown, field: string, opts: { min?: number; max?: number } = {}): number | undefined {
  if (v === undefined || v === null) return undefined;
  const min = opts.min ?? 0;
  const max = opts.max ?? UINT32_MAX;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) bad(field, `must be an integer ${min}-${max}, got ${show(v)}`);
  return v;
}

const GO_DURATION = /^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$/;
const GO_UNIT_MS: Readonly<Record<string, number>> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Kubernetes (Go) duration such as `1s`, `250ms` or `1m30s` in milliseconds, or undefined if it is not one. */
export function goDurationMs(text: string): number | undefined {
  if (!GO_DURATION.test(text)) return undefined;
  let ms = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) ms += Number(m[1]) * (GO_UNIT_MS[m[2] ?? 's'] ?? 0);
  return ms;
}

/** Envoy durations are protobuf Durations: at most 315,576,000,000 seconds. */
const MAX_DURATION_MS = 315_576_000_000_000;

function duration(v: unknown, field: string, opts: { positive?: boolean } = {}): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') bad(field, `must be a duration such as "1s" or "250ms", got ${show(v)}`);
  const ms = goDurationMs(v);
  if (ms === undefined) bad(field, `${show(v)} is not a duration (a number with a unit: ns, us, ms, s, m, h; e.g. "1s", "1m30s")`);
  if (opts.positive && ms < 1) bad(field, `must be at least 1ms, got ${show(v)}`);
  if (ms > MAX_DURATION_MS) bad(field, `${show(v)} is too long`);
  return ms;
}

/** Envoy's `retry_on` conditions: HTTP (router) and gRPC (x-envoy-retry-grpc-on). */
export const HTTP_RETRY_ON: ReadonlySet<string> = new Set([
  '5xx',
  'gateway-error',
  'reset',
  'reset-before-request',
  'connect-failure',
  'envoy-ratelimited',
  'retriable-4xx',
  'refused-stream',
  'retriable-status-codes',
  'retriable-headers',
  'http3-post-connect-failure',
]);

/** The conditions of a `retryOn` string (comma-separated, spaces allowed), in order, without duplicates. */
export function retryConditions(retryOn: string): string[] {
  return [...new Set(retryOn.split(',').map((s) => s.trim()).filter((s) => s !== ''))];
}

function ref(v: unknown, field: string, kind: 'ServiceAccount' | 'Service', defaultNs: string): { kind: string; name: string; namespace: string } {
  const r = rec(v, field);
  if (r.kind !== kind) bad(`${field}.kind`, `must be ${kind}, got ${show(r.kind)}`);
  const name = str(r.name, `${field}.name`, kind === 'Service' ? dns1035Label : dns1123Subdomain);
  const namespace = r.namespace === undefined || r.namespace === '' ? defaultNs : str(r.namespace, `${field}.namespace`, dns1123Label);
  return { kind, name, namespace };
}

function retry(obj: KubeObject, ns: string): KubeObject {
  const spec = rec(obj.spec, 'spec');
  const source = ref(spec.source, 'spec.source', 'ServiceAccount', ns);
  if (!Array.isArray(spec.destinations)) bad('spec.destinations', spec.destinations === undefined ? 'is required' : 'must be a list');
  if (spec.destinations.length === 0) bad('spec.destinations', 'must have at least 1 item(s)');
  const destinations = spec.destinations.map((d, i) => ref(d, `spec.destinations[${i}]`, 'Service', ns));
  const p = rec(spec.retryPolicy, 'spec.retryPolicy');
  const retryOn = str(p.retryOn, 'spec.retryPolicy.retryOn');
  const conditions = retryConditions(retryOn);
  if (conditions.length === 0) bad('spec.retryPolicy.retryOn', 'names no condition');
  for (const c of conditions)
    if (!HTTP_RETRY_ON.has(c) && !GRPC_RETRY_CONDITIONS.has(c))
      bad('spec.retryPolicy.retryOn', `unknown condition ${show(c)} (Envoy's: ${[...HTTP_RETRY_ON, ...GRPC_RETRY_CONDITIONS].join(', ')})`);
  uint32(p.numRetries, 'spec.retryPolicy.numRetries');
  duration(p.perTryTimeout, 'spec.retryPolicy.perTryTimeout', { positive: true });
  duration(p.retryBackoffBaseInterval, 'spec.retryPolicy.retryBackoffBaseInterval', { positive: true });
  return { ...obj, spec: { ...spec, source, destinations } };
}

function upstreamTrafficSetting(obj: KubeObject): KubeObject {
  const spec = rec(obj.spec, 'spec');
  str(spec.host, 'spec.host', dns1123Subdomain);
  const cs = optRec(spec.connectionSettings, 'spec.connectionSettings');
  const tcp = optRec(cs?.tcp, 'spec.connectionSettings.tcp');
  uint32(tcp?.maxConnections, 'spec.connectionSettings.tcp.maxConnections');
  duration(tcp?.connectTimeout, 'spec.connectionSettings.tcp.connectTimeout', { positive: true });
  const http = optRec(cs?.http, 'spec.connectionSettings.http');
  for (const k of ['maxRequests', 'maxPendingRequests', 'maxRetries'] as const) uint32(http?.[k], `spec.connectionSettings.http.${k}`);
  uint32(http?.maxRequestsPerConnection, 'spec.connectionSettings.http.maxRequestsPerConnection', { min: 1 });
  duration(http?.requestTimeout, 'spec.connectionSettings.http.requestTimeout');
  const od = optRec(spec.outlierDetection, 'spec.outlierDetection');
  uint32(od?.consecutive5xxErrors, 'spec.outlierDetection.consecutive5xxErrors');
  uint32(od?.consecutiveGatewayErrors, 'spec.outlierDetection.consecutiveGatewayErrors');
  duration(od?.interval, 'spec.outlierDetection.interval', { positive: true });
  duration(od?.baseEjectionTime, 'spec.outlierDetection.baseEjectionTime', { positive: true });
  uint32(od?.maxEjectionPercent, 'spec.outlierDetection.maxEjectionPercent', { max: 100 });
  const fp = optRec(od?.failurePercentage, 'spec.outlierDetection.failurePercentage');
  if (fp) {
    if (uint32(fp.threshold, 'spec.outlierDetection.failurePercentage.threshold', { max: 100 }) === undefined) bad('spec.outlierDetection.failurePercentage.threshold', 'is required');
    uint32(fp.minimumHosts, 'spec.outlierDetection.failurePercentage.minimumHosts');
    uint32(fp.requestVolume, 'spec.outlierDetection.failurePercentage.requestVolume');
  }
  const rl = optRec(spec.rateLimit, 'spec.rateLimit');
  const local = optRec(rl?.local, 'spec.rateLimit.local');
  optRec(rl?.global, 'spec.rateLimit.global');
  const tcpRl = optRec(local?.tcp, 'spec.rateLimit.local.tcp');
  if (tcpRl) tokenBucket(tcpRl, 'spec.rateLimit.local.tcp', 'connections');
  const httpRl = optRec(local?.http, 'spec.rateLimit.local.http');
  if (httpRl) httpLocalRateLimit(httpRl, 'spec.rateLimit.local.http');
  if (spec.httpRoutes !== undefined && spec.httpRoutes !== null) {
    if (!Array.isArray(spec.httpRoutes)) bad('spec.httpRoutes', 'must be a list');
    spec.httpRoutes.forEach((r, i) => {
      const f = `spec.httpRoutes[${i}]`;
      const route = rec(r, f);
      str(route.path, `${f}.path`);
      const routeRl = optRec(route.rateLimit, `${f}.rateLimit`);
      optRec(routeRl?.global, `${f}.rateLimit.global`);
      const routeLocal = optRec(routeRl?.local, `${f}.rateLimit.local`);
      if (routeLocal) httpLocalRateLimit(routeLocal, `${f}.rateLimit.local`);
    });
  }
  return obj;
}

/** OSM's rate-limit units; the token bucket refills once per unit. */
export const RATE_LIMIT_UNIT_MS: Readonly<Record<string, number>> = { second: 1000, minute: 60_000, hour: 3_600_000 };

/** Status codes Envoy's `type.v3.StatusCode` defines in 400-599 (OSM's allowed range): Envoy rejects others. */
const RATE_LIMIT_STATUS = new Set([400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417, 421, 422, 423, 424, 426, 428, 429, 431, 500, 501, 502, 503, 504, 505, 506, 507, 508, 510, 511]);

function tokenBucket(r: Rec, f: string, count: 'connections' | 'requests'): void {
  const n = uint32(r[count], `${f}.${count}`, { min: 1 });
  if (n === undefined) bad(`${f}.${count}`, 'is required');
  if (typeof r.unit !== 'string' || RATE_LIMIT_UNIT_MS[r.unit] === undefined) bad(`${f}.unit`, `must be second, minute or hour, got ${show(r.unit)}`);
  const burst = uint32(r.burst, `${f}.burst`) ?? 0;
  if (n + burst > UINT32_MAX) bad(`${f}.burst`, `${count} + burst must be at most ${UINT32_MAX}`);
}

function httpLocalRateLimit(r: Rec, f: string): void {
  tokenBucket(r, f, 'requests');
  const code = uint32(r.responseStatusCode, `${f}.responseStatusCode`);
  if (code !== undefined && code !== 0 && !RATE_LIMIT_STATUS.has(code)) bad(`${f}.responseStatusCode`, `${code} is not a 4xx/5xx status Envoy defines`);
  const headers = r.responseHeadersToAdd;
  if (headers === undefined || headers === null) return;
  if (!Array.isArray(headers)) bad(`${f}.responseHeadersToAdd`, 'must be a list');
  if (headers.length > 10) bad(`${f}.responseHeadersToAdd`, `at most 10 headers (Envoy's limit), got ${headers.length}`);
  headers.forEach((h, j) => {
    const hf = `${f}.responseHeadersToAdd[${j}]`;
    const hr = rec(h, hf);
    str(hr.name, `${hf}.name`, (v) => (/^[!#$%&'*+\-.^_`|~0-9a-z]+$/i.test(v) ? undefined : `${show(v)} is not an HTTP header name`));
    if (typeof hr.value !== 'string') bad(`${hf}.value`, hr.value === undefined ? 'is required' : 'must be a string');
  });
}

const PROTOCOLS = new Set(['http', 'https']);

function ingressBackend(obj: KubeObject, ns: string): KubeObject {
  const spec = rec(obj.spec, 'spec');
  const items = (v: unknown, field: string): unknown[] => {
    if (!Array.isArray(v)) bad(field, v === undefined ? 'is required' : 'must be a list');
    if (v.length === 0) bad(field, 'must have at least 1 item(s)');
    return v;
  };
  const backends = items(spec.backends, 'spec.backends').map((b, i) => {
    const f = `spec.backends[${i}]`;
    const r = rec(b, f);
    const name = str(r.name, `${f}.name`, dns1035Label);
    const p = rec(r.port, `${f}.port`);
    const number = uint32(p.number, `${f}.port.number`, { min: 1, max: 65535 });
    if (number === undefined) bad(`${f}.port.number`, 'is required');
    const protocol = typeof p.protocol === 'string' ? p.protocol.toLowerCase() : p.protocol;
    if (typeof protocol !== 'string' || !PROTOCOLS.has(protocol)) bad(`${f}.port.protocol`, `must be http or https, got ${show(p.protocol)}`);
    const tls = optRec(r.tls, `${f}.tls`);
    if (tls?.skipClientCertValidation !== undefined && typeof tls.skipClientCertValidation !== 'boolean') bad(`${f}.tls.skipClientCertValidation`, 'must be true or false');
    const sniHosts =
      tls?.sniHosts === undefined || tls.sniHosts === null
        ? undefined
        : Array.isArray(tls.sniHosts)
          ? tls.sniHosts.map((h, j) => str(h, `${f}.tls.sniHosts[${j}]`, (v) => (/^(\*\.)?[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/i.test(v) ? undefined : `${show(v)} is not a host name`)))
          : bad(`${f}.tls.sniHosts`, 'must be a list');
    if (protocol === 'http' && tls !== undefined && (sniHosts?.length || tls.skipClientCertValidation !== undefined))
      bad(`${f}.tls`, 'applies to https backends only');
    return { name, port: { number, protocol }, ...(tls && { tls: { skipClientCertValidation: tls.skipClientCertValidation === true, ...(sniHosts && { sniHosts }) } }) };
  });
  const sources = items(spec.sources, 'spec.sources').map((s, i) => {
    const f = `spec.sources[${i}]`;
    const r = rec(s, f);
    switch (r.kind) {
      case 'Service':
        return { kind: 'Service', name: str(r.name, `${f}.name`, dns1035Label), namespace: r.namespace === undefined || r.namespace === '' ? ns : str(r.namespace, `${f}.namespace`, dns1123Label) };
      case 'AuthenticatedPrincipal':
        return { kind: 'AuthenticatedPrincipal', name: str(r.name, `${f}.name`, (v) => (/^[\x21-\x7e]{1,253}$/.test(v) ? undefined : `${show(v)} must be 1-253 printable ASCII characters`)) };
      case 'IPRange':
        return { kind: 'IPRange', name: str(r.name, `${f}.name`, cidrProblem) };
      default:
        return bad(`${f}.kind`, `must be Service, AuthenticatedPrincipal or IPRange, got ${show(r.kind)}`);
    }
  });
  if (spec.matches !== undefined && !Array.isArray(spec.matches)) bad('spec.matches', 'must be a list');
  return { ...obj, spec: { ...spec, backends, sources } };
}

const EGRESS_PROTOCOLS = new Set(['http', 'https', 'tcp']);
const HOST = /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function egress(obj: KubeObject, ns: string): KubeObject {
  const spec = rec(obj.spec, 'spec');
  const nonEmpty = (v: unknown, field: string): unknown[] => {
    if (!Array.isArray(v)) bad(field, v === undefined ? 'is required' : 'must be a list');
    if (v.length === 0) bad(field, 'must have at least 1 item(s)');
    return v;
  };
  const sources = nonEmpty(spec.sources, 'spec.sources').map((s, i) => ref(s, `spec.sources[${i}]`, 'ServiceAccount', ns));
  const hosts = spec.hosts === undefined || spec.hosts === null ? [] : nonEmpty(spec.hosts, 'spec.hosts').map((h, i) => str(h, `spec.hosts[${i}]`, (v) => (v.length <= 253 && HOST.test(v.toLowerCase()) ? undefined : `${show(v)} is not a host name (exact, or a wildcard such as *.example.com)`)).toLowerCase());
  const ipAddresses = spec.ipAddresses === undefined || spec.ipAddresses === null ? [] : nonEmpty(spec.ipAddresses, 'spec.ipAddresses').map((a, i) => str(a, `spec.ipAddresses[${i}]`, cidrProblem));
  if (hosts.length === 0 && ipAddresses.length === 0) bad('spec', 'needs hosts or ipAddresses');
  const ports = nonEmpty(spec.ports, 'spec.ports').map((p, i) => {
    const f = `spec.ports[${i}]`;
    const r = rec(p, f);
    const number = uint32(r.number, `${f}.number`, { min: 1, max: 65535 });
    if (number === undefined) bad(`${f}.number`, 'is required');
    const protocol = typeof r.protocol === 'string' ? r.protocol.toLowerCase() : r.protocol;
    if (typeof protocol !== 'string' || !EGRESS_PROTOCOLS.has(protocol)) bad(`${f}.protocol`, `must be http, https or tcp, got ${show(r.protocol)}`);
    if (protocol !== 'tcp' && hosts.length === 0) bad(`${f}.protocol`, `${protocol} egress needs spec.hosts (it matches by Host header or SNI)`);
    return { number, protocol };
  });
  const matches =
    spec.matches === undefined || spec.matches === null
      ? undefined
      : Array.isArray(spec.matches)
        ? spec.matches.map((m, i) => {
            const r = rec(m, `spec.matches[${i}]`);
            if (r.kind !== 'HTTPRouteGroup') bad(`spec.matches[${i}].kind`, `must be HTTPRouteGroup, got ${show(r.kind)}`);
            return { ...r, kind: 'HTTPRouteGroup', name: str(r.name, `spec.matches[${i}].name`, dns1123Subdomain) };
          })
        : bad('spec.matches', 'must be a list');
  return { ...obj, spec: { ...spec, sources, hosts, ipAddresses, ports, ...(matches && { matches }) } };
}

/** Why `v` is not a CIDR (`10.0.0.0/8`, `fd00::/8`), or undefined. */
export function cidrProblem(v: string): string | undefined {
  const slash = v.indexOf('/');
  const ip = slash < 0 ? v : v.slice(0, slash);
  const family = isIP(ip);
  if (family === 0) return `${show(v)} is not an IP range (CIDR such as 10.0.0.0/8)`;
  if (slash < 0) return `${show(v)} is not an IP range: it needs a prefix length (e.g. /32)`;
  const len = v.slice(slash + 1);
  if (!/^\d{1,3}$/.test(len) || Number(len) > (family === 4 ? 32 : 128)) return `${show(v)}: prefix length must be 0-${family === 4 ? 32 : 128}`;
  return undefined;
}

/** Validates one traffic policy object (metadata already checked, namespace defaulted). */
export function checkPolicy(kind: 'Retry' | 'UpstreamTrafficSetting' | 'IngressBackend' | 'Egress', obj: KubeObject): PolicyCheck {
  const ns = obj.metadata.namespace ?? 'default';
  const checks = { Retry: retry, IngressBackend: ingressBackend, Egress: egress, UpstreamTrafficSetting: (o: KubeObject) => upstreamTrafficSetting(o) };
  try {
    return { ok: true, obj: checks[kind](obj, ns) };
  } catch (err) {
    if (err instanceof FieldError) return { ok: false, reason: err.message };
    throw err;
  }
}

/**
 * What an accepted policy asks for that some proxy kind does not do, for /debug/policies: fields Trellis
 * accepts but does not enforce, and Retry conditions proxyless gRPC cannot express. Empty when none.
 */
export function policyNotes(kind: string, obj: KubeObject): string[] {
  const spec = (obj.spec ?? {}) as Rec;
  if (kind === 'Retry') {
    const retryOn = (spec.retryPolicy as Rec | undefined)?.retryOn;
    const conditions = retryConditions(typeof retryOn === 'string' ? retryOn : '');
    const { unmapped } = grpcRetryConditions(conditions);
    return unmapped.length > 0 ? [`proxyless gRPC: retryOn ${unmapped.map((c) => `"${c}"`).join(', ')} has no gRPC status equivalent and is not applied there`] : [];
  }
  if (kind === 'UpstreamTrafficSetting') {
    const notes: string[] = [];
    const rl = (spec.rateLimit ?? {}) as { global?: unknown; local?: Rec };
    if (rl.global !== undefined) notes.push('spec.rateLimit.global: global rate limits are not enforced (no rate limit service; local limits are)');
    if (Array.isArray(spec.httpRoutes) && spec.httpRoutes.some((r) => isRec(r) && isRec(r.rateLimit) && r.rateLimit.global !== undefined))
      notes.push('spec.httpRoutes[].rateLimit.global: global rate limits are not enforced');
    const localRl = rl.local !== undefined || (Array.isArray(spec.httpRoutes) && spec.httpRoutes.some((r) => isRec(r) && isRec(r.rateLimit) && r.rateLimit.local !== undefined));
    if (localRl) notes.push("proxyless gRPC: local rate limits are enforced by the destination's Envoy sidecar only (a proxyless server has none)");
    const cs = (spec.connectionSettings ?? {}) as { tcp?: Rec; http?: Rec };
    const grpcIgnored = [
      ...(cs.tcp?.maxConnections !== undefined ? ['connectionSettings.tcp.maxConnections'] : []),
      ...(cs.tcp?.connectTimeout !== undefined ? ['connectionSettings.tcp.connectTimeout'] : []),
      ...(cs.http?.maxPendingRequests !== undefined ? ['connectionSettings.http.maxPendingRequests'] : []),
      ...(cs.http?.maxRetries !== undefined ? ['connectionSettings.http.maxRetries'] : []),
      ...(cs.http?.maxRequestsPerConnection !== undefined ? ['connectionSettings.http.maxRequestsPerConnection'] : []),
    ];
    const od = (spec.outlierDetection ?? undefined) as Rec | undefined;
    // gRPC ejects on failure percentage (and success rate), never on consecutive errors (gRFC A50).
    if (od && od.failurePercentage === undefined) grpcIgnored.push('outlierDetection (gRPC has no consecutive-error ejection; set outlierDetection.failurePercentage)');
    else if (od) for (const k of ['consecutive5xxErrors', 'consecutiveGatewayErrors']) if (od[k] !== undefined) grpcIgnored.push(`outlierDetection.${k}`);
    if (grpcIgnored.length > 0) notes.push(`proxyless gRPC: ${grpcIgnored.join(', ')} not supported by gRPC clients (Envoy applies them)`);
    return notes;
  }
  if (kind === 'Egress') return ['proxyless gRPC: not applied (gRPC clients dial mesh services only)'];
  if (kind === 'IngressBackend') {
    const notes: string[] = ['proxyless gRPC: not applied (ingress reaches gRPC servers without a sidecar)'];
    if (Array.isArray(spec.matches) && spec.matches.length > 0) notes.unshift('spec.matches: not enforced yet (every path of the backend is allowed, as OSM did)');
    return notes;
  }
  return [];
}
