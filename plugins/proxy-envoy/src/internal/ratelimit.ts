import { ExtensionTypeUrls, typedConfig } from '@trellis/plugin-sdk';
import type { Any, Filter, HttpFilter, HttpLocalRateLimit, HttpLocalRateLimitPolicy, InboundPort, NetworkLocalRateLimit, TokenBucketPolicy } from '@trellis/plugin-sdk';
import { FilterNames, durationOfMs } from './common.ts';

/**
 * Local rate limits (UpstreamTrafficSetting `rateLimit.local`, `httpRoutes[].rateLimit.local`) on the
 * destination's inbound side, in OSM's shape: a network filter per inbound chain for connections; for
 * requests, an HCM filter without a bucket (disabled by itself) that the virtual host's and the routes'
 * `typed_per_filter_config` turn on. OSM used `append: false` for the response headers; Envoy deprecated
 * `append`, so Trellis writes the equivalent `append_action: OVERWRITE_IF_EXISTS_OR_ADD`.
 */

const HTTP_STAT_PREFIX = 'http_local_rate_limiter';
const FULL = { default_value: { numerator: 100, denominator: 'HUNDRED' as const } };

function tokenBucket(b: TokenBucketPolicy): NonNullable<NetworkLocalRateLimit['token_bucket']> {
  return { max_tokens: b.maxTokens, tokens_per_fill: { value: b.tokensPerFill }, fill_interval: durationOfMs(b.fillIntervalMs) };
}

/** The connection limit on an inbound chain (after RBAC, so refused peers take no token), or none. */
export function tcpRateLimitFilter(port: InboundPort, statPrefix: string): Filter[] {
  const tcp = port.rateLimit?.tcp;
  if (!tcp) return [];
  return [{ name: FilterNames.networkLocalRateLimit, typed_config: typedConfig(ExtensionTypeUrls.networkLocalRateLimit, { stat_prefix: statPrefix, token_bucket: tokenBucket(tcp) }) }];
}

/** Whether any of these ports limits requests (the HCM then carries the filter the per-filter configs enable). */
export const limitsRequests = (ports: readonly InboundPort[]): boolean => ports.some((p) => p.rateLimit?.http !== undefined || (p.rateLimit?.routes.length ?? 0) > 0);

/** The HCM's local rate limit filter: no token bucket, so it only acts where a vhost or route configures it. */
export function httpRateLimitFilter(statPrefix: string): HttpFilter {
  return { name: FilterNames.httpLocalRateLimit, typed_config: typedConfig(ExtensionTypeUrls.httpLocalRateLimit, { stat_prefix: statPrefix }) };
}

function perFilter(p: HttpLocalRateLimitPolicy): Any {
  const config: HttpLocalRateLimit = {
    stat_prefix: HTTP_STAT_PREFIX,
    token_bucket: tokenBucket(p),
    filter_enabled: FULL,
    filter_enforced: FULL,
    ...(p.responseHeaders.length > 0 && {
      response_headers_to_add: p.responseHeaders.map((h) => ({ header: { key: h.name, value: h.value }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' as const })),
    }),
    ...(p.statusCode !== undefined && { status: { code: p.statusCode as NonNullable<HttpLocalRateLimit['status']>['code'] } }),
  };
  return typedConfig(ExtensionTypeUrls.httpLocalRateLimit, config);
}

/** The virtual host's `typed_per_filter_config` entry (the first port of the service with an HTTP limit). */
export function vhostRateLimit(ports: readonly InboundPort[]): Record<string, Any> {
  const http = ports.find((p) => p.rateLimit?.http)?.rateLimit?.http;
  return http ? { [FilterNames.httpLocalRateLimit]: perFilter(http) } : {};
}

/** A route's entry: the first `httpRoutes` item whose path equals the route's path regex (OSM's rule). */
export function routeRateLimit(port: InboundPort, pathRegex: string): Record<string, Any> {
  const route = port.rateLimit?.routes.find((r) => r.path === pathRegex);
  return route ? { [FilterNames.httpLocalRateLimit]: perFilter(route.http) } : {};
}
