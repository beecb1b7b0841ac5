/**
 * The resource types the fake API server serves, and their discovery documents. Built-in kinds as Kubernetes
 * 1.34 names them; the SMI CRDs, both MeshConfig groups, OSM's policy kinds, Gateway API (GAMMA) routes,
 * TokenReview and MutatingWebhookConfiguration. Tests may add types (`FakeApiServer.start({ types })`).
 */
import type { CrdValidator } from './schemas.ts';
import { smiValidators } from './schemas.ts';

export interface ResourceType {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly plural: string;
  readonly singular?: string;
  readonly namespaced: boolean;
  readonly shortNames?: readonly string[];
  /** Has a `/status` subresource. */
  readonly status?: boolean;
  /** A CRD's openAPIV3Schema check: problems as `field: reason`. */
  readonly validate?: CrdValidator;
}

export const apiVersionOf = (t: Pick<ResourceType, 'group' | 'version'>): string => (t.group === '' ? t.version : `${t.group}/${t.version}`);

const core = (kind: string, plural: string, namespaced: boolean, shortNames: string[] = [], status = false): ResourceType => ({
  group: '',
  version: 'v1',
  kind,
  plural,
  namespaced,
  shortNames,
  status,
});
const crd = (group: string, version: string, kind: string, plural: string, namespaced = true): ResourceType => ({
  group,
  version,
  kind,
  plural,
  namespaced,
  ...(smiValidators[`${group}/${version}/${kind}`] && { validate: smiValidators[`${group}/${version}/${kind}`] }),
});

export const DEFAULT_TYPES: readonly ResourceType[] = [
  core('Namespace', 'namespaces', false, ['ns'], true),
  core('Service', 'services', true, ['svc'], true),
  core('Endpoints', 'endpoints', true, ['ep']),
  core('Pod', 'pods', true, ['po'], true),
  core('ServiceAccount', 'serviceaccounts', true, ['sa']),
  core('Secret', 'secrets', true),
  core('ConfigMap', 'configmaps', true, ['cm']),
  { group: 'discovery.k8s.io', version: 'v1', kind: 'EndpointSlice', plural: 'endpointslices', namespaced: true },
  { group: 'authentication.k8s.io', version: 'v1', kind: 'TokenReview', plural: 'tokenreviews', namespaced: false },
  { group: 'admissionregistration.k8s.io', version: 'v1', kind: 'MutatingWebhookConfiguration', plural: 'mutatingwebhookconfigurations', namespaced: false },
  crd('access.smi-spec.io', 'v1alpha3', 'TrafficTarget', 'traffictargets'),
  crd('specs.smi-spec.io', 'v1alpha4', 'HTTPRouteGroup', 'httproutegroups'),
  crd('specs.smi-spec.io', 'v1alpha4', 'TCPRoute', 'tcproutes'),
  crd('specs.smi-spec.io', 'v1alpha4', 'UDPRoute', 'udproutes'),
  crd('split.smi-spec.io', 'v1alpha2', 'TrafficSplit', 'trafficsplits'),
  crd('split.smi-spec.io', 'v1alpha4', 'TrafficSplit', 'trafficsplits'),
  crd('config.trellismesh.io', 'v1alpha1', 'MeshConfig', 'meshconfigs'),
  crd('config.openservicemesh.io', 'v1alpha2', 'MeshConfig', 'meshconfigs'),
  ...['policy.trellis.io', 'policy.openservicemesh.io'].flatMap((g) => [
    crd(g, 'v1alpha1', 'Egress', 'egresses'),
    crd(g, 'v1alpha1', 'IngressBackend', 'ingressbackends'),
    crd(g, 'v1alpha1', 'Retry', 'retries'),
    crd(g, 'v1alpha1', 'UpstreamTrafficSetting', 'upstreamtrafficsettings'),
  ]),
  { ...crd('gateway.networking.k8s.io', 'v1', 'HTTPRoute', 'httproutes'), status: true },
  { ...crd('gateway.networking.k8s.io', 'v1', 'GRPCRoute', 'grpcroutes'), status: true },
  { ...crd('cert-manager.io', 'v1', 'CertificateRequest', 'certificaterequests'), status: true },
];

const VERBS = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];

/** `/api/v1` or `/apis/<group>/<version>`: an APIResourceList. */
export function resourceList(types: readonly ResourceType[], group: string, version: string): unknown {
  const own = types.filter((t) => t.group === group && t.version === version);
  const resources: unknown[] = [];
  for (const t of own) {
    const verbs = t.kind === 'TokenReview' ? ['create'] : VERBS;
    resources.push({
      name: t.plural,
      singularName: t.singular ?? t.kind.toLowerCase(),
      namespaced: t.namespaced,
      kind: t.kind,
      verbs,
      ...(t.shortNames && t.shortNames.length > 0 && { shortNames: t.shortNames }),
    });
    if (t.status) resources.push({ name: `${t.plural}/status`, singularName: '', namespaced: t.namespaced, kind: t.kind, verbs: ['get', 'patch', 'update'] });
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: apiVersionOf({ group, version }), resources };
}

/** `/apis`: an APIGroupList (the first version listed is the preferred one). */
export function groupList(types: readonly ResourceType[]): unknown {
  const groups = new Map<string, string[]>();
  for (const t of types) {
    if (t.group === '') continue;
    const vs = groups.get(t.group) ?? [];
    if (!vs.includes(t.version)) vs.push(t.version);
    groups.set(t.group, vs);
  }
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: [...groups].map(([name, vs]) => {
      const versions = vs.map((version) => ({ groupVersion: `${name}/${version}`, version }));
      return { name, versions, preferredVersion: versions[versions.length - 1] };
    }),
  };
}
