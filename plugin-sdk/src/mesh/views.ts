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
  /**
   * Failure-percentage ejection (Envoy and gRPC, gRFC A50): every interval, a host with at least `requestVolume`
   * requests whose failures reach `threshold` percent is ejected, when at least `minimumHosts` hosts qualify.
   */
  readonly failurePercentage?: { readonly threshold: number; readonly minimumHosts?: number; readonly requestVolume?: number };
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

/** A local token bucket: `tokensPerFill` tokens every `fillIntervalMs`, at most `maxTokens` (rate + burst). */
export interface TokenBucketPolicy {
  readonly tokensPerFill: number;
  readonly fillIntervalMs: number;
  readonly maxTokens: number;
}

/** An HTTP local rate limit: a request takes a token; without one it gets `statusCode` (Envoy's 429 when absent). */
export interface HttpLocalRateLimitPolicy extends TokenBucketPolicy {
  readonly statusCode?: number;
  readonly responseHeaders: readonly { readonly name: string; readonly value: string }[];
}

/**
 * Local rate limits of a destination service (UpstreamTrafficSetting `rateLimit.local` and `httpRoutes`),
 * enforced by the destination's own proxies: `tcp` per connection on the inbound chain, `http` per request on
 * the service's virtual host, `routes` per request on inbound routes whose path regex equals `path` (as OSM).
 */
export interface LocalRateLimitPolicy {
  /** `ns/name` of the UpstreamTrafficSetting. */
  readonly policy: string;
  readonly tcp?: TokenBucketPolicy;
  readonly http?: HttpLocalRateLimitPolicy;
  readonly routes: readonly { readonly path: string; readonly http: HttpLocalRateLimitPolicy }[];
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
  /**
   * Gateway API (GAMMA) routes attached to this service port for this client (HTTPRoute or GRPCRoute, producer
   * or consumer routes). When present they replace `split`: requests no rule matches get a 404. They apply only
   * to traffic addressed to the Service (its cluster IPs, or its name for proxyless gRPC), never to pod IPs.
   */
  readonly gamma?: GammaRoutes;
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
  readonly rateLimit?: LocalRateLimitPolicy;
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
  /** Data-plane telemetry the MeshConfig asks for (`spec.observability`); absent: none. */
  readonly telemetry?: MeshTelemetry;
  /** Egress policies whose sources include this identity, by port then policy; absent when none. */
  readonly egressRules?: readonly EgressRule[];
}

/** The MeshConfig's `spec.observability` for proxies (docs/observability.md, "Data-plane telemetry"). */
export interface MeshTelemetry {
  /** `tracing` (OSM's fields): spans go to `http://address:port<endpoint>` over OTLP/HTTP. */
  readonly tracing?: { readonly address: string; readonly port: number; readonly endpoint: string; readonly samplingPercentage: number };
  /**
   * `accessLog`: one entry per request or connection: on the proxy's stdout (`json` with OSM's fields, or
   * `text`), or `otel`: OTLP/gRPC log records (OSM's fields as attributes) to the collector at `address:port`.
   */
  readonly accessLog?: { readonly format: 'json' | 'text' } | { readonly format: 'otel'; readonly address: string; readonly port: number };
}

// ---- Gateway API (GAMMA) routes, as the catalog resolves them for one client and one service port ----

export interface GammaPathMatch {
  /** PathPrefix matches whole segments (`/v2` matches `/v2` and `/v2/x`, not `/v2x`); its value has no trailing `/` except `/`. */
  readonly type: 'Exact' | 'PathPrefix' | 'RegularExpression';
  readonly value: string;
}

export interface GammaValueMatch {
  /** Header names lower-cased; query parameter names as written (they are case-sensitive). */
  readonly name: string;
  readonly type: 'Exact' | 'RegularExpression';
  readonly value: string;
}

/** One match of a rule: every condition must hold (an empty match matches every request). */
export interface GammaMatch {
  readonly path?: GammaPathMatch;
  readonly method?: string;
  readonly headers: readonly GammaValueMatch[];
  readonly queryParams: readonly GammaValueMatch[];
}

export interface GammaHeaderEdit {
  readonly set: readonly { readonly name: string; readonly value: string }[];
  readonly add: readonly { readonly name: string; readonly value: string }[];
  readonly remove: readonly string[];
}

export interface GammaPathRewrite {
  readonly type: 'ReplaceFullPath' | 'ReplacePrefixMatch';
  readonly value: string;
}

export interface GammaRedirect {
  readonly scheme?: string;
  readonly hostname?: string;
  readonly port?: number;
  readonly path?: GammaPathRewrite;
  /** 301, 302 (the default), 303, 307 or 308. */
  readonly statusCode: number;
}

export interface GammaBackend {
  readonly service: MeshServicePort;
  readonly clusterName: string;
  /** Positive: backends with weight 0 are left out. */
  readonly weight: number;
  readonly requestHeaders?: GammaHeaderEdit;
  readonly responseHeaders?: GammaHeaderEdit;
}

/** One (match, rule) pair, in the order a proxy must try them (Gateway API precedence). */
export interface GammaRoute {
  /** `ns/name` of the route object, its rule index and (when named) the rule's name: for route names. */
  readonly route: string;
  readonly rule: number;
  readonly ruleName?: string;
  readonly match: GammaMatch;
  /** Resolved backends this client may reach (empty with `redirect`). */
  readonly backends: readonly GammaBackend[];
  /**
   * The summed weight of backendRefs that do not resolve (missing Service or port, not reachable): that share
   * of requests gets a 500, as the Gateway API asks. Weight-0 refs count for nothing.
   */
  readonly unresolvedWeight: number;
  readonly requestHeaders?: GammaHeaderEdit;
  readonly responseHeaders?: GammaHeaderEdit;
  readonly redirect?: GammaRedirect;
  readonly rewrite?: { readonly hostname?: string; readonly path?: GammaPathRewrite };
  /** Mirror targets (cluster names) with the percentage of requests mirrored. */
  readonly mirrors: readonly { readonly clusterName: string; readonly percent: number }[];
  /** `timeouts.request` / `timeouts.backendRequest` in ms; 0 means no timeout. */
  readonly timeoutMs?: number;
  readonly backendTimeoutMs?: number;
}

export interface GammaRoutes {
  readonly kind: 'HTTPRoute' | 'GRPCRoute';
  /** `ns/name` of the route objects in effect (consumer routes when the client's namespace has any). */
  readonly sources: readonly string[];
  readonly routes: readonly GammaRoute[];
}
