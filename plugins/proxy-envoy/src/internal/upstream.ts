import { ExtensionTypeUrls, typedConfig } from '@trellis/plugin-sdk';
import type { Cluster, OutlierDetectionPolicy, UpstreamSettings } from '@trellis/plugin-sdk';
import { FilterNames, durationOfMs } from './common.ts';

const UNLIMITED = { value: 0xffff_ffff };

/**
 * An UpstreamTrafficSetting on an outbound cluster, as OSM's `applyUpstreamConnectionSettings`: one DEFAULT
 * circuit-breaker threshold, unlimited (and tracking remaining) except what the setting limits; its connect
 * timeout; `maxRequestsPerConnection` through the HTTP protocol options (Envoy deprecated the cluster field
 * OSM used). Trellis adds outlier detection on consecutive errors only (success-rate ejection off, so the
 * setting means what it says). Returns a new cluster.
 */
export function withUpstreamSettings(cluster: Cluster, u: UpstreamSettings): Cluster {
  const out: Cluster = {
    ...cluster,
    circuit_breakers: {
      thresholds: [
        {
          max_connections: u.maxConnections !== undefined ? { value: u.maxConnections } : UNLIMITED,
          max_requests: u.maxRequests !== undefined ? { value: u.maxRequests } : UNLIMITED,
          max_pending_requests: u.maxPendingRequests !== undefined ? { value: u.maxPendingRequests } : UNLIMITED,
          max_retries: u.maxRetries !== undefined ? { value: u.maxRetries } : UNLIMITED,
          track_remaining: true,
        },
      ],
    },
  };
  if (u.connectTimeoutMs !== undefined) out.connect_timeout = durationOfMs(u.connectTimeoutMs);
  if (u.maxRequestsPerConnection !== undefined && cluster.typed_extension_protocol_options) {
    out.typed_extension_protocol_options = {
      [FilterNames.httpProtocolOptions]: typedConfig(ExtensionTypeUrls.httpProtocolOptions, {
        common_http_protocol_options: { max_requests_per_connection: { value: u.maxRequestsPerConnection } },
        use_downstream_protocol_config: { http_protocol_options: {}, http2_protocol_options: {} },
      }),
    };
  }
  if (u.outlierDetection) out.outlier_detection = outlierDetection(u.outlierDetection);
  return out;
}

/** Failure-percentage ejection: the same fields in Envoy's and gRPC's (gRFC A50) reading of the cluster. */
function failurePercentage(f: NonNullable<OutlierDetectionPolicy['failurePercentage']>): Partial<NonNullable<Cluster['outlier_detection']>> {
  return {
    enforcing_failure_percentage: { value: 100 },
    failure_percentage_threshold: { value: f.threshold },
    ...(f.minimumHosts !== undefined && { failure_percentage_minimum_hosts: { value: f.minimumHosts } }),
    ...(f.requestVolume !== undefined && { failure_percentage_request_volume: { value: f.requestVolume } }),
  };
}

function outlierDetection(o: OutlierDetectionPolicy): NonNullable<Cluster['outlier_detection']> {
  return {
    ...(o.consecutive5xx !== undefined && { consecutive_5xx: { value: o.consecutive5xx } }),
    ...(o.consecutiveGatewayErrors !== undefined && {
      consecutive_gateway_failure: { value: o.consecutiveGatewayErrors },
      enforcing_consecutive_gateway_failure: { value: 100 },
    }),
    ...(o.intervalMs !== undefined && { interval: durationOfMs(o.intervalMs) }),
    ...(o.baseEjectionTimeMs !== undefined && { base_ejection_time: durationOfMs(o.baseEjectionTimeMs) }),
    ...(o.maxEjectionPercent !== undefined && { max_ejection_percent: { value: o.maxEjectionPercent } }),
    enforcing_success_rate: { value: 0 },
    // Envoy ejects on 5 consecutive 5xx by default: off unless asked for, as success-rate ejection.
    ...(o.consecutive5xx === undefined && { enforcing_consecutive_5xx: { value: 0 } }),
    ...(o.failurePercentage && failurePercentage(o.failurePercentage)),
  };
}
