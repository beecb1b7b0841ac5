/**
 * Typed shapes of the object kinds the mesh store understands: only the fields Trellis reads. Objects are
 * validated (validate.ts) before they are stored, so these types hold for everything the store returns.
 */
import type { KubeObject, MeshTelemetry } from '@trellis/plugin-sdk';
import type { GatewayRouteObj } from './gateway-kinds.ts';
import type { EgressObj, IngressBackendObj, RetryObj, UpstreamTrafficSettingObj } from './policy-types.ts';

/** The store's kind names (one per kind, whatever the version or alias group). */
export type MeshKind =
  | 'Namespace'
  | 'Service'
  | 'EndpointSlice'
  | 'Endpoints'
  | 'Pod'
  | 'ServiceAccount'
  | 'TrafficTarget'
  | 'HTTPRouteGroup'
  | 'TCPRoute'
  | 'UDPRoute'
  | 'TrafficSplit'
  | 'MeshConfig'
  | 'HTTPRoute'
  | 'GRPCRoute'
  | 'Retry'
  | 'UpstreamTrafficSetting'
  | 'IngressBackend'
  | 'Egress';

/** group -> kind -> accepted versions. */
export const KNOWN_KINDS: Readonly<Record<string, Readonly<Partial<Record<MeshKind, readonly string[]>>>>> = {
  '': { Namespace: ['v1'], Service: ['v1'], Endpoints: ['v1'], Pod: ['v1'], ServiceAccount: ['v1'] },
  'discovery.k8s.io': { EndpointSlice: ['v1'] },
  'access.smi-spec.io': { TrafficTarget: ['v1alpha3'] },
  'specs.smi-spec.io': { HTTPRouteGroup: ['v1alpha4'], TCPRoute: ['v1alpha4'], UDPRoute: ['v1alpha4'] },
  'split.smi-spec.io': { TrafficSplit: ['v1alpha2', 'v1alpha4'] },
  'config.trellismesh.io': { MeshConfig: ['v1alpha1'] },
  // OSM's MeshConfig, accepted unchanged so an OSM user's manifests work.
  'config.openservicemesh.io': { MeshConfig: ['v1alpha2'] },
  // Gateway API routes for the mesh (GAMMA): the older versions have the same shape.
  'gateway.networking.k8s.io': { HTTPRoute: ['v1', 'v1beta1'], GRPCRoute: ['v1', 'v1alpha2'] },
  // Traffic policies (policy-types.ts); OSM's group accepted unchanged.
  'policy.trellis.io': { Retry: ['v1alpha1'], UpstreamTrafficSetting: ['v1alpha1'], IngressBackend: ['v1alpha1'], Egress: ['v1alpha1'] },
  'policy.openservicemesh.io': { Retry: ['v1alpha1'], UpstreamTrafficSetting: ['v1alpha1'], IngressBackend: ['v1alpha1'], Egress: ['v1alpha1'] },
};

/** The API groups of the traffic policy kinds. */
export const POLICY_GROUPS = ['policy.trellis.io', 'policy.openservicemesh.io'] as const;

/** Kinds listed by `policyStatuses()` (SMI policy and mesh configuration). */
export const POLICY_KINDS: ReadonlySet<MeshKind> = new Set<MeshKind>([
  'TrafficTarget',
  'HTTPRouteGroup',
  'TCPRoute',
  'UDPRoute',
  'TrafficSplit',
  'MeshConfig',
  'HTTPRoute',
  'GRPCRoute',
  'Retry',
  'UpstreamTrafficSetting',
  'IngressBackend',
  'Egress',
]);

export const NAMESPACED: ReadonlySet<MeshKind> = new Set<MeshKind>([
  'Service',
  'EndpointSlice',
  'Endpoints',
  'Pod',
  'ServiceAccount',
  'TrafficTarget',
  'HTTPRouteGroup',
  'TCPRoute',
  'UDPRoute',
  'TrafficSplit',
  'HTTPRoute',
  'GRPCRoute',
  'Retry',
  'UpstreamTrafficSetting',
  'IngressBackend',
  'Egress',
]);

interface Namespaced extends KubeObject {
  metadata: KubeObject['metadata'] & { namespace: string };
}

export type NamespaceObj = KubeObject;

export interface ServicePortSpec {
  name?: string;
  port: number;
  targetPort?: number | string;
  protocol?: 'TCP' | 'UDP' | 'SCTP';
  appProtocol?: string;
}

export interface ServiceObj extends Namespaced {
  spec: { selector?: Record<string, string>; ports: ServicePortSpec[]; clusterIP?: string; clusterIPs?: string[] };
}

export interface ObjectRef {
  kind?: string;
  name: string;
  namespace?: string;
}

export interface SliceEndpoint {
  addresses: string[];
  conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean };
  targetRef?: ObjectRef;
}

export interface SlicePort {
  name?: string;
  port?: number;
  protocol?: string;
  appProtocol?: string;
}

export interface EndpointSliceObj extends Namespaced {
  addressType?: string;
  endpoints?: SliceEndpoint[];
  ports?: SlicePort[];
}

export interface EndpointAddress {
  ip: string;
  targetRef?: ObjectRef;
}

export interface EndpointsObj extends Namespaced {
  subsets?: { addresses?: EndpointAddress[]; notReadyAddresses?: EndpointAddress[]; ports?: SlicePort[] }[];
}

export interface PodObj extends Namespaced {
  spec?: { serviceAccountName?: string; serviceAccount?: string; containers?: { ports?: { name?: string; containerPort: number }[] }[] };
  status?: { podIP?: string; podIPs?: { ip: string }[] };
}

export type ServiceAccountObj = Namespaced;

export interface TargetSubject {
  kind: 'ServiceAccount';
  name: string;
  namespace: string;
}

export interface TrafficTargetRule {
  kind: 'HTTPRouteGroup' | 'TCPRoute' | 'UDPRoute';
  name: string;
  matches?: string[];
}

export interface TrafficTargetObj extends Namespaced {
  spec: { destination: TargetSubject; sources: TargetSubject[]; rules: TrafficTargetRule[] };
}

export interface HttpRouteMatchSpec {
  name: string;
  pathRegex?: string;
  methods?: string[];
  /** Normalized to a map (the CRD writes a list of one-entry maps, the spec text a map). */
  headers?: Record<string, string>;
}

export interface HTTPRouteGroupObj extends Namespaced {
  spec: { matches: HttpRouteMatchSpec[] };
}

export interface PortRouteObj extends Namespaced {
  spec: { matches?: { name?: string; ports?: number[] } };
}

export interface SplitBackend {
  service: string;
  weight: number;
}

export interface TrafficSplitObj extends Namespaced {
  spec: { service: string; backends: SplitBackend[]; matches?: { kind: 'HTTPRouteGroup'; name: string }[] };
}

/** The view-relevant and certificate settings of a MeshConfig, after defaults. */
export interface MeshConfigSettings {
  readonly permissive: boolean;
  readonly egress: boolean;
  readonly trustDomain: string;
  /** Workload certificate validity in ms (`spec.certificate.serviceCertValidityDuration`, default 24h). */
  readonly serviceCertValidityMs: number;
  /** `spec.certificate.certKeyBitSize` (RSA), default 2048. */
  readonly certKeyBitSize: number;
  /** `spec.observability.tracing` / `.accessLog` for proxies; absent: none. */
  readonly telemetry?: MeshTelemetry;
}

export interface MeshConfigObj extends KubeObject {
  spec?: {
    traffic?: { enablePermissiveTrafficPolicyMode?: boolean; enableEgress?: boolean };
    certificate?: { serviceCertValidityDuration?: string; certKeyBitSize?: number; trustDomain?: string };
    observability?: { tracing?: { enable?: boolean; address?: string; port?: number; endpoint?: string; samplingPercentage?: number }; accessLog?: { enable?: boolean; format?: string; address?: string; port?: number }; [key: string]: unknown };
    [key: string]: unknown;
  };
}

export type { GatewayRouteObj } from './gateway-kinds.ts';

/** OSM's defaults: SMI mode (deny by default), egress on, 24h certificates, RSA 2048. */
export const DEFAULT_MESH_SETTINGS: MeshConfigSettings = {
  permissive: false,
  egress: true,
  trustDomain: 'cluster.local',
  serviceCertValidityMs: 24 * 3600_000,
  certKeyBitSize: 2048,
};

/** Map from store kind to its typed shape. */
export interface KindMap {
  Namespace: NamespaceObj;
  Service: ServiceObj;
  EndpointSlice: EndpointSliceObj;
  Endpoints: EndpointsObj;
  Pod: PodObj;
  ServiceAccount: ServiceAccountObj;
  TrafficTarget: TrafficTargetObj;
  HTTPRouteGroup: HTTPRouteGroupObj;
  TCPRoute: PortRouteObj;
  UDPRoute: PortRouteObj;
  TrafficSplit: TrafficSplitObj;
  MeshConfig: MeshConfigObj;
  HTTPRoute: GatewayRouteObj;
  GRPCRoute: GatewayRouteObj;
  Retry: RetryObj;
  UpstreamTrafficSetting: UpstreamTrafficSettingObj;
  IngressBackend: IngressBackendObj;
  Egress: EgressObj;
}

export function podServiceAccount(pod: PodObj): string {
  return pod.spec?.serviceAccountName ?? pod.spec?.serviceAccount ?? 'default';
}

export function podIPs(pod: PodObj): string[] {
  const ips = new Set<string>();
  if (pod.status?.podIP) ips.add(pod.status.podIP);
  for (const p of pod.status?.podIPs ?? []) ips.add(p.ip);
  return [...ips];
}
