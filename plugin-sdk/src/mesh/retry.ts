/**
 * Envoy `retry_on` conditions as gRPC status names. gRPC clients retry on status codes only (gRFC A44), so a
 * retry policy written for Envoy is translated: connection-level failures and 502/503/504 reach a gRPC client as
 * UNAVAILABLE; HTTP 4xx, rate limiting and header conditions have no gRPC equivalent and are reported unmapped.
 * The core reports the unmapped ones in /debug/policies; the gRPC backend programs the mapped ones. @public
 */

/** The gRPC status names grpc-js-xds (and gRPC C-core) accept in a route's `retry_on`. */
export const GRPC_RETRY_CONDITIONS: ReadonlySet<string> = new Set(['cancelled', 'deadline-exceeded', 'internal', 'resource-exhausted', 'unavailable']);

const TO_UNAVAILABLE: ReadonlySet<string> = new Set(['5xx', 'gateway-error', 'reset', 'reset-before-request', 'connect-failure', 'refused-stream']);

export function grpcRetryConditions(conditions: readonly string[]): { readonly mapped: readonly string[]; readonly unmapped: readonly string[] } {
  const mapped = new Set<string>();
  const unmapped: string[] = [];
  for (const c of conditions) {
    if (GRPC_RETRY_CONDITIONS.has(c)) mapped.add(c);
    else if (TO_UNAVAILABLE.has(c)) mapped.add('unavailable');
    else unmapped.push(c);
  }
  return { mapped: [...mapped].sort(), unmapped };
}
