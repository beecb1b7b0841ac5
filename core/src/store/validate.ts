/**
 * Structural validation of incoming objects, one kind at a time (no cross-object checks here: objects arrive
 * in any order). Returns the normalized object to store or the precise reason (field and why) it is refused.
 * Names follow Kubernetes' rules per kind and field (k8s-names.ts); regular expressions RE2's (re2.ts).
 */
import { isIP } from 'node:net';
import { apiGroup, parseDuration } from '@trellis/plugin-sdk';
import type { KubeObject } from '@trellis/plugin-sdk';
import { ANNOTATIONS_MAX_BYTES, dns1035Label, dns1123Label, dns1123Subdomain, ianaServiceName, labelValue, qualifiedName } from './k8s-names.ts';
import { KNOWN_KINDS, NAMESPACED } from './kinds.ts';
import type { MeshConfigSettings, MeshKind } from './kinds.ts';
import { DEFAULT_MESH_SETTINGS } from './kinds.ts';
import { validateGatewayRoute } from './gateway-validate.ts';
import { checkPolicy } from './policy-validate.ts';
import { re2Problem } from './re2.ts';
import { show, shortText } from './show.ts';
import { telemetrySettings } from './telemetry-settings.ts';

export type Validation =
  | { readonly outcome: 'accepted' | 'ignored'; readonly kind: MeshKind; readonly obj: KubeObject; readonly reason?: string }
  | { readonly outcome: 'invalid'; readonly kind: MeshKind; readonly reason: string }
  | { readonly outcome: 'unknown'; readonly reason: string };

class Invalid extends Error {}

const HTTP_METHODS = new Set(['*', 'GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']);
/** Envoy's HTTP_HEADER_NAME (RFC 7230 token, optional leading `:` for pseudo-headers). */
const HEADER_NAME = /^:?[0-9a-zA-Z!#$%&'*+\-.^_|~`]{1,256}$/;
/** HTTPRouteGroup match names (no Kubernetes rule: they end up in xDS route and policy names). */
const MATCH_NAME = /^[\x21-\x7e]{1,253}$/;
/** Envoy and gRPC read split weights as uint32, and so their sum. */
const MAX_WEIGHT = 0xffff_ffff;
/** MeshConfig certificate validity bounds: shorter would issue certificates in a loop; longer is no rotation. */
export const MIN_CERT_VALIDITY_MS = 60_000;
export const MAX_CERT_VALIDITY_MS = 87_600 * 3600_000;

type Rule = (v: string) => string | undefined;
const matchName: Rule = (v) => (MATCH_NAME.test(v) ? undefined : `${show(v)} must be 1-253 printable ASCII characters without spaces`);
const ipAddress: Rule = (v) => (isIP(v) ? undefined : `${show(v)} is not an IP address`);

/** metadata.name per kind, as the API server validates it. */
const NAME_RULE: Readonly<Partial<Record<MeshKind, Rule>>> = { Namespace: dns1123Label, Service: dns1035Label };

type Rec = Record<string, unknown>;
const isRec = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);

function bad(field: string, why: string): never {
  throw new Invalid(`${field}: ${why}`);
}

function rec(v: unknown, field: string, optional = false): Rec | undefined {
  if (v === undefined && optional) return undefined;
  if (!isRec(v)) bad(field, v === undefined ? 'is required' : 'must be a map');
  return v;
}

function list(v: unknown, field: string, opts: { optional?: boolean; min?: number } = {}): unknown[] {
  if (v === undefined || v === null) {
    if (opts.optional) return [];
    bad(field, 'is required');
  }
  if (!Array.isArray(v)) bad(field, 'must be a list');
  if (opts.min !== undefined && v.length < opts.min) bad(field, `must have at least ${opts.min} item(s)`);
  return v;
}

function str(v: unknown, field: string, rule?: Rule): string {
  if (typeof v !== 'string' || v === '') bad(field, v === undefined ? 'is required' : 'must be a non-empty string');
  const why = rule?.(v);
  if (why) bad(field, why);
  return v;
}

/** Labels (and a Service's selector): qualified-name keys, label values. */
function labels(v: unknown, field: string): void {
  for (const [k, val] of Object.entries(rec(v, field, true) ?? {})) {
    const why = qualifiedName(k);
    if (why) bad(field, `key ${why}`);
    if (typeof val !== 'string') bad(`${field}.${k}`, 'must be a string');
    const vwhy = labelValue(val);
    if (vwhy) bad(`${field}.${k}`, vwhy);
  }
}

function annotations(v: unknown, field: string): void {
  let bytes = 0;
  for (const [k, val] of Object.entries(rec(v, field, true) ?? {})) {
    const why = qualifiedName(k.toLowerCase());
    if (why) bad(field, `key ${why}`);
    if (typeof val !== 'string') bad(`${field}.${k}`, 'must be a string');
    bytes += Buffer.byteLength(k) + Buffer.byteLength(val);
  }
  if (bytes > ANNOTATIONS_MAX_BYTES) bad(field, `keys and values must total at most ${ANNOTATIONS_MAX_BYTES} bytes, got ${bytes}`);
}

function protocol(v: unknown, field: string): void {
  if (v !== undefined && v !== 'TCP' && v !== 'UDP' && v !== 'SCTP') bad(field, `must be TCP, UDP or SCTP, got ${show(v)}`);
}

function port(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 65535) bad(field, `must be a port number 1-65535, got ${show(v)}`);
  return v;
}

function regex(v: unknown, field: string): string | undefined {
  if (v === undefined) return undefined;
  const s = typeof v === 'string' ? v : bad(field, 'must be a string');
  const problem = re2Problem(s);
  if (problem) bad(field, problem);
  return s;
}

/** What kind (if any) `apiVersion`/`kind` name. */
export function kindOf(obj: { apiVersion?: unknown; kind?: unknown }): MeshKind | undefined {
  if (typeof obj.apiVersion !== 'string' || typeof obj.kind !== 'string') return undefined;
  const group = apiGroup(obj.apiVersion);
  const version = obj.apiVersion.slice(obj.apiVersion.indexOf('/') + 1);
  const versions = KNOWN_KINDS[group]?.[obj.kind as MeshKind];
  return versions?.includes(version) ? (obj.kind as MeshKind) : undefined;
}

export function validateObject(input: KubeObject): Validation {
  if (!isRec(input)) return { outcome: 'unknown', reason: 'not an object: ignored' };
  const kind = kindOf(input);
  if (!kind) return { outcome: 'unknown', reason: `unknown kind ${shortText(input.apiVersion, 80)}/${shortText(input.kind, 80)}: ignored` };
  try {
    const meta = rec(input.metadata, 'metadata') ?? {};
    str(meta.name, 'metadata.name', NAME_RULE[kind] ?? dns1123Subdomain);
    let obj: KubeObject = input;
    if (NAMESPACED.has(kind)) {
      // Like `kubectl apply`, a namespaced object without a namespace lands in `default`.
      const ns = meta.namespace === undefined ? 'default' : str(meta.namespace, 'metadata.namespace', dns1123Label);
      obj = { ...input, metadata: { ...input.metadata, namespace: ns } };
    } else if (meta.namespace !== undefined && kind !== 'MeshConfig') {
      bad('metadata.namespace', `${kind} is cluster-scoped`);
    } else if (meta.namespace !== undefined) {
      str(meta.namespace, 'metadata.namespace', dns1123Label);
    }
    labels(meta.labels, 'metadata.labels');
    annotations(meta.annotations, 'metadata.annotations');
    return check(kind, obj);
  } catch (err) {
    if (err instanceof Invalid) return { outcome: 'invalid', kind, reason: err.message };
    throw err;
  }
}

function check(kind: MeshKind, obj: KubeObject): Validation {
  const ns = obj.metadata.namespace ?? '';
  switch (kind) {
    case 'Service': {
      const spec = rec(obj.spec, 'spec') ?? {};
      const ports = list(spec.ports, 'spec.ports', { optional: true });
      const names = new Set<string>();
      const numbers = new Set<string>();
      ports.forEach((p, i) => {
        const f = `spec.ports[${i}]`;
        const r = rec(p, f) ?? {};
        const n = port(r.port, `${f}.port`);
        protocol(r.protocol, `${f}.protocol`);
        const pn = `${n}/${typeof r.protocol === 'string' ? r.protocol : 'TCP'}`;
        if (numbers.has(pn)) bad(`${f}.port`, `duplicate port ${pn}`);
        numbers.add(pn);
        // Kubernetes: a port name is a DNS-1123 label, required (and unique) when the Service has several.
        if (r.name === undefined || r.name === '') {
          if (ports.length > 1) bad(`${f}.name`, 'is required when a Service has several ports');
        } else {
          const name = str(r.name, `${f}.name`, dns1123Label);
          if (names.has(name)) bad(`${f}.name`, `duplicate port name "${name}"`);
          names.add(name);
        }
        if (r.appProtocol !== undefined) str(r.appProtocol, `${f}.appProtocol`, qualifiedName);
        if (typeof r.targetPort === 'string') str(r.targetPort, `${f}.targetPort`, ianaServiceName);
        else if (r.targetPort !== undefined) port(r.targetPort, `${f}.targetPort`);
      });
      if (spec.selector !== undefined) labels(spec.selector, 'spec.selector');
      if (spec.clusterIP !== undefined && spec.clusterIP !== 'None' && spec.clusterIP !== '') str(spec.clusterIP, 'spec.clusterIP', ipAddress);
      list(spec.clusterIPs, 'spec.clusterIPs', { optional: true }).forEach((ip, i) => {
        if (ip !== 'None') str(ip, `spec.clusterIPs[${i}]`, ipAddress);
      });
      return { outcome: 'accepted', kind, obj };
    }
    case 'EndpointSlice': {
      // Trellis programs endpoints as socket addresses: FQDN slices (which Kubernetes allows) are refused.
      const at = obj.addressType;
      if (at !== undefined && at !== 'IPv4' && at !== 'IPv6') bad('addressType', `must be IPv4 or IPv6 (Trellis needs IP endpoints), got ${show(at)}`);
      list(obj.endpoints, 'endpoints', { optional: true }).forEach((e, i) => {
        const r = rec(e, `endpoints[${i}]`) ?? {};
        list(r.addresses, `endpoints[${i}].addresses`).forEach((a, j) => str(a, `endpoints[${i}].addresses[${j}]`, ipAddress));
        if (r.targetRef !== undefined) targetRef(r.targetRef, `endpoints[${i}].targetRef`);
      });
      list(obj.ports, 'ports', { optional: true }).forEach((p, i) => {
        const r = rec(p, `ports[${i}]`) ?? {};
        if (r.port !== undefined && r.port !== null) port(r.port, `ports[${i}].port`);
        if (r.name !== undefined && r.name !== '') str(r.name, `ports[${i}].name`, dns1123Label);
        protocol(r.protocol, `ports[${i}].protocol`);
      });
      return { outcome: 'accepted', kind, obj };
    }
    case 'Endpoints': {
      list(obj.subsets, 'subsets', { optional: true }).forEach((s, i) => {
        const r = rec(s, `subsets[${i}]`) ?? {};
        for (const key of ['addresses', 'notReadyAddresses'])
          list(r[key], `subsets[${i}].${key}`, { optional: true }).forEach((a, j) => {
            const f = `subsets[${i}].${key}[${j}]`;
            const ar = rec(a, f) ?? {};
            str(ar.ip, `${f}.ip`, ipAddress);
            if (ar.targetRef !== undefined) targetRef(ar.targetRef, `${f}.targetRef`);
          });
        list(r.ports, `subsets[${i}].ports`, { optional: true }).forEach((p, j) => port(rec(p, `subsets[${i}].ports[${j}]`)?.port, `subsets[${i}].ports[${j}].port`));
      });
      return { outcome: 'accepted', kind, obj };
    }
    case 'Pod': {
      const spec = rec(obj.spec, 'spec', true);
      if (spec?.serviceAccountName !== undefined) str(spec.serviceAccountName, 'spec.serviceAccountName', dns1123Subdomain);
      if (spec?.serviceAccount !== undefined) str(spec.serviceAccount, 'spec.serviceAccount', dns1123Subdomain);
      const status = rec(obj.status, 'status', true);
      if (status?.podIP !== undefined && status.podIP !== '') str(status.podIP, 'status.podIP', ipAddress);
      list(status?.podIPs, 'status.podIPs', { optional: true }).forEach((p, i) => str(rec(p, `status.podIPs[${i}]`)?.ip, `status.podIPs[${i}].ip`, ipAddress));
      return { outcome: 'accepted', kind, obj };
    }
    case 'Namespace':
    case 'ServiceAccount':
      return { outcome: 'accepted', kind, obj };
    case 'TrafficTarget':
      return trafficTarget(obj, ns);
    case 'HTTPRouteGroup':
      return httpRouteGroup(obj);
    case 'TCPRoute':
    case 'UDPRoute': {
      const spec = rec(obj.spec, 'spec') ?? {};
      const m = rec(spec.matches, 'spec.matches', true);
      if (m) {
        if (m.name !== undefined) str(m.name, 'spec.matches.name', matchName);
        list(m.ports, 'spec.matches.ports', { optional: true }).forEach((p, i) => port(p, `spec.matches.ports[${i}]`));
      }
      return { outcome: 'accepted', kind, obj };
    }
    case 'TrafficSplit':
      return trafficSplit(obj);
    case 'MeshConfig':
      meshConfigSettings(obj);
      return { outcome: 'accepted', kind, obj };
    case 'HTTPRoute':
    case 'GRPCRoute': {
      const r = validateGatewayRoute(kind, obj);
      if ('reason' in r) return { outcome: 'invalid', kind, reason: r.reason };
      return r.ignored === undefined ? { outcome: 'accepted', kind, obj: r.obj } : { outcome: 'ignored', kind, obj: r.obj, reason: r.ignored };
    }
    case 'Retry':
    case 'UpstreamTrafficSetting':
    case 'IngressBackend':
    case 'Egress': {
      const r = checkPolicy(kind, obj);
      return r.ok ? { outcome: 'accepted', kind, obj: r.obj } : { outcome: 'invalid', kind, reason: r.reason };
    }
  }
}

function subject(v: unknown, field: string, defaultNs: string): { kind: 'ServiceAccount'; name: string; namespace: string } {
  const r = rec(v, field) ?? {};
  if (r.kind !== 'ServiceAccount') bad(`${field}.kind`, `must be ServiceAccount, got ${show(r.kind)}`);
  const name = str(r.name, `${field}.name`, dns1123Subdomain);
  const namespace = r.namespace === undefined ? defaultNs : str(r.namespace, `${field}.namespace`, dns1123Label);
  return { kind: 'ServiceAccount', name, namespace };
}

/** An endpoint's pod reference (the catalog reads its name and namespace). */
function targetRef(v: unknown, field: string): void {
  const r = rec(v, field) ?? {};
  str(r.name, `${field}.name`, dns1123Subdomain);
  if (r.namespace !== undefined) str(r.namespace, `${field}.namespace`, dns1123Label);
}

function trafficTarget(obj: KubeObject, ns: string): Validation {
  const spec = rec(obj.spec, 'spec') ?? {};
  const destination = subject(spec.destination, 'spec.destination', ns);
  const sources = list(spec.sources, 'spec.sources', { min: 1 }).map((s, i) => subject(s, `spec.sources[${i}]`, ns));
  const rules = list(spec.rules, 'spec.rules', { min: 1 }).map((r, i) => {
    const f = `spec.rules[${i}]`;
    const rr = rec(r, f) ?? {};
    if (rr.kind !== 'HTTPRouteGroup' && rr.kind !== 'TCPRoute' && rr.kind !== 'UDPRoute')
      bad(`${f}.kind`, `unknown rule kind ${show(rr.kind)} (HTTPRouteGroup, TCPRoute or UDPRoute)`);
    const name = str(rr.name, `${f}.name`, dns1123Subdomain);
    const matches = rr.matches === undefined ? undefined : list(rr.matches, `${f}.matches`).map((m, j) => str(m, `${f}.matches[${j}]`, matchName));
    return matches ? { kind: rr.kind, name, matches } : { kind: rr.kind, name };
  });
  const out = { ...obj, spec: { ...spec, destination, sources, rules } };
  if (destination.namespace !== ns)
    return {
      outcome: 'ignored',
      kind: 'TrafficTarget',
      obj: out,
      reason: `spec.destination.namespace: "${destination.namespace}" differs from the TrafficTarget's namespace "${ns}" (access is enforced in the destination's namespace)`,
    };
  return { outcome: 'accepted', kind: 'TrafficTarget', obj: out };
}

function headersOf(v: unknown, field: string): Record<string, string> | undefined {
  if (v === undefined) return undefined;
  // The spec text writes a map, smi-sdk-go's CRD a list of one-entry maps: accept both.
  const maps = Array.isArray(v) ? v.map((m, i) => rec(m, `${field}[${i}]`) ?? {}) : [rec(v, field) ?? {}];
  const out: Record<string, string> = {};
  for (const m of maps)
    for (const [k, val] of Object.entries(m)) {
      if (!HEADER_NAME.test(k)) bad(field, `${show(k)} is not a valid HTTP header name`);
      const re = regex(val, `${field}.${k}`);
      if (re !== undefined) out[k.toLowerCase()] = re;
    }
  return out;
}

function httpRouteGroup(obj: KubeObject): Validation {
  const spec = rec(obj.spec, 'spec') ?? {};
  const seen = new Set<string>();
  const matches = list(spec.matches, 'spec.matches', { min: 1 }).map((m, i) => {
    const f = `spec.matches[${i}]`;
    const r = rec(m, f) ?? {};
    const name = str(r.name, `${f}.name`, matchName);
    if (seen.has(name)) bad(`${f}.name`, `duplicate match name "${name}"`);
    seen.add(name);
    const pathRegex = regex(r.pathRegex, `${f}.pathRegex`);
    const methods =
      r.methods === undefined
        ? undefined
        : list(r.methods, `${f}.methods`).map((x, j) => {
            const mm = str(x, `${f}.methods[${j}]`).toUpperCase();
            if (!HTTP_METHODS.has(mm)) bad(`${f}.methods[${j}]`, `unknown HTTP method ${show(mm)}`);
            return mm;
          });
    const headers = headersOf(r.headers, `${f}.headers`);
    return { name, ...(pathRegex !== undefined && { pathRegex }), ...(methods && { methods }), ...(headers && { headers }) };
  });
  return { outcome: 'accepted', kind: 'HTTPRouteGroup', obj: { ...obj, spec: { ...spec, matches } } };
}

function trafficSplit(obj: KubeObject): Validation {
  const spec = rec(obj.spec, 'spec') ?? {};
  const root = str(spec.service, 'spec.service', dns1035Label);
  const seen = new Set<string>();
  const backends = list(spec.backends, 'spec.backends', { min: 1 }).map((b, i) => {
    const f = `spec.backends[${i}]`;
    const r = rec(b, f) ?? {};
    const service = str(r.service, `${f}.service`, dns1035Label);
    if (seen.has(service)) bad(`${f}.service`, `backend "${service}" is listed twice`);
    seen.add(service);
    const w = r.weight;
    if (typeof w !== 'number' || !Number.isInteger(w)) bad(`${f}.weight`, `must be an integer, got ${show(w)}`);
    if (w < 0) bad(`${f}.weight`, `must not be negative, got ${w}`);
    if (w > MAX_WEIGHT) bad(`${f}.weight`, `must be at most ${MAX_WEIGHT}, got ${w}`);
    return { service, weight: w };
  });
  const total = backends.reduce((n, b) => n + b.weight, 0);
  if (total > MAX_WEIGHT) bad('spec.backends', `the weights add up to ${total}, more than ${MAX_WEIGHT} (proxies add them as uint32)`);
  if (backends.every((b) => b.weight === 0)) bad('spec.backends', 'every weight is 0: the split would send traffic nowhere');
  // A root may be one of its backends; a split whose only weighted backend is its root splits nothing.
  if (backends.filter((b) => b.weight > 0).every((b) => b.service === root))
    bad('spec.backends', `the split references only itself (every weighted backend is the root service "${root}")`);
  let matches: { kind: 'HTTPRouteGroup'; name: string }[] | undefined;
  if (spec.matches !== undefined) {
    if (obj.apiVersion.endsWith('/v1alpha2')) bad('spec.matches', 'matches need split.smi-spec.io/v1alpha4');
    matches = list(spec.matches, 'spec.matches').map((m, i) => {
      const r = rec(m, `spec.matches[${i}]`) ?? {};
      if (r.kind !== 'HTTPRouteGroup') bad(`spec.matches[${i}].kind`, `must be HTTPRouteGroup, got ${show(r.kind)}`);
      return { kind: 'HTTPRouteGroup' as const, name: str(r.name, `spec.matches[${i}].name`, dns1123Subdomain) };
    });
  }
  return { outcome: 'accepted', kind: 'TrafficSplit', obj: { ...obj, spec: { ...spec, service: root, backends, ...(matches && { matches }) } } };
}

/** Reads a (validated or not) MeshConfig's settings; throws `Invalid` on a bad field. */
export function meshConfigSettings(obj: KubeObject, defaults: MeshConfigSettings = DEFAULT_MESH_SETTINGS): MeshConfigSettings {
  const spec = rec(obj.spec, 'spec', true) ?? {};
  const traffic = rec(spec.traffic, 'spec.traffic', true) ?? {};
  const cert = rec(spec.certificate, 'spec.certificate', true) ?? {};
  const bool = (v: unknown, f: string, d: boolean): boolean => (v === undefined ? d : typeof v === 'boolean' ? v : bad(f, 'must be true or false'));
  let validity = defaults.serviceCertValidityMs;
  if (cert.serviceCertValidityDuration !== undefined) {
    const ms = typeof cert.serviceCertValidityDuration === 'string' ? parseDuration(cert.serviceCertValidityDuration) : undefined;
    const f = 'spec.certificate.serviceCertValidityDuration';
    const got = show(cert.serviceCertValidityDuration);
    if (ms === undefined || !Number.isFinite(ms)) bad(f, `must be a duration like 24h, got ${got}`);
    if (ms < MIN_CERT_VALIDITY_MS) bad(f, `must be at least 1m, got ${got}`);
    if (ms > MAX_CERT_VALIDITY_MS) bad(f, `must be at most 87600h (10 years), got ${got}`);
    validity = ms;
  }
  let bits = defaults.certKeyBitSize;
  if (cert.certKeyBitSize !== undefined) {
    const b = cert.certKeyBitSize;
    if (typeof b !== 'number' || !Number.isInteger(b) || b < 2048 || b > 4096) bad('spec.certificate.certKeyBitSize', `must be an integer 2048-4096, got ${show(b)}`);
    bits = b;
  }
  const trustDomain = cert.trustDomain === undefined ? defaults.trustDomain : str(cert.trustDomain, 'spec.certificate.trustDomain', dns1123Subdomain);
  return {
    permissive: bool(traffic.enablePermissiveTrafficPolicyMode, 'spec.traffic.enablePermissiveTrafficPolicyMode', defaults.permissive),
    egress: bool(traffic.enableEgress, 'spec.traffic.enableEgress', defaults.egress),
    trustDomain,
    serviceCertValidityMs: validity,
    certKeyBitSize: bits,
    ...telemetryField(telemetrySettings(spec, bad, show)),
  };
}

const telemetryField = (t: MeshConfigSettings['telemetry']) => (t ? { telemetry: t } : {});
