/**
 * GAMMA routes (GRPCRoute, and the gRPC-relevant part of HTTPRoute) as proxyless gRPC RDS routes, in the
 * catalog's precedence order. What gRPC's xDS client does: path (exact, prefix, safe_regex) and header
 * matching, weighted clusters, max_stream_duration. What it does not, and so is left out: header and path
 * rewrites, redirects, mirrors and query-parameter matches (a gRPC request has no query string, so a match that
 * needs one never applies and is dropped; a non-POST method likewise). A backendRef that does not resolve keeps
 * its share, sent to a cluster that does not exist, so those calls fail (UNAVAILABLE) as the spec's 500 asks;
 * requests that no route matches fail too (gRPC has no default route).
 */
import { durationMs } from '@trellis/plugin-sdk';
import type { GammaRoute, OutboundService, Route, RouteAction, RouteMatch } from '@trellis/plugin-sdk';

// client.ts's rules (it imports this file): a pattern grouped so grpc-js matches it whole; `host` is `:authority`.
const wholeRegex = (regex: string): string => `(?:${regex})`;
const headerName = (name: string): string => (name.toLowerCase() === 'host' ? ':authority' : name.toLowerCase());

/** The cluster unresolved shares go to: never served, so calls routed there fail. */
export const UNRESOLVED_CLUSTER = 'gamma-unresolved-backend';

function match(r: GammaRoute): RouteMatch | undefined {
  const m = r.match;
  if (m.queryParams.length > 0) return undefined;
  if (m.method !== undefined && m.method !== 'POST') return undefined;
  const p = m.path;
  const path: RouteMatch =
    !p || (p.type === 'PathPrefix' && p.value === '/')
      ? { prefix: '' }
      : p.type === 'Exact'
        ? { path: p.value }
        : p.type === 'PathPrefix'
          ? // Whole segments: every gRPC path is /service/method, so `/svc/` is exactly "the segment /svc".
            { prefix: `${p.value}/` }
          : { safe_regex: { regex: wholeRegex(p.value) } };
  // The older `exact_match` / `safe_regex_match`: gRPC C-core 1.51 NACKs `string_match` in route header matchers.
  const headers = m.headers.map((h) => ({ name: headerName(h.name), ...(h.type === 'Exact' ? { exact_match: h.value } : { safe_regex_match: { regex: wholeRegex(h.value) } }) }));
  return { ...path, ...(headers.length > 0 && { headers }) };
}

function action(r: GammaRoute, known: ReadonlySet<string>, o: OutboundService): RouteAction {
  const clusters = r.backends.filter((b) => known.has(b.clusterName)).map((b) => ({ name: b.clusterName, weight: { value: b.weight } }));
  const missing = r.unresolvedWeight + r.backends.filter((b) => !known.has(b.clusterName)).reduce((n, b) => n + b.weight, 0);
  if (missing > 0 || clusters.length === 0) clusters.push({ name: UNRESOLVED_CLUSTER, weight: { value: Math.max(1, missing) } });
  // total_weight (deprecated in Envoy): gRPC C-core 1.51 NACKs weights that do not add up to it (default 100).
  const total = clusters.reduce((n, c) => n + c.weight.value, 0);
  const a: RouteAction = clusters.length === 1 && clusters[0] ? { cluster: clusters[0].name } : { weighted_clusters: { clusters, total_weight: { value: total } } };
  const timeout = r.timeoutMs ?? r.backendTimeoutMs ?? o.timeoutMs;
  if (timeout !== undefined && timeout > 0) a.max_stream_duration = { max_stream_duration: durationMs(timeout) };
  return a;
}

/** The routes of one service port with GAMMA routes; redirects have no gRPC equivalent and are left out. */
export function gammaGrpcRoutes(o: OutboundService, known: ReadonlySet<string>): Route[] {
  const out: Route[] = [];
  (o.gamma?.routes ?? []).forEach((r, i) => {
    if (r.redirect) return;
    const m = match(r);
    if (m) out.push({ name: `${r.route}|${r.ruleName ?? r.rule}|${i}`, match: m, route: action(r, known, o) });
  });
  return out;
}
