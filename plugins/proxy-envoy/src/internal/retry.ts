import type { RetryPolicy, RouteRetryPolicy } from '@trellis/plugin-sdk';
import { byString, durationOfMs } from './common.ts';

/**
 * A Retry policy as an Envoy route retry policy, as OSM built it: `retry_on` as written (sorted here so equal
 * policies give equal routes), `num_retries`, `per_try_timeout` and the back-off base interval when set
 * (Envoy's defaults otherwise: one retry, the route timeout, 25 ms).
 */
export function routeRetryPolicy(r: RetryPolicy): RouteRetryPolicy {
  return {
    retry_on: r.retryOn.length > 0 ? [...r.retryOn].sort(byString).join(',') : '5xx',
    num_retries: { value: r.attempts },
    ...(r.perTryTimeoutMs !== undefined ? { per_try_timeout: durationOfMs(r.perTryTimeoutMs) } : {}),
    ...(r.backoffBaseMs !== undefined ? { retry_back_off: { base_interval: durationOfMs(r.backoffBaseMs) } } : {}),
  };
}
