/**
 * The kinds the source watches: what the mesh store understands (core's KNOWN_KINDS; a cross-package test
 * keeps the two equal), one informer per group and kind, at the newest version the API server serves.
 * Policy kinds plugins contribute are added at start (their plural comes from discovery).
 */
export interface WatchedKind {
  readonly group: string;
  readonly kind: string;
  /** Accepted versions, newest last. */
  readonly versions: readonly string[];
  /** Known resource name; discovered when absent. */
  readonly plural?: string;
  readonly namespaced: boolean;
}

export const BUILTIN_KINDS: readonly WatchedKind[] = [
  { group: '', kind: 'Namespace', versions: ['v1'], plural: 'namespaces', namespaced: false },
  { group: '', kind: 'Service', versions: ['v1'], plural: 'services', namespaced: true },
  { group: '', kind: 'Endpoints', versions: ['v1'], plural: 'endpoints', namespaced: true },
  { group: '', kind: 'Pod', versions: ['v1'], plural: 'pods', namespaced: true },
  { group: '', kind: 'ServiceAccount', versions: ['v1'], plural: 'serviceaccounts', namespaced: true },
  { group: 'discovery.k8s.io', kind: 'EndpointSlice', versions: ['v1'], plural: 'endpointslices', namespaced: true },
  { group: 'access.smi-spec.io', kind: 'TrafficTarget', versions: ['v1alpha3'], plural: 'traffictargets', namespaced: true },
  { group: 'specs.smi-spec.io', kind: 'HTTPRouteGroup', versions: ['v1alpha4'], plural: 'httproutegroups', namespaced: true },
  { group: 'specs.smi-spec.io', kind: 'TCPRoute', versions: ['v1alpha4'], plural: 'tcproutes', namespaced: true },
  { group: 'specs.smi-spec.io', kind: 'UDPRoute', versions: ['v1alpha4'], plural: 'udproutes', namespaced: true },
  { group: 'split.smi-spec.io', kind: 'TrafficSplit', versions: ['v1alpha2', 'v1alpha4'], plural: 'trafficsplits', namespaced: true },
  // MeshConfig is namespaced on Kubernetes (it lives in the controller's namespace).
  { group: 'config.trellismesh.io', kind: 'MeshConfig', versions: ['v1alpha1'], plural: 'meshconfigs', namespaced: true },
  { group: 'config.openservicemesh.io', kind: 'MeshConfig', versions: ['v1alpha2'], plural: 'meshconfigs', namespaced: true },
  { group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', versions: ['v1beta1', 'v1'], plural: 'httproutes', namespaced: true },
  { group: 'gateway.networking.k8s.io', kind: 'GRPCRoute', versions: ['v1alpha2', 'v1'], plural: 'grpcroutes', namespaced: true },
  // Traffic policies, in Trellis's group and OSM's (accepted unchanged).
  ...['policy.trellis.io', 'policy.openservicemesh.io'].flatMap((group) => [
    { group, kind: 'Retry', versions: ['v1alpha1'], plural: 'retries', namespaced: true },
    { group, kind: 'UpstreamTrafficSetting', versions: ['v1alpha1'], plural: 'upstreamtrafficsettings', namespaced: true },
    { group, kind: 'IngressBackend', versions: ['v1alpha1'], plural: 'ingressbackends', namespaced: true },
    { group, kind: 'Egress', versions: ['v1alpha1'], plural: 'egresses', namespaced: true },
  ]),
];

export const kindId = (k: Pick<WatchedKind, 'group' | 'kind'>): string => (k.group === '' ? k.kind : `${k.kind}.${k.group}`);

/** Built-in kinds plus the policy kinds (`apiVersion`, `kind`), one entry per group and kind. */
export function watchedKinds(policyKinds: readonly { apiVersion: string; kind: string; namespaced: boolean }[]): WatchedKind[] {
  const out = BUILTIN_KINDS.map((k) => ({ ...k, versions: [...k.versions] }));
  for (const p of policyKinds) {
    const i = p.apiVersion.indexOf('/');
    const group = i < 0 ? '' : p.apiVersion.slice(0, i);
    const version = i < 0 ? p.apiVersion : p.apiVersion.slice(i + 1);
    const known = out.find((k) => k.group === group && k.kind === p.kind);
    if (known) {
      if (!known.versions.includes(version)) known.versions.push(version);
    } else out.push({ group, kind: p.kind, versions: [version], namespaced: p.namespaced });
  }
  return out;
}
