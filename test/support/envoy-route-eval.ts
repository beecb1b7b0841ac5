/**
 * A small evaluator of generated Envoy config for one outbound HTTP request, following Envoy's documented
 * semantics: pick the outbound listener's filter chain by original destination port and address (longest
 * prefix), its HCM's RouteConfiguration, the virtual host by Host (exact, then `*.suffix`, then `*`), the first
 * route whose match holds (path / prefix / path_separated_prefix / safe_regex, headers, query parameters), then
 * its action. It reads resources decoded from their wire bytes, so it sees exactly what Envoy would.
 * Supported: what Trellis generates; anything else throws (an evaluator that guessed would prove nothing).
 */
import { RE2JS } from 're2js';
import { xds } from '@trellis/core';
import { TypeUrls } from '@trellis/plugin-sdk';
import type { XdsResource } from '@trellis/plugin-sdk';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** RE2 full match, as Envoy's `safe_regex`. */
const re2FullMatch = (pattern: string, value: string): boolean => RE2JS.compile(pattern).matches(value);

export interface OutboundRequest {
  /** Original destination (what the app dialed): a cluster IP or a pod IP. */
  readonly ip: string;
  readonly port: number;
  /** Host header; defaults to `ip:port`. */
  readonly host?: string;
  /** Path with optional query string. */
  readonly path: string;
  readonly method?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface HeaderOp {
  readonly name: string;
  readonly value: string;
  readonly append: boolean;
}

export type Outcome =
  | {
      readonly kind: 'route';
      /** The route's name (Trellis names GAMMA routes `ns/route|rule|index`). */
      readonly routeName: string;
      /** Weighted targets after merging; a single cluster has weight 1. */
      readonly clusters: readonly { readonly name: string; readonly weight: number; readonly requestHeaders: readonly HeaderOp[]; readonly requestRemove: readonly string[]; readonly responseHeaders: readonly HeaderOp[]; readonly responseRemove: readonly string[] }[];
      /** Request headers as they leave for the upstream (route-level edits applied; per-cluster edits in `clusters`). */
      readonly requestHeaders: Readonly<Record<string, string>>;
      /** Route-level response header edits. */
      readonly responseHeaders: readonly HeaderOp[];
      readonly responseRemove: readonly string[];
      /** The path and Host the upstream receives after rewrites. */
      readonly path: string;
      readonly host: string;
      readonly clusterNotFoundStatus: number;
      readonly timeoutMs?: number;
      readonly mirrors: readonly string[];
    }
  | { readonly kind: 'redirect'; readonly status: number; readonly location: string; readonly routeName: string; readonly responseHeaders: readonly HeaderOp[] }
  | { readonly kind: 'direct'; readonly status: number; readonly routeName: string; readonly responseHeaders: readonly HeaderOp[] }
  | { readonly kind: 'passthrough' }
  | { readonly kind: 'tcp'; readonly cluster: string }
  | { readonly kind: 'none'; readonly why: string };

export function decodeResources(resources: readonly XdsResource[]): Map<string, Map<string, Obj>> {
  const out = new Map<string, Map<string, Obj>>();
  for (const r of resources) {
    const type = xds.messageType(r.typeUrl);
    const obj = type.toObject(type.decode(r.body), { json: true, enums: String, longs: Number, defaults: false });
    let m = out.get(r.typeUrl);
    if (!m) out.set(r.typeUrl, (m = new Map()));
    m.set(r.name, obj);
  }
  return out;
}

function ipToInt(ip: string): number {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p))) throw new Error(`evaluator: IPv4 only, got ${ip}`);
  return parts.reduce((n, p) => n * 256 + p, 0);
}

function inRange(ip: string, range: Obj): boolean {
  const len = Number(range.prefix_len?.value ?? range.prefix_len ?? 32);
  if (len === 0) return true;
  const unit = 2 ** (32 - len);
  return Math.floor(ipToInt(ip) / unit) === Math.floor(ipToInt(range.address_prefix as string) / unit);
}

/** The chain Envoy picks: destination port first (exact beats none), then the longest matching prefix. */
function pickChain(listener: Obj, ip: string, port: number): Obj | undefined {
  let best: { chain: Obj; score: number } | undefined;
  for (const c of (listener.filter_chains ?? []) as Obj[]) {
    const m = (c.filter_chain_match ?? {}) as Obj;
    const dport = m.destination_port?.value as number | undefined;
    if (dport !== undefined && dport !== port) continue;
    const ranges = (m.prefix_ranges ?? []) as Obj[];
    let len = -1;
    if (ranges.length === 0) len = 0;
    for (const r of ranges) if (inRange(ip, r)) len = Math.max(len, Number(r.prefix_len?.value ?? 32));
    if (len < 0) continue;
    const score = (dport !== undefined ? 1000 : 0) + len;
    if (!best || score > best.score) best = { chain: c, score };
  }
  return best?.chain ?? listener.default_filter_chain;
}

function domainMatches(domain: string, host: string): number {
  if (domain === host) return 3;
  if (domain === '*') return 1;
  if (domain.startsWith('*') && host.endsWith(domain.slice(1))) return 2;
  return 0;
}

function stringMatch(sm: Obj, value: string | undefined): boolean {
  if (value === undefined) return false;
  if (sm.exact !== undefined) return value === sm.exact;
  if (sm.prefix !== undefined) return value.startsWith(sm.prefix as string);
  if (sm.safe_regex !== undefined) return re2FullMatch(sm.safe_regex.regex as string, value);
  throw new Error(`evaluator: unsupported string matcher ${JSON.stringify(sm)}`);
}

interface Req {
  readonly path: string;
  readonly query: Map<string, string>;
  readonly headers: Record<string, string>;
}

function routeMatches(m: Obj, req: Req): boolean {
  const p = req.path;
  if (m.prefix !== undefined) {
    if (!p.startsWith(m.prefix as string)) return false;
  } else if (m.path !== undefined) {
    if (p !== m.path) return false;
  } else if (m.path_separated_prefix !== undefined) {
    const v = m.path_separated_prefix as string;
    if (!(p === v || p.startsWith(`${v}/`))) return false;
  } else if (m.safe_regex !== undefined) {
    if (!re2FullMatch(m.safe_regex.regex as string, p)) return false;
  } else throw new Error(`evaluator: unsupported path specifier ${JSON.stringify(m)}`);
  for (const h of (m.headers ?? []) as Obj[]) {
    const v = req.headers[(h.name as string).toLowerCase()];
    let ok: boolean;
    if (h.string_match) ok = stringMatch(h.string_match as Obj, v);
    else if (h.present_match !== undefined) ok = (v !== undefined) === Boolean(h.present_match);
    else if (h.safe_regex_match) ok = v !== undefined && re2FullMatch(h.safe_regex_match.regex as string, v);
    else if (h.exact_match !== undefined) ok = v === h.exact_match;
    else throw new Error(`evaluator: unsupported header matcher ${JSON.stringify(h)}`);
    if (h.invert_match) ok = !ok;
    if (!ok) return false;
  }
  for (const q of (m.query_parameters ?? []) as Obj[]) {
    const v = req.query.get(q.name as string);
    if (q.present_match !== undefined ? v === undefined : !stringMatch(q.string_match as Obj, v)) return false;
  }
  return true;
}

function headerOps(list: unknown): HeaderOp[] {
  return ((list ?? []) as Obj[]).map((o) => ({
    name: (o.header.key as string).toLowerCase(),
    value: String(o.header.value ?? ''),
    append: o.append_action === 'APPEND_IF_EXISTS_OR_ADD' || o.append_action === undefined,
  }));
}

function applyOps(headers: Record<string, string>, ops: readonly HeaderOp[], remove: readonly string[]): Record<string, string> {
  const out = { ...headers };
  for (const op of ops) out[op.name] = op.append && out[op.name] !== undefined ? `${out[op.name]},${op.value}` : op.value;
  for (const r of remove) delete out[r.toLowerCase()];
  return out;
}

function regexRewrite(rw: Obj, path: string): string {
  // RE2 substitution of every match; our patterns are anchored, so one replacement.
  const pattern = (rw.pattern.regex as string).replace(/\\Q(.*?)\\E/g, (_m, lit: string) => lit.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'));
  return path.replace(new RegExp(pattern), rw.substitution as string);
}

const REDIRECT_STATUS: Readonly<Record<string, number>> = { MOVED_PERMANENTLY: 301, FOUND: 302, SEE_OTHER: 303, TEMPORARY_REDIRECT: 307, PERMANENT_REDIRECT: 308 };

/** Evaluates `req` against a proxy's resources (from `decodeResources`). */
export function evaluate(decoded: Map<string, Map<string, Obj>>, req: OutboundRequest): Outcome {
  const listener = decoded.get(TypeUrls.listener)?.get('outbound-listener');
  if (!listener) return { kind: 'none', why: 'no outbound listener' };
  const chain = pickChain(listener, req.ip, req.port);
  if (!chain) return { kind: 'none', why: `no chain for ${req.ip}:${req.port}` };
  const filter = ((chain.filters ?? []) as Obj[])[0];
  const cfg = filter?.typed_config as Obj | undefined;
  if (cfg?.['@type']?.toString().endsWith('TcpProxy')) return cfg.cluster === 'passthrough-outbound' ? { kind: 'passthrough' } : { kind: 'tcp', cluster: String(cfg.cluster) };
  const rdsName = cfg?.rds?.route_config_name as string | undefined;
  if (!rdsName) throw new Error(`evaluator: chain ${String(chain.name)} has neither tcp_proxy nor an RDS HCM`);
  const rc = decoded.get(TypeUrls.route)?.get(rdsName);
  if (!rc) return { kind: 'none', why: `RouteConfiguration ${rdsName} missing` };
  const host = (req.host ?? `${req.ip}:${req.port}`).toLowerCase();
  let vh: Obj | undefined;
  let score = 0;
  for (const v of (rc.virtual_hosts ?? []) as Obj[])
    for (const d of (v.domains ?? []) as string[]) {
      const s = domainMatches(d, host);
      if (s > score) [vh, score] = [v, s];
    }
  if (!vh) return { kind: 'direct', status: 404, routeName: '(no virtual host)', responseHeaders: [] };
  const q = req.path.indexOf('?');
  const path = q < 0 ? req.path : req.path.slice(0, q);
  const query = new Map<string, string>();
  if (q >= 0) for (const [k, v] of new URLSearchParams(req.path.slice(q + 1))) if (!query.has(k)) query.set(k, v);
  const headers: Record<string, string> = { ':authority': host, host, ':path': req.path, ':method': req.method ?? 'GET' };
  for (const [k, v] of Object.entries(req.headers ?? {})) headers[k.toLowerCase()] = v;
  const r = { path, query, headers };
  const route = ((vh.routes ?? []) as Obj[]).find((x) => routeMatches(x.match as Obj, r));
  if (!route) return { kind: 'direct', status: 404, routeName: '(no route)', responseHeaders: [] };
  const routeName = String(route.name ?? '');
  const responseHeaders = headerOps(route.response_headers_to_add);
  if (route.direct_response) return { kind: 'direct', status: Number(route.direct_response.status), routeName, responseHeaders };
  if (route.redirect) {
    const rd = route.redirect as Obj;
    const scheme = (rd.scheme_redirect as string | undefined) ?? (rd.https_redirect ? 'https' : 'http');
    const [h, p] = host.split(':');
    const hostOut = (rd.host_redirect as string | undefined) ?? h ?? host;
    // Envoy keeps the request's port unless a port or a scheme change says otherwise.
    let portOut = rd.port_redirect !== undefined ? String(rd.port_redirect) : rd.scheme_redirect !== undefined ? undefined : p;
    if ((scheme === 'http' && portOut === '80') || (scheme === 'https' && portOut === '443')) portOut = undefined;
    let pathOut = path;
    if (rd.path_redirect !== undefined) pathOut = rd.path_redirect as string;
    else if (rd.regex_rewrite) pathOut = regexRewrite(rd.regex_rewrite as Obj, path);
    else if (rd.prefix_rewrite !== undefined) pathOut = (rd.prefix_rewrite as string) + path.slice(String(route.match.prefix ?? route.match.path_separated_prefix ?? '').length);
    const status = REDIRECT_STATUS[String(rd.response_code ?? 'MOVED_PERMANENTLY')] ?? 301;
    return { kind: 'redirect', status, location: `${scheme}://${hostOut}${portOut ? `:${portOut}` : ''}${pathOut}`, routeName, responseHeaders };
  }
  const a = route.route as Obj;
  const clusters = a.cluster
    ? [{ name: String(a.cluster), weight: 1, requestHeaders: [], requestRemove: [], responseHeaders: [], responseRemove: [] }]
    : ((a.weighted_clusters?.clusters ?? []) as Obj[]).map((c) => ({
        name: String(c.name),
        weight: Number(c.weight?.value ?? 0),
        requestHeaders: headerOps(c.request_headers_to_add),
        requestRemove: (c.request_headers_to_remove ?? []) as string[],
        responseHeaders: headerOps(c.response_headers_to_add),
        responseRemove: (c.response_headers_to_remove ?? []) as string[],
      }));
  let pathOut = path;
  if (a.regex_rewrite) pathOut = regexRewrite(a.regex_rewrite as Obj, path);
  else if (a.prefix_rewrite !== undefined) throw new Error('evaluator: prefix_rewrite not supported');
  const t = a.timeout as Obj | undefined;
  return {
    kind: 'route',
    routeName,
    clusters,
    requestHeaders: applyOps(headers, headerOps(route.request_headers_to_add), (route.request_headers_to_remove ?? []) as string[]),
    responseHeaders,
    responseRemove: (route.response_headers_to_remove ?? []) as string[],
    path: pathOut + (q >= 0 ? req.path.slice(q) : ''),
    host: (a.host_rewrite_literal as string | undefined) ?? host,
    clusterNotFoundStatus: a.cluster_not_found_response_code === 'INTERNAL_SERVER_ERROR' ? 500 : a.cluster_not_found_response_code === 'NOT_FOUND' ? 404 : 503,
    ...(t && { timeoutMs: Number(t.seconds ?? 0) * 1000 + Math.round(Number(t.nanos ?? 0) / 1e6) }),
    mirrors: ((a.request_mirror_policies ?? []) as Obj[]).map((m) => String(m.cluster)),
  };
}

/** The response headers a client would see from `outcome` (route-level then cluster-level edits), for one cluster. */
export function responseHeadersVia(outcome: Outcome, clusterName?: string): Record<string, string> {
  if (outcome.kind !== 'route') return outcome.kind === 'direct' || outcome.kind === 'redirect' ? applyOps({}, outcome.responseHeaders, []) : {};
  const c = outcome.clusters.find((x) => x.name === clusterName) ?? outcome.clusters[0];
  return applyOps(applyOps({}, c?.responseHeaders ?? [], c?.responseRemove ?? []), outcome.responseHeaders, outcome.responseRemove);
}

/** The request headers the upstream receives via one cluster (route-level, then that cluster's edits). */
export function requestHeadersVia(outcome: Outcome, clusterName?: string): Record<string, string> {
  if (outcome.kind !== 'route') return {};
  const c = outcome.clusters.find((x) => x.name === clusterName) ?? outcome.clusters[0];
  return applyOps(outcome.requestHeaders, c?.requestHeaders ?? [], c?.requestRemove ?? []);
}
