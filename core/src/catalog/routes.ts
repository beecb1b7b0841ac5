import type { HeaderMatch, HttpMatch } from '@trellis/plugin-sdk';
import { re2FullMatch } from '../store/index.ts';
import type { HttpRouteMatchSpec } from '../store/index.ts';

/** Matches every request: what permissive mode and path-less TCPRoute access become on an HTTP port. */
export const WILDCARD_MATCH: HttpMatch = { name: '*', pathRegex: '.*', methods: ['*'], headers: [] };

/**
 * An HTTPRouteGroup match as the catalog hands it on. `pathRegex` is matched against the WHOLE path, as OSM
 * did with RE2 `safe_regex` (Envoy and gRPC full-match semantics): `/foo` does not match `/foo/bar`; write
 * `/foo.*` for a prefix. Missing pathRegex/methods match everything; `*` among methods means any method.
 */
export function toHttpMatch(m: HttpRouteMatchSpec): HttpMatch {
  const methods = !m.methods || m.methods.length === 0 || m.methods.includes('*') ? ['*'] : [...new Set(m.methods)].sort();
  const headers: HeaderMatch[] = Object.entries(m.headers ?? {})
    .map(([name, valueRegex]) => ({ name, valueRegex }))
    .sort((a, b) => a.name.localeCompare(b.name));
  return { name: m.name, pathRegex: m.pathRegex === undefined || m.pathRegex === '' ? '.*' : m.pathRegex, methods, headers };
}

/** Whole-string RE2 match, as Envoy and gRPC evaluate `safe_regex` (re2js; the store validated the pattern). */
export function fullMatch(regex: string, value: string): boolean {
  return re2FullMatch(regex, value);
}

/** Whether a request matches one HttpMatch (path whole-matched, method, every header). */
export function requestMatches(m: HttpMatch, req: { path: string; method: string; headers?: Record<string, string> }): boolean {
  if (!fullMatch(m.pathRegex, req.path)) return false;
  if (!m.methods.includes('*') && !m.methods.includes(req.method.toUpperCase())) return false;
  return m.headers.every((h) => {
    const v = req.headers?.[h.name.toLowerCase()];
    return v !== undefined && fullMatch(h.valueRegex, v);
  });
}

export function matchKey(m: HttpMatch): string {
  return JSON.stringify([m.name, m.pathRegex, m.methods, m.headers.map((h) => [h.name, h.valueRegex])]);
}
