/**
 * Traffic policies as proxyless gRPC understands them (grpc-js-xds, gRPC C-core): retries on gRPC status codes
 * (gRFC A44), the request timeout as `max_stream_duration` (A31: gRPC ignores the route `timeout`), and
 * circuit breaking by `max_requests` only (A32), outlier detection by failure percentage (A50). Other
 * connection settings and ejection on consecutive errors have no gRPC equivalent; the core reports them in
 * /debug/policies.
 */
import { durationMs, grpcRetryConditions } from '@trellis/plugin-sdk';
import type { Cluster, OutboundService, RetryPolicy, RouteAction, RouteRetryPolicy } from '@trellis/plugin-sdk';

/** Timeout and retry policy: the part of a route action that is the same for every route of a service. */
export type RouteExtras = Pick<RouteAction, 'max_stream_duration' | 'retry_policy'>;

export function routeExtras(o: OutboundService): RouteExtras {
  const extras: RouteExtras = {};
  if (o.timeoutMs !== undefined && o.timeoutMs > 0) extras.max_stream_duration = { max_stream_duration: durationMs(o.timeoutMs) };
  const retry = o.retry && retryPolicy(o.retry);
  if (retry) extras.retry_policy = retry;
  return extras;
}

/** The retry policy with its conditions mapped to gRPC status names; none when nothing maps. */
export function retryPolicy(r: RetryPolicy): RouteRetryPolicy | undefined {
  const { mapped } = grpcRetryConditions(r.retryOn);
  if (mapped.length === 0 || r.attempts <= 0) return undefined;
  return {
    retry_on: mapped.join(','),
    num_retries: { value: r.attempts },
    ...(r.perTryTimeoutMs !== undefined && r.perTryTimeoutMs > 0 && { per_try_timeout: durationMs(r.perTryTimeoutMs) }),
    ...(r.backoffBaseMs !== undefined && r.backoffBaseMs > 0 && { retry_back_off: { base_interval: durationMs(r.backoffBaseMs) } }),
  };
}

/**
 * Outlier detection as gRPC reads it (gRFC A50): failure-percentage ejection with the interval, ejection time
 * and percentage; success-rate ejection (gRPC's default when `enforcing_success_rate` is unset) off. Without
 * `failurePercentage` (consecutive-error ejection has no gRPC equivalent; the core reports it) a no-op: success
 * rate off and nothing else. It is sent anyway because grpc-js-xds 1.14 compares a cluster update with the old
 * value's keys only, so an update that merely adds `outlier_detection` would never reach a running client.
 */
export function outlierDetection(o: OutboundService): Pick<Cluster, 'outlier_detection'> {
  const od = o.upstream?.outlierDetection;
  const fp = od?.failurePercentage;
  if (!od || !fp) return { outlier_detection: { enforcing_success_rate: { value: 0 } } };
  return {
    outlier_detection: {
      ...(od.intervalMs !== undefined && { interval: durationMs(od.intervalMs) }),
      ...(od.baseEjectionTimeMs !== undefined && { base_ejection_time: durationMs(od.baseEjectionTimeMs) }),
      ...(od.maxEjectionPercent !== undefined && { max_ejection_percent: { value: od.maxEjectionPercent } }),
      enforcing_success_rate: { value: 0 },
      enforcing_failure_percentage: { value: 100 },
      failure_percentage_threshold: { value: fp.threshold },
      ...(fp.minimumHosts !== undefined && { failure_percentage_minimum_hosts: { value: fp.minimumHosts } }),
      ...(fp.requestVolume !== undefined && { failure_percentage_request_volume: { value: fp.requestVolume } }),
    },
  };
}

/** The cluster's circuit breaker: gRPC reads only the DEFAULT priority's `max_requests`. */
export function circuitBreakers(o: OutboundService): Pick<Cluster, 'circuit_breakers'> {
  const max = o.upstream?.maxRequests;
  return max === undefined ? {} : { circuit_breakers: { thresholds: [{ priority: 'DEFAULT', max_requests: { value: max } }] } };
}
