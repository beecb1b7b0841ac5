/**
 * Structural validation of Gateway API HTTPRoute and GRPCRoute (the CRD schema's rules and its CEL checks that
 * matter to the mesh), normalized to gateway-kinds.ts with the spec's defaults. Cross-object checks (does the
 * parent Service exist, do backends resolve) are route status (route-status.ts), not validation.
 */
import type { KubeObject } from '@trellis/plugin-sdk';
import { dns1035Label, dns1123Label, dns1123Subdomain } from './k8s-names.ts';
import type { BackendRefSpec, GatewayRouteObj, HeaderEditSpec, PathModifierSpec, RouteBackendSpec, RouteFilterSpec, RouteMatchSpec, RouteParentRef, RouteRuleSpec, RouteValueMatch } from './gateway-kinds.ts';
import { re2Problem } from './re2.ts';
import { bad, FieldError, optRec, rec } from './fields.ts';
import { show } from './show.ts';

export type RouteValidation = { readonly obj: GatewayRouteObj; readonly ignored?: string } | { readonly reason: string };

function list(v: unknown, field: string, max: number, min = 0): unknown[] {
  if (v === undefined || v === null) {
    if (min > 0) bad(field, 'is required');
    return [];
  }
  if (!Array.isArray(v)) bad(field, 'must be a list');
  if (v.length < min) bad(field, `must have at least ${min} item(s)`);
  if (v.length > max) bad(field, `must have at most ${max} items, got ${v.length}`);
  return v;
}
function str(v: unknown, field: string, rule?: (s: string) => string | undefined, maxLen = 4096): string {
  if (typeof v !== 'string' || v === '') bad(field, v === undefined ? 'is required' : 'must be a non-empty string');
  if (v.length > maxLen) bad(field, `must be at most ${maxLen} characters`);
  const why = rule?.(v);
  if (why) bad(field, why);
  return v;
}
function optStr(v: unknown, field: string, rule?: (s: string) => string | undefined, maxLen?: number): string | undefined {
  return v === undefined ? undefined : str(v, field, rule, maxLen);
}
function oneOf<T extends string>(v: unknown, field: string, allowed: readonly T[], dflt?: T): T {
  if (v === undefined && dflt !== undefined) return dflt;
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) bad(field, `must be one of ${allowed.join(', ')}, got ${show(v)}`);
  return v as T;
}
function int(v: unknown, field: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) bad(field, `must be an integer ${min}-${max}, got ${show(v)}`);
  return v;
}
const port = (v: unknown, field: string): number => int(v, field, 1, 65535);

/** RFC 7230 token: the Gateway API's HTTPHeaderName. */
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+\-.^_`|~]{1,256}$/;
const headerName: (s: string) => string | undefined = (s) => (HEADER_NAME.test(s) ? undefined : `${show(s)} is not a valid HTTP header name`);
/** Header values may not hold CR, LF or NUL (they would split the header block). */
const headerValue = (s: string): string | undefined => (/[\r\n\0]/.test(s) ? `${show(s)} must not contain CR, LF or NUL` : undefined);
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH'] as const;
/** Gateway API Duration (GEP-2257): 1-4 `<number><unit>` parts, units h, m, s, ms. */
const DURATION = /^([0-9]{1,5}(h|m|s|ms)){1,4}$/;
const GRPC_SERVICE = /^(?:\.?[A-Za-z_][A-Za-z_0-9]*)(?:\.[A-Za-z_][A-Za-z_0-9]*)*$/;
const GRPC_METHOD = /^[A-Za-z_][A-Za-z_0-9]*$/;
/** RFC 1123 hostname without wildcard (redirect / rewrite targets). */
const hostname = (s: string): string | undefined => (/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(s) && s.length <= 253 ? undefined : `${show(s)} is not a hostname (RFC 1123)`);

function durationMs(v: unknown, field: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !DURATION.test(v)) bad(field, `must be a Gateway API duration such as 10s or 1m30s (units h, m, s, ms), got ${show(v)}`);
  let ms = 0;
  for (const m of v.matchAll(/([0-9]+)(h|ms|m|s)/g)) ms += Number(m[1]) * ({ h: 3600_000, m: 60_000, s: 1000, ms: 1 } as Record<string, number>)[m[2] ?? 's']!;
  return ms;
}

/** Path values of Exact / PathPrefix matches: absolute, no `//`, `/./`, `/../`, `%2f`, `#`, `?` (CRD CEL rules). */
function pathValue(v: unknown, field: string): string {
  const s = str(v, field, undefined, 1024);
  if (!s.startsWith('/')) bad(field, `must be an absolute path starting with "/", got ${show(s)}`);
  if (/\/\/|\/\.\/|\/\.\.\/|%2f|%2F|#|\?/.test(s) || s.endsWith('/..') || s.endsWith('/.')) bad(field, `${show(s)} must not contain "//", "/./", "/../", "%2f", "#" or "?"`);
  return s;
}

function valueMatches(v: unknown, field: string, kind: 'header' | 'query'): RouteValueMatch[] {
  const seen = new Set<string>();
  return list(v, field, 16).map((m, i) => {
    const f = `${field}[${i}]`;
    const r = rec(m, f);
    const raw = str(r.name, `${f}.name`, headerName, 256);
    // Header names are case-insensitive (compared lower-cased); query parameter names are not.
    const name = kind === 'header' ? raw.toLowerCase() : raw;
    if (seen.has(name)) bad(`${f}.name`, `${show(raw)} is matched twice (one match per name)`);
    seen.add(name);
    const type = oneOf(r.type, `${f}.type`, ['Exact', 'RegularExpression'] as const, 'Exact');
    if (typeof r.value !== 'string') bad(`${f}.value`, 'is required (a string)');
    const value = r.value;
    if (value.length > 4096) bad(`${f}.value`, 'must be at most 4096 characters');
    if (type === 'RegularExpression') {
      const p = re2Problem(value);
      if (p) bad(`${f}.value`, p);
    } else if (value === '') bad(`${f}.value`, 'must not be empty');
    else {
      const why = headerValue(value);
      if (why) bad(`${f}.value`, why);
    }
    return { name, type, value };
  });
}

function headerEdit(v: unknown, field: string): HeaderEditSpec {
  const r = rec(v, field);
  const names = new Set<string>();
  const pairs = (key: 'set' | 'add') =>
    list(r[key], `${field}.${key}`, 16).map((h, i) => {
      const f = `${field}.${key}[${i}]`;
      const hr = rec(h, f);
      const name = str(hr.name, `${f}.name`, headerName, 256).toLowerCase();
      if (names.has(`${key}|${name}`)) bad(`${f}.name`, `header ${show(name)} is listed twice`);
      names.add(`${key}|${name}`);
      if (typeof hr.value !== 'string') bad(`${f}.value`, 'is required (a string)');
      const why = headerValue(hr.value);
      if (why) bad(`${f}.value`, why);
      return { name, value: hr.value };
    });
  const set = pairs('set');
  const add = pairs('add');
  const remove = list(r.remove, `${field}.remove`, 16).map((x, i) => str(x, `${field}.remove[${i}]`, headerName, 256).toLowerCase());
  if (new Set(remove).size !== remove.length) bad(`${field}.remove`, 'lists a header twice');
  if (set.length + add.length + remove.length === 0) bad(field, 'must set, add or remove at least one header');
  return { set, add, remove };
}

function pathModifier(v: unknown, field: string): PathModifierSpec {
  const r = rec(v, field);
  const type = oneOf(r.type, `${field}.type`, ['ReplaceFullPath', 'ReplacePrefixMatch'] as const);
  const key = type === 'ReplaceFullPath' ? 'replaceFullPath' : 'replacePrefixMatch';
  const other = type === 'ReplaceFullPath' ? 'replacePrefixMatch' : 'replaceFullPath';
  if (r[other] !== undefined) bad(`${field}.${other}`, `must not be set when type is ${type}`);
  return { type, value: pathValue(r[key], `${field}.${key}`) };
}

function backendRef(v: unknown, field: string, ns: string): BackendRefSpec {
  const r = rec(v, field);
  const group = r.group === undefined ? '' : typeof r.group === 'string' ? r.group : bad(`${field}.group`, 'must be a string');
  const kind = r.kind === undefined ? 'Service' : str(r.kind, `${field}.kind`);
  const name = str(r.name, `${field}.name`, group === '' && kind === 'Service' ? dns1035Label : dns1123Subdomain, 253);
  const namespace = r.namespace === undefined ? ns : str(r.namespace, `${field}.namespace`, dns1123Label, 63);
  // CRD CEL: "Must have port for Service reference".
  if (group === '' && kind === 'Service' && r.port === undefined) bad(`${field}.port`, 'is required for a Service backend');
  const p = r.port === undefined ? undefined : port(r.port, `${field}.port`);
  return { group, kind, namespace, name, ...(p !== undefined && { port: p }) };
}

const HTTP_FILTERS = ['RequestHeaderModifier', 'ResponseHeaderModifier', 'RequestRedirect', 'URLRewrite', 'RequestMirror'] as const;
const GRPC_FILTERS = ['RequestHeaderModifier', 'ResponseHeaderModifier', 'RequestMirror'] as const;
const REDIRECT_CODES = [301, 302, 303, 307, 308];

function filters(v: unknown, field: string, ns: string, allowed: readonly RouteFilterSpec['type'][], pathMatch: boolean): RouteFilterSpec[] {
  const counts = new Map<string, number>();
  const out = list(v, field, 16).map((x, i): RouteFilterSpec => {
    const f = `${field}[${i}]`;
    const r = rec(x, f);
    if (r.type === 'ExtensionRef') bad(`${f}.type`, 'ExtensionRef filters are not supported by Trellis');
    const type = oneOf(r.type, `${f}.type`, allowed);
    counts.set(type, (counts.get(type) ?? 0) + 1);
    if (type !== 'RequestMirror' && (counts.get(type) ?? 0) > 1) bad(`${f}.type`, `${type} may appear at most once`);
    switch (type) {
      case 'RequestHeaderModifier':
        return { type, headers: headerEdit(r.requestHeaderModifier, `${f}.requestHeaderModifier`) };
      case 'ResponseHeaderModifier':
        return { type, headers: headerEdit(r.responseHeaderModifier, `${f}.responseHeaderModifier`) };
      case 'RequestRedirect': {
        const rr = rec(r.requestRedirect, `${f}.requestRedirect`);
        const scheme = rr.scheme === undefined ? undefined : oneOf(rr.scheme, `${f}.requestRedirect.scheme`, ['http', 'https'] as const);
        const host = optStr(rr.hostname, `${f}.requestRedirect.hostname`, hostname, 253);
        const p = rr.port === undefined ? undefined : port(rr.port, `${f}.requestRedirect.port`);
        const path = rr.path === undefined ? undefined : pathModifier(rr.path, `${f}.requestRedirect.path`);
        if (path?.type === 'ReplacePrefixMatch' && !pathMatch) bad(`${f}.requestRedirect.path`, 'ReplacePrefixMatch needs every match of the rule to be a PathPrefix match');
        const code = rr.statusCode === undefined ? 302 : int(rr.statusCode, `${f}.requestRedirect.statusCode`, 301, 308);
        if (!REDIRECT_CODES.includes(code)) bad(`${f}.requestRedirect.statusCode`, `must be 301, 302, 303, 307 or 308, got ${code}`);
        return { type, redirect: { ...(scheme && { scheme }), ...(host && { hostname: host }), ...(p !== undefined && { port: p }), ...(path && { path }), statusCode: code } };
      }
      case 'URLRewrite': {
        const rw = rec(r.urlRewrite, `${f}.urlRewrite`);
        const host = optStr(rw.hostname, `${f}.urlRewrite.hostname`, hostname, 253);
        const path = rw.path === undefined ? undefined : pathModifier(rw.path, `${f}.urlRewrite.path`);
        if (path?.type === 'ReplacePrefixMatch' && !pathMatch) bad(`${f}.urlRewrite.path`, 'ReplacePrefixMatch needs every match of the rule to be a PathPrefix match');
        if (!host && !path) bad(`${f}.urlRewrite`, 'must rewrite the hostname or the path');
        return { type, rewrite: { ...(host && { hostname: host }), ...(path && { path }) } };
      }
      case 'RequestMirror': {
        const m = rec(r.requestMirror, `${f}.requestMirror`);
        let percent = 100;
        if (m.percent !== undefined && m.fraction !== undefined) bad(`${f}.requestMirror`, 'set percent or fraction, not both');
        if (m.percent !== undefined) percent = int(m.percent, `${f}.requestMirror.percent`, 0, 100);
        if (m.fraction !== undefined) {
          const fr = rec(m.fraction, `${f}.requestMirror.fraction`);
          const num = int(fr.numerator, `${f}.requestMirror.fraction.numerator`, 0, 1_000_000);
          const den = fr.denominator === undefined ? 100 : int(fr.denominator, `${f}.requestMirror.fraction.denominator`, 1, 1_000_000);
          if (num > den) bad(`${f}.requestMirror.fraction`, 'numerator must not exceed denominator');
          percent = (num * 100) / den;
        }
        return { type, mirror: { backendRef: backendRef(m.backendRef, `${f}.requestMirror.backendRef`, ns), percent } };
      }
    }
  });
  const types = new Set(out.map((x) => x.type));
  if (types.has('RequestRedirect') && types.has('URLRewrite')) bad(field, 'RequestRedirect and URLRewrite cannot be used together');
  return out;
}

function httpMatch(v: unknown, field: string): RouteMatchSpec {
  const r = rec(v, field);
  const p = optRec(r.path, `${field}.path`);
  const type = oneOf(p?.type, `${field}.path.type`, ['Exact', 'PathPrefix', 'RegularExpression'] as const, 'PathPrefix');
  let value: string;
  if (type === 'RegularExpression') {
    value = str(p?.value, `${field}.path.value`, undefined, 1024);
    const problem = re2Problem(value);
    if (problem) bad(`${field}.path.value`, problem);
  } else {
    value = p?.value === undefined ? '/' : pathValue(p.value, `${field}.path.value`);
    // A prefix's trailing slash is ignored: `/abc/` matches `/abc`, `/abc/` and `/abc/x`.
    if (type === 'PathPrefix' && value.length > 1) value = value.replace(/\/+$/, '') || '/';
  }
  const method = r.method === undefined ? undefined : oneOf(r.method, `${field}.method`, METHODS);
  return {
    path: { type, value },
    ...(method && { method }),
    headers: valueMatches(r.headers, `${field}.headers`, 'header'),
    queryParams: valueMatches(r.queryParams, `${field}.queryParams`, 'query'),
  };
}

function grpcMatch(v: unknown, field: string): RouteMatchSpec {
  const r = rec(v, field);
  const m = optRec(r.method, `${field}.method`);
  let grpcMethod: RouteMatchSpec['grpcMethod'];
  if (m) {
    const type = oneOf(m.type, `${field}.method.type`, ['Exact', 'RegularExpression'] as const, 'Exact');
    const check = (x: unknown, f: string, re: RegExp): string | undefined => {
      if (x === undefined) return undefined;
      const s = str(x, f, undefined, 1024);
      if (type === 'Exact' && !re.test(s)) bad(f, `${show(s)} is not a valid gRPC ${f.endsWith('service') ? 'service' : 'method'} name`);
      if (type === 'RegularExpression') {
        const problem = re2Problem(s);
        if (problem) bad(f, problem);
      }
      return s;
    };
    const service = check(m.service, `${field}.method.service`, GRPC_SERVICE);
    const method = check(m.method, `${field}.method.method`, GRPC_METHOD);
    if (type === 'Exact' && service === undefined && method === undefined) bad(`${field}.method`, 'an Exact method match needs service, method or both');
    grpcMethod = { type, ...(service !== undefined && { service }), ...(method !== undefined && { method }) };
  }
  return { ...(grpcMethod && { grpcMethod }), headers: valueMatches(r.headers, `${field}.headers`, 'header'), queryParams: [] };
}

function rules(v: unknown, ns: string, grpc: boolean): RouteRuleSpec[] {
  const names = new Set<string>();
  return list(v, 'spec.rules', 16).map((x, i) => {
    const f = `spec.rules[${i}]`;
    const r = rec(x, f);
    const name = optStr(r.name, `${f}.name`, dns1123Label, 63);
    if (name !== undefined) {
      if (names.has(name)) bad(`${f}.name`, `rule name "${name}" is used twice`);
      names.add(name);
    }
    const rawMatches = list(r.matches, `${f}.matches`, grpc ? 64 : 64);
    const matches = rawMatches.length === 0 ? [grpc ? { headers: [], queryParams: [] } : { path: { type: 'PathPrefix' as const, value: '/' }, headers: [], queryParams: [] }] : rawMatches.map((m, j) => (grpc ? grpcMatch(m, `${f}.matches[${j}]`) : httpMatch(m, `${f}.matches[${j}]`)));
    const allPrefix = matches.every((m) => m.path?.type === 'PathPrefix');
    const fs = filters(r.filters, `${f}.filters`, ns, grpc ? GRPC_FILTERS : HTTP_FILTERS, allPrefix);
    const backendRefs = list(r.backendRefs, `${f}.backendRefs`, 16).map((b, j): RouteBackendSpec => {
      const bf = `${f}.backendRefs[${j}]`;
      const br = rec(b, bf);
      const weight = br.weight === undefined ? 1 : int(br.weight, `${bf}.weight`, 0, 1_000_000);
      const bfilters = filters(br.filters, `${bf}.filters`, ns, grpc ? GRPC_FILTERS : HTTP_FILTERS, allPrefix);
      if (bfilters.some((x) => x.type !== 'RequestHeaderModifier' && x.type !== 'ResponseHeaderModifier')) bad(`${bf}.filters`, 'a backendRef takes RequestHeaderModifier and ResponseHeaderModifier filters only (in Trellis)');
      return { ...backendRef(br, bf, ns), weight, filters: bfilters };
    });
    if (fs.some((x) => x.type === 'RequestRedirect') && backendRefs.length > 0) bad(f, 'RequestRedirect and backendRefs cannot be used together');
    let timeouts: RouteRuleSpec['timeouts'];
    if (!grpc && r.timeouts !== undefined) {
      const t = rec(r.timeouts, `${f}.timeouts`);
      const requestMs = durationMs(t.request, `${f}.timeouts.request`);
      const backendRequestMs = durationMs(t.backendRequest, `${f}.timeouts.backendRequest`);
      if (requestMs !== undefined && requestMs > 0 && backendRequestMs !== undefined && (backendRequestMs === 0 || backendRequestMs > requestMs))
        bad(`${f}.timeouts.backendRequest`, 'must not be longer than timeouts.request');
      timeouts = { ...(requestMs !== undefined && { requestMs }), ...(backendRequestMs !== undefined && { backendRequestMs }) };
    }
    return { ...(name !== undefined && { name }), matches, filters: fs, backendRefs, ...(timeouts && { timeouts }) };
  });
}

function parentRefs(v: unknown, ns: string): RouteParentRef[] {
  const seen = new Set<string>();
  return list(v, 'spec.parentRefs', 32).map((x, i) => {
    const f = `spec.parentRefs[${i}]`;
    const r = rec(x, f);
    const group = r.group === undefined ? 'gateway.networking.k8s.io' : typeof r.group === 'string' ? r.group : bad(`${f}.group`, 'must be a string');
    const kind = r.kind === undefined ? 'Gateway' : str(r.kind, `${f}.kind`);
    const isService = group === '' && kind === 'Service';
    const name = str(r.name, `${f}.name`, isService ? dns1035Label : dns1123Subdomain, 253);
    const namespace = r.namespace === undefined ? ns : str(r.namespace, `${f}.namespace`, dns1123Label, 63);
    const p = r.port === undefined ? undefined : port(r.port, `${f}.port`);
    const sectionName = optStr(r.sectionName, `${f}.sectionName`, dns1123Subdomain, 253);
    const key = `${group}/${kind}/${namespace}/${name}/${p ?? ''}/${sectionName ?? ''}`;
    if (seen.has(key)) bad(f, 'the same parent is referenced twice');
    seen.add(key);
    return { group, kind, namespace, name, ...(p !== undefined && { port: p }), ...(sectionName !== undefined && { sectionName }) };
  });
}

export function validateGatewayRoute(kind: 'HTTPRoute' | 'GRPCRoute', obj: KubeObject): RouteValidation {
  const ns = obj.metadata.namespace ?? 'default';
  try {
    const spec = rec(obj.spec, 'spec');
    if (spec.hostnames !== undefined) list(spec.hostnames, 'spec.hostnames', 16).forEach((h, i) => str(h, `spec.hostnames[${i}]`, undefined, 253));
    const parents = parentRefs(spec.parentRefs, ns);
    const out = { ...obj, spec: { ...spec, parentRefs: parents, rules: rules(spec.rules, ns, kind === 'GRPCRoute') } } as GatewayRouteObj;
    if (!parents.some((p) => p.group === '' && p.kind === 'Service'))
      return { obj: out, ignored: 'spec.parentRefs: no parentRef names a Service (group "", kind Service): nothing in the mesh to attach to' };
    return { obj: out };
  } catch (err) {
    if (err instanceof FieldError) return { reason: err.message };
    throw err;
  }
}
