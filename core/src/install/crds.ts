/**
 * CustomResourceDefinitions (apiextensions.k8s.io/v1) for the kinds the mesh store reads: SMI's
 * TrafficTarget, HTTPRouteGroup, TCPRoute, UDPRoute, TrafficSplit, Trellis' MeshConfig and traffic policy kinds.
 * The OpenAPI schemas are structural and state what the store's validation requires, so the API server refuses
 * the grossest mistakes before the controller sees them (which still validates and explains everything).
 * Kinds other projects define (Gateway API routes, OSM's groups) are read, not installed: `FOREIGN_KINDS`.
 */
type Schema = Record<string, unknown>;

const str = (extra: Schema = {}): Schema => ({ type: 'string', ...extra });
const int = (extra: Schema = {}): Schema => ({ type: 'integer', ...extra });
const obj = (properties: Record<string, Schema>, required: string[] = [], extra: Schema = {}): Schema => ({ type: 'object', properties, ...(required.length ? { required } : {}), ...extra });
const arr = (items: Schema, extra: Schema = {}): Schema => ({ type: 'array', items, ...extra });

const port = int({ minimum: 1, maximum: 65535 });
const subject = obj({ kind: str({ enum: ['ServiceAccount'] }), name: str({ minLength: 1 }), namespace: str(), port }, ['kind', 'name']);
const routeRef = obj({ kind: str({ minLength: 1 }), name: str({ minLength: 1 }), matches: arr(str()) }, ['kind', 'name']);
const l4Route = obj({ spec: obj({ matches: obj({ name: str(), ports: arr(port) }) }) });

const trafficTarget = obj({
  spec: obj({ destination: subject, sources: arr(subject, { minItems: 1 }), rules: arr(routeRef, { minItems: 1 }) }, ['destination', 'sources', 'rules']),
});
const httpRouteGroup = obj({
  spec: obj(
    {
      matches: arr(
        obj({ name: str({ minLength: 1 }), pathRegex: str(), methods: arr(str()), headers: { 'x-kubernetes-preserve-unknown-fields': true } }, ['name']),
        { minItems: 1 },
      ),
    },
    ['matches'],
  ),
});
const split = (withMatches: boolean): Schema =>
  obj({
    spec: obj(
      {
        service: str({ minLength: 1 }),
        backends: arr(obj({ service: str({ minLength: 1 }), weight: int({ minimum: 0 }) }, ['service', 'weight']), { minItems: 1 }),
        ...(withMatches ? { matches: arr(obj({ kind: str(), name: str() }, ['kind', 'name'])) } : {}),
      },
      ['service', 'backends'],
    ),
  });
const meshConfig = obj({ spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } });
// The policy kinds' fields are many and versioned with OSM's; the controller's validation names the bad one.
const policy = obj({ spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } }, ['spec']);
const POLICY_KINDS: [kind: string, plural: string][] = [
  ['Retry', 'retries'],
  ['UpstreamTrafficSetting', 'upstreamtrafficsettings'],
  ['IngressBackend', 'ingressbackends'],
  ['Egress', 'egresses'],
];

interface Crd {
  group: string;
  kind: string;
  plural: string;
  shortNames?: string[];
  scope: 'Namespaced' | 'Cluster';
  versions: { name: string; schema: Schema; storage: boolean }[];
}

const DEFS: Crd[] = [
  { group: 'access.smi-spec.io', kind: 'TrafficTarget', plural: 'traffictargets', shortNames: ['tt'], scope: 'Namespaced', versions: [{ name: 'v1alpha3', schema: trafficTarget, storage: true }] },
  { group: 'specs.smi-spec.io', kind: 'HTTPRouteGroup', plural: 'httproutegroups', shortNames: ['htr'], scope: 'Namespaced', versions: [{ name: 'v1alpha4', schema: httpRouteGroup, storage: true }] },
  { group: 'specs.smi-spec.io', kind: 'TCPRoute', plural: 'tcproutes', scope: 'Namespaced', versions: [{ name: 'v1alpha4', schema: l4Route, storage: true }] },
  { group: 'specs.smi-spec.io', kind: 'UDPRoute', plural: 'udproutes', scope: 'Namespaced', versions: [{ name: 'v1alpha4', schema: l4Route, storage: true }] },
  {
    group: 'split.smi-spec.io',
    kind: 'TrafficSplit',
    plural: 'trafficsplits',
    shortNames: ['ts'],
    scope: 'Namespaced',
    versions: [
      { name: 'v1alpha2', schema: split(false), storage: false },
      { name: 'v1alpha4', schema: split(true), storage: true },
    ],
  },
  { group: 'config.trellismesh.io', kind: 'MeshConfig', plural: 'meshconfigs', scope: 'Namespaced', versions: [{ name: 'v1alpha1', schema: meshConfig, storage: true }] },
  ...POLICY_KINDS.map(([kind, plural]): Crd => ({ group: 'policy.trellis.io', kind, plural, scope: 'Namespaced', versions: [{ name: 'v1alpha1', schema: policy, storage: true }] })),
];

/** Kinds the controller reads whose CRDs come with their own project (Gateway API's release, OSM's). */
export const FOREIGN_KINDS: readonly { group: string; plurals: string[] }[] = [
  { group: 'gateway.networking.k8s.io', plurals: ['httproutes', 'grpcroutes'] },
  { group: 'config.openservicemesh.io', plurals: ['meshconfigs'] },
  { group: 'policy.openservicemesh.io', plurals: POLICY_KINDS.map(([, plural]) => plural) },
];

/** Every CRD object, ready to serialise. */
export function crds(): Record<string, unknown>[] {
  return DEFS.map((d) => ({
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${d.plural}.${d.group}`, labels: { 'app.kubernetes.io/part-of': 'trellis' } },
    spec: {
      group: d.group,
      scope: d.scope,
      names: { kind: d.kind, plural: d.plural, singular: d.kind.toLowerCase(), listKind: `${d.kind}List`, ...(d.shortNames ? { shortNames: d.shortNames } : {}) },
      versions: d.versions.map((v) => ({ name: v.name, served: true, storage: v.storage, schema: { openAPIV3Schema: v.schema } })),
    },
  }));
}

/** The API groups and plurals of the CRDs (for RBAC). */
export function crdResources(): { group: string; plurals: string[] }[] {
  const m = new Map<string, string[]>();
  for (const d of DEFS) m.set(d.group, [...(m.get(d.group) ?? []), d.plural]);
  return [...m].map(([group, plurals]) => ({ group, plurals }));
}
