/**
 * A GAMMA (match, rule) pair evaluated against one request, and described in words: what `policy explain`
 * needs to name the route rule that governs a request. Semantics as the generators emit them (Gateway API):
 * Exact path, PathPrefix by whole segments, RegularExpression whole-matched (RE2), method, headers (names
 * lower-cased), query parameters (case-sensitive names); every condition must hold.
 */
import type { GammaHeaderEdit, GammaMatch, GammaRoute, GammaValueMatch } from '@trellis/plugin-sdk';
import { fullMatch } from './routes.ts';

export interface GammaRequest {
  /** The path, possibly with a `?query`. */
  readonly path: string;
  readonly method: string;
  /** Header names lower-cased. */
  readonly headers: Readonly<Record<string, string>>;
}

function valueMatches(m: GammaValueMatch, v: string | undefined): boolean {
  return v !== undefined && (m.type === 'Exact' ? v === m.value : fullMatch(m.value, v));
}

/** Whether the request satisfies every condition of `m`. */
export function gammaMatches(m: GammaMatch, req: GammaRequest): boolean {
  const q = req.path.indexOf('?');
  const path = q < 0 ? req.path : req.path.slice(0, q);
  const query = new URLSearchParams(q < 0 ? '' : req.path.slice(q + 1));
  const p = m.path;
  if (p) {
    if (p.type === 'Exact' && path !== p.value) return false;
    if (p.type === 'PathPrefix' && p.value !== '/' && path !== p.value && !path.startsWith(`${p.value}/`)) return false;
    if (p.type === 'RegularExpression' && !fullMatch(p.value, path)) return false;
  }
  if (m.method !== undefined && m.method !== req.method.toUpperCase()) return false;
  // The Gateway API: the first query parameter of a name is the one matched.
  return m.headers.every((h) => valueMatches(h, req.headers[h.name])) && m.queryParams.every((x) => valueMatches(x, query.get(x.name) ?? undefined));
}

const valueText = (kind: string, m: GammaValueMatch): string => `${kind} ${m.name}${m.type === 'Exact' ? '=' : '=~'}${m.value}`;

/** `path PathPrefix /v2, method GET, header x-a=b`; `every request` for an empty match. */
export function gammaMatchText(m: GammaMatch): string {
  const parts = [
    ...(m.path ? [`path ${m.path.type} ${m.path.value}`] : []),
    ...(m.method !== undefined ? [`method ${m.method}`] : []),
    ...m.headers.map((h) => valueText('header', h)),
    ...m.queryParams.map((h) => valueText('query', h)),
  ];
  return parts.length ? parts.join(', ') : 'every request';
}

function editText(what: string, e: GammaHeaderEdit | undefined): string[] {
  if (!e) return [];
  const ops = [...e.set.map((h) => `set ${h.name}: ${h.value}`), ...e.add.map((h) => `add ${h.name}: ${h.value}`), ...e.remove.map((n) => `remove ${n}`)];
  return ops.length ? [`${what} (${ops.join('; ')})`] : [];
}

/** The filters and timeouts of a rule, one phrase each (backend-level header edits are named with the backend). */
export function gammaFilterTexts(r: GammaRoute): string[] {
  const rewrite = r.rewrite;
  return [
    ...editText('RequestHeaderModifier', r.requestHeaders),
    ...editText('ResponseHeaderModifier', r.responseHeaders),
    ...(r.redirect
      ? [`RequestRedirect (${r.redirect.statusCode}${r.redirect.scheme ? ` scheme ${r.redirect.scheme}` : ''}${r.redirect.hostname ? ` host ${r.redirect.hostname}` : ''}${r.redirect.port ? ` port ${r.redirect.port}` : ''}${r.redirect.path ? ` ${r.redirect.path.type} ${r.redirect.path.value}` : ''})`]
      : []),
    ...(rewrite ? [`URLRewrite (${[rewrite.hostname && `host ${rewrite.hostname}`, rewrite.path && `${rewrite.path.type} ${rewrite.path.value}`].filter(Boolean).join(', ')})`] : []),
    ...r.mirrors.map((m) => `RequestMirror to ${m.clusterName} (${m.percent}%)`),
    ...(r.timeoutMs ? [`timeouts.request ${r.timeoutMs} ms`] : []),
    ...(r.backendTimeoutMs ? [`timeouts.backendRequest ${r.backendTimeoutMs} ms`] : []),
  ];
}

export { editText as gammaEditTexts };
