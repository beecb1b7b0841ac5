/**
 * What the catalog computes for one identity: the policy a proxy backend turns into xDS. Pure data,
 * deterministic ordering (every list sorted), no protobuf. Backends must not mutate it. @public
 */
import type { Identity } from './identity.ts';

export type Protocol = 'http' | 'http2' | 'grpc' | 'tcp' | 'tcp-server-first' | 'udp';

export interface ServiceName {
  readonly namespace: string;
  readonly name: string;
}

/** One port of a Kubernetes Service: a mesh service in OSM's model. */
export interface MeshServicePort extends ServiceName {
  readonly port: number;
  readonly targetPort: number;
  readonly protocol: Protocol;
  /** The Service port's `name`, when it has one. */
  readonly portName?: string;
}

export interface MeshEndpoint {
  readonly ip: string;
  /** The port the workload listens on (the Service's targetPort resolved for this endpoint). */
  readonly port: number;
  /** The identity behind this endpoint, when the pod is known. */
  readonly identity?: Identity;
  readonly ready: boolean;
  readonly podName?: string;
}

/** Header matcher as SMI HTTPRouteGroup writes it: the value is a regular expression (RE2). */
export interface HeaderMatch {
  readonly name: string;
  readonly valueRegex: string;
}

/** One HTTP match: path regex matched against the whole path (RE2), methods (`*` = any), headers ANDed. */
export interface HttpMatch {
  readonly name: string;
  readonly pathRegex: string;
  readonly methods: readonly string[];
  readonly headers: readonly HeaderMatch[];
}

export interface WeightedBackend {
  readonly service: MeshServicePort;
  readonly weight: number;
  /** `ns/svc|targetPort`, the outbound cluster of this backend. */
  readonly clusterName: string;
}

/**
 * A TrafficSplit as applied to one root-service port on the client side. Backends are the split's backends
 * this client may reach that have a port with the root port's number (SMI's port rule), sorted by cluster
 * name; a backend may be the root itself. Absent when no such backend has a positive weight.
 */
export interface SplitPolicy {
  /** `ns/name` of the TrafficSplit, for naming and debugging. */
  readonly splitName: string;
  readonly backends: readonly WeightedBackend[];
  /** v1alpha4 `matches`: only matching requests are split; empty means every request is split. */
  readonly matches: readonly HttpMatch[];
}

/** A Retry policy from this client to one service (`policy.trellis.io` Retry). */
export interface RetryPolicy {
  /** Retries after the first attempt (Retry `numRetries`, default 1). */
  readonly attempts: number;
  readonly perTryTimeoutMs?: number;
  /** Envoy `retry_on` conditions as written (HTTP and gRPC names); a gRPC backend maps them (grpcRetryConditions). */
  readonly retryOn: readonly string[];
  /** Base interval of the exponential back-off between retries. */
  readonly backoffBaseMs?: number;
  /** `ns/name` of the Retry, for naming and debugging. */
  readonly policy?: string;
}

/** Outlier detection (passive health checking) of one upstream service's endpoints. */
export interface OutlierDetectionPolicy {
  readonly consecutive5xx?: number;
  readonly consecutiveGatewayErrors?: number;
  readonly intervalMs?: number;
  readonly baseEjectionTimeMs?: number;
  readonly maxEjectionPercent?: number;
}

/** Connection limits and outlier detection for one upstream service (`policy.trellis.io` UpstreamTrafficSetting). */
export interface UpstreamSettings {
  /** `ns/name` of the UpstreamTrafficSetting. */
  readonly policy: string;
  readonly maxConnections?: number;
  readonly connectTimeoutMs?: number;
  readonly maxRequests?: number;
  readonly maxPendingRequests?: number;
  readonly maxRetries?: number;
  readonly maxRequestsPerConnection?: number;
  readonly outlierDetection?: OutlierDetectionPolicy;
}

/** One upstream service port this identity may reach. */
export interface OutboundService {
  readonly service: MeshServicePort;
  /** `ns/svc|targetPort` (OSM's outbound cluster name). */
  readonly clusterName: string;
  /** OSM's hostname forms; short forms (`svc`, `svc:port`) only when client and service share a namespace. */
  readonly hostnames: readonly string[];
  readonly endpoints: readonly MeshEndpoint[];
  /** Identities behind the service (its pods' service accounts), for SAN matching. Sorted. */
  readonly identities: readonly Identity[];
  /**
   * The Service's virtual IPs (`spec.clusterIP(s)`, never `None`): what clients dial after DNS. A sidecar's
   * outbound listener matches them besides the endpoint IPs. Absent or empty for headless services. Sorted.
   */
  readonly serviceIPs?: readonly string[];
  readonly split?: SplitPolicy;
  readonly retry?: RetryPolicy;
  /** Whole-request timeout (UpstreamTrafficSetting `connectionSettings.http.requestTimeout`); 0 = none. */
  readonly timeoutMs?: number;
  readonly upstream?: UpstreamSettings;
}

/** Who may use one HTTP route of a local service. `any` in permissive mode. */
export interface InboundRoute {
  readonly match: HttpMatch;
  readonly principals: readonly Identity[] | 'any';
}

/** Network-level allow rule from one TrafficTarget (OSM's network RBAC: one policy per target). */
export interface InboundTcpPolicy {
  /** `ns/name` of the TrafficTarget. */
  readonly name: string;
  readonly principals: readonly Identity[];
  /**
   * Destination (target) ports the TrafficTarget grants: its TCPRoutes' ports (`any` for a TCPRoute without
   * ports) plus, for HTTPRouteGroup rules that select something, the destination's HTTP ports (per-route HTTP
   * RBAC decides there). HTTP rules never grant a TCP port; empty when the target grants nothing.
   */
  readonly ports: readonly number[] | 'any';
}

/**
 * Ingress to one local service port from outside the mesh (`policy.trellis.io` IngressBackend): a plaintext
 * (http) or TLS-terminated (https) chain beside the mesh chain, open to the sources' IP ranges. @public
 */
export interface IngressPolicy {
  /** `ns/name` of the IngressBackend. */
  readonly policy: string;
  readonly protocol: 'http' | 'https';
  /** Source CIDRs: IPRange sources and the endpoints of Service sources (/32, /128). Sorted; empty = any address. */
  readonly sourceRanges: readonly string[];
  /** https: the AuthenticatedPrincipal names the client certificate must carry; 'any' when none are named or validation is skipped. */
  readonly principals: readonly string[] | 'any';
  /** https: accept clients without a (valid) certificate. */
  readonly skipClientCertValidation: boolean;
  /** https: SNI names the chain matches; empty = any. Sorted. */
  readonly sniHosts: readonly string[];
}

/** One local service port: what arrives for it and who may send it. */
export interface InboundPort {
  readonly service: MeshServicePort;
  /** `ns/svc|targetPort|local` (OSM's local cluster name). */
  readonly localClusterName: string;
  readonly hostnames: readonly string[];
  /**
   * HTTP routes (protocol http/http2/grpc); merged across TrafficTargets with the union of principals. A
   * TrafficTarget whose TCPRoute covers this port's targetPort (or has no ports) contributes a wildcard route
   * for its sources. Sorted by match.
   */
  readonly routes: readonly InboundRoute[];
  /**
   * Network RBAC policies (every TrafficTarget whose destination is this identity; the same list on each of
   * its ports); empty in SMI mode means deny all; empty and ignored when permissive.
   */
  readonly tcpPolicies: readonly InboundTcpPolicy[];
  readonly ingress?: IngressPolicy;
}

/** One port of an Egress policy for this identity (`policy.trellis.io` Egress): external destinations it may reach. @public */
export interface EgressRule {
  /** `ns/name` of the Egress. */
  readonly policy: string;
  readonly port: number;
  readonly protocol: 'http' | 'https' | 'tcp';
  /** Host names, exact or `*.`-wildcard (lower case, sorted): by Host header (http) or SNI (https, tcp with hosts). */
  readonly hosts: readonly string[];
  /** CIDRs (sorted): tcp by destination address. */
  readonly ipRanges: readonly string[];
  /** http: only these requests (the Egress `matches` HTTPRouteGroups); empty = every request. */
  readonly matches: readonly HttpMatch[];
}

export interface ProxyView {
  readonly identity: Identity;
  readonly trustDomain: string;
  readonly permissive: boolean;
  readonly egress: boolean;
  readonly outbound: readonly OutboundService[];
  readonly inbound: readonly InboundPort[];
  /** Endpoints of this identity's own pods (a proxyless server listens on them). Sorted. */
  readonly localEndpoints: readonly MeshEndpoint[];
  /** Egress policies whose sources include this identity, by port then policy; absent when none. */
  readonly egressRules?: readonly EgressRule[];
}
