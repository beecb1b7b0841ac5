/**
 * Typed shapes of the traffic policy kinds (`policy.trellis.io/v1alpha1`, OSM's `policy.openservicemesh.io/v1alpha1`
 * accepted as an alias). Only what Trellis reads; the store keeps them normalized by policy-validate.ts:
 * durations as milliseconds beside the text, defaults filled in.
 */
import type { KubeObject } from '@trellis/plugin-sdk';

interface Namespaced extends KubeObject {
  metadata: KubeObject['metadata'] & { namespace: string };
}

/** A Retry's source (a ServiceAccount) or destination (a Service). */
export interface PolicyRef {
  readonly kind: string;
  readonly name: string;
  readonly namespace: string;
}

export interface RetryPolicySpec {
  /** Envoy `retry_on` conditions, comma-separated as written. */
  readonly retryOn: string;
  readonly numRetries?: number;
  readonly perTryTimeout?: string;
  readonly retryBackoffBaseInterval?: string;
}

export interface RetryObj extends Namespaced {
  spec: { source: PolicyRef; destinations: PolicyRef[]; retryPolicy: RetryPolicySpec };
}

export interface UpstreamConnectionSettings {
  readonly tcp?: { readonly maxConnections?: number; readonly connectTimeout?: string };
  readonly http?: {
    readonly maxRequests?: number;
    readonly maxRequestsPerConnection?: number;
    readonly maxPendingRequests?: number;
    readonly maxRetries?: number;
    /** Trellis extension: the whole-request timeout (route timeout for Envoy, max_stream_duration for gRPC). */
    readonly requestTimeout?: string;
  };
}

/** Trellis extension (OSM had none): passive health checking of the host's endpoints. */
export interface OutlierDetectionSpec {
  readonly consecutive5xxErrors?: number;
  readonly consecutiveGatewayErrors?: number;
  readonly interval?: string;
  readonly baseEjectionTime?: string;
  readonly maxEjectionPercent?: number;
  /** Trellis extension: eject hosts whose failure percentage reaches `threshold` (Envoy and gRPC, gRFC A50). */
  readonly failurePercentage?: { readonly threshold: number; readonly minimumHosts?: number; readonly requestVolume?: number };
}

/** OSM's token-bucket limits (`unit`: second, minute or hour; the bucket holds rate + burst). */
export interface TcpLocalRateLimitSpec {
  readonly connections: number;
  readonly unit: string;
  readonly burst?: number;
}

export interface HttpLocalRateLimitSpec {
  readonly requests: number;
  readonly unit: string;
  readonly burst?: number;
  readonly responseStatusCode?: number;
  readonly responseHeadersToAdd?: readonly { readonly name: string; readonly value: string }[];
}

export interface UpstreamTrafficSettingObj extends Namespaced {
  spec: {
    host: string;
    connectionSettings?: UpstreamConnectionSettings;
    outlierDetection?: OutlierDetectionSpec;
    /** `global` is accepted, not enforced. */
    rateLimit?: { local?: { tcp?: TcpLocalRateLimitSpec; http?: HttpLocalRateLimitSpec }; global?: unknown };
    httpRoutes?: { path: string; rateLimit?: { local?: HttpLocalRateLimitSpec; global?: unknown } }[];
    [key: string]: unknown;
  };
}

export interface IngressBackendSpec {
  readonly name: string;
  readonly port: { readonly number: number; readonly protocol: 'http' | 'https' };
  readonly tls?: { readonly skipClientCertValidation?: boolean; readonly sniHosts?: readonly string[] };
}

export type IngressSource =
  | { readonly kind: 'Service'; readonly name: string; readonly namespace: string }
  | { readonly kind: 'AuthenticatedPrincipal'; readonly name: string }
  | { readonly kind: 'IPRange'; readonly name: string };

export interface IngressBackendObj extends Namespaced {
  spec: { backends: IngressBackendSpec[]; sources: IngressSource[]; matches?: unknown[] };
}

export interface EgressObj extends Namespaced {
  spec: {
    sources: PolicyRef[];
    hosts?: string[];
    ipAddresses?: string[];
    ports: { number: number; protocol: 'http' | 'https' | 'tcp' }[];
    matches?: { apiGroup?: string; kind: string; name: string }[];
  };
}
