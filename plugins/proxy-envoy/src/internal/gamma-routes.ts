/**
 * GAMMA (Gateway API) routes as an Envoy RouteConfiguration: one per service port that has routes for this
 * client, served only on the outbound chain that matches the Service's cluster IPs (listeners.ts), so a route
 * applies to traffic addressed to the Service and never to a pod IP, whatever the Host header says.
 */
import type { GammaHeaderEdit, GammaPathRewrite, GammaRoute, OutboundService, Route, RouteAction, RouteConfiguration, RouteMatch } from '@trellis/plugin-sdk';
import { rdsGammaName } from '../names.ts';
import { byString, durationOfMs } from './common.ts';

/** Where a backendRef that does not resolve sends its share: no such cluster, so Envoy answers 500. */
export const UNRESOLVED_CLUSTER = 'gamma-unresolved-backend';

type HeaderOptions = NonNullable<Route['request_headers_to_add']>;
type Redirect = NonNullable<Route['redirect']>;
type RegexRewrite = NonNullable<RouteAction['regex_rewrite']>;

/** RE2 literal (the store refuses nothing that would break `\Q...\E`, and a path has no `\E`). */
const literal = (s: string): string => `\\Q${s}\\E`;

function headerOptions(e: GammaHeaderEdit | undefined): HeaderOptions {
  if (!e) return [];
  return [
    ...e.set.map((h) => ({ header: { key: h.name, value: h.value }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' as const })),
    ...e.add.map((h) => ({ header: { key: h.name, value: h.value }, append_action: 'APPEND_IF_EXISTS_OR_ADD' as const })),
  ];
}

function headerEdits(req: GammaHeaderEdit | undefined, res: GammaHeaderEdit | undefined): Pick<Route, 'request_headers_to_add' | 'request_headers_to_remove' | 'response_headers_to_add' | 'response_headers_to_remove'> {
  const out: Pick<Route, 'request_headers_to_add' | 'request_headers_to_remove' | 'response_headers_to_add' | 'response_headers_to_remove'> = {};
  if (req && (req.set.length || req.add.length)) out.request_headers_to_add = headerOptions(req);
  if (req?.remove.length) out.request_headers_to_remove = [...req.remove];
  if (res && (res.set.length || res.add.length)) out.response_headers_to_add = headerOptions(res);
  if (res?.remove.length) out.response_headers_to_remove = [...res.remove];
  return out;
}

/** A GAMMA match as an Envoy RouteMatch: PathPrefix by whole segments (`path_separated_prefix`). */
export function gammaRouteMatch(r: GammaRoute): RouteMatch {
  const m = r.match;
  const p = m.path;
  const path: RouteMatch =
    !p || (p.type === 'PathPrefix' && p.value === '/')
      ? { prefix: '/' }
      : p.type === 'Exact'
        ? { path: p.value }
        : p.type === 'PathPrefix'
          ? { path_separated_prefix: p.value }
          : { safe_regex: { regex: p.value } };
  const headers = [
    ...(m.method ? [{ name: ':method', string_match: { exact: m.method } }] : []),
    ...m.headers.map((h) => ({ name: h.name, string_match: h.type === 'Exact' ? { exact: h.value } : { safe_regex: { regex: h.value } } })),
  ];
  const query = m.queryParams.map((q) => ({ name: q.name, string_match: q.type === 'Exact' ? { exact: q.value } : { safe_regex: { regex: q.value } } }));
  return { ...path, ...(headers.length > 0 && { headers }), ...(query.length > 0 && { query_parameters: query }) };
}

/**
 * ReplacePrefixMatch as a regex rewrite of the matched prefix (Envoy's `prefix_rewrite` would leave `//x` when
 * the replacement is `/`): the prefix and any slashes after it become the replacement, keeping one separator.
 */
function rewritePath(r: GammaRoute, rw: GammaPathRewrite): RegexRewrite {
  if (rw.type === 'ReplaceFullPath') return { pattern: { regex: '^/.*$' }, substitution: rw.value };
  const prefix = r.match.path?.type === 'PathPrefix' ? r.match.path.value : '/';
  if (prefix === '/') return { pattern: { regex: '^/' }, substitution: rw.value.endsWith('/') ? rw.value : `${rw.value}/` };
  if (rw.value.endsWith('/')) return { pattern: { regex: `^${literal(prefix)}/*` }, substitution: rw.value };
  return { pattern: { regex: `^${literal(prefix)}` }, substitution: rw.value };
}

const REDIRECT_CODES: Readonly<Record<number, Redirect['response_code']>> = {
  301: 'MOVED_PERMANENTLY',
  302: 'FOUND',
  303: 'SEE_OTHER',
  307: 'TEMPORARY_REDIRECT',
  308: 'PERMANENT_REDIRECT',
};

function redirect(r: GammaRoute): Redirect {
  const rd = r.redirect;
  if (!rd) return {};
  const out: Redirect = { response_code: REDIRECT_CODES[rd.statusCode] ?? 'FOUND' };
  if (rd.scheme) out.scheme_redirect = rd.scheme;
  if (rd.hostname) out.host_redirect = rd.hostname;
  if (rd.port !== undefined) out.port_redirect = rd.port;
  if (rd.path?.type === 'ReplaceFullPath') out.path_redirect = rd.path.value;
  else if (rd.path) out.regex_rewrite = rewritePath(r, rd.path);
  return out;
}

function action(svc: OutboundService, r: GammaRoute): RouteAction | undefined {
  const clusters = r.backends.map((b) => ({
    name: b.clusterName,
    weight: { value: b.weight },
    ...headerEdits(b.requestHeaders, b.responseHeaders),
  }));
  if (clusters.length === 0) return undefined;
  if (r.unresolvedWeight > 0) clusters.push({ name: UNRESOLVED_CLUSTER, weight: { value: r.unresolvedWeight } });
  const a: RouteAction = { weighted_clusters: { clusters } };
  if (r.unresolvedWeight > 0) a.cluster_not_found_response_code = 'INTERNAL_SERVER_ERROR';
  if (r.rewrite?.hostname) a.host_rewrite_literal = r.rewrite.hostname;
  if (r.rewrite?.path) a.regex_rewrite = rewritePath(r, r.rewrite.path);
  const timeout = r.timeoutMs ?? r.backendTimeoutMs ?? svc.timeoutMs;
  if (timeout !== undefined) a.timeout = durationOfMs(timeout);
  const perTry = r.backendTimeoutMs !== undefined && r.timeoutMs !== undefined ? r.backendTimeoutMs : svc.retry?.perTryTimeoutMs;
  if (svc.retry || perTry !== undefined) {
    a.retry_policy = {
      retry_on: svc.retry && svc.retry.retryOn.length > 0 ? [...svc.retry.retryOn].sort(byString).join(',') : '5xx',
      num_retries: { value: svc.retry?.attempts ?? 0 },
      ...(perTry !== undefined && { per_try_timeout: durationOfMs(perTry) }),
    };
  }
  if (r.mirrors.length > 0)
    a.request_mirror_policies = r.mirrors.map((m) => ({
      cluster: m.clusterName,
      ...(m.percent < 100 && { runtime_fraction: { default_value: { numerator: Math.round(m.percent * 10_000), denominator: 'MILLION' as const } } }),
    }));
  return a;
}

function envoyRoute(svc: OutboundService, r: GammaRoute, i: number): Route {
  const base: Route = {
    name: `${r.route}|${r.ruleName ?? r.rule}|${i}`,
    match: gammaRouteMatch(r),
    ...headerEdits(r.requestHeaders, r.responseHeaders),
  };
  if (r.redirect) return { ...base, redirect: redirect(r) };
  const a = action(svc, r);
  // Every backendRef unresolved (or none at all): the spec's 500.
  return a ? { ...base, route: a } : { ...base, direct_response: { status: 500 } };
}

/** The RouteConfiguration of one service port with GAMMA routes; requests no rule matches get a 404. */
export function gammaRouteConfig(svc: OutboundService): RouteConfiguration {
  const routes = (svc.gamma?.routes ?? []).map((r, i) => envoyRoute(svc, r, i));
  routes.push({ name: 'no-route-matched', match: { prefix: '/' }, direct_response: { status: 404 } });
  return {
    name: rdsGammaName(svc.service),
    virtual_hosts: [{ name: `gamma|${svc.service.namespace}/${svc.service.name}|${svc.service.port}`, domains: ['*'], routes }],
    validate_clusters: { value: false },
  };
}
