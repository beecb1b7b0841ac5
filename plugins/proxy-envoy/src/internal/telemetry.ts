import { ExtensionTypeUrls, typedConfig } from '@trellis/plugin-sdk';
import type { Any, Cluster, Filter, FilterChain, HttpConnectionManager, Listener, MeshTelemetry } from '@trellis/plugin-sdk';
import { singleHostAssignment } from './common.ts';

/** The cluster Envoy's OpenTelemetry tracer sends spans through (to the MeshConfig's tracing address). */
export const TRACING_CLUSTER = 'envoy-tracing-cluster';

/**
 * OSM's access log fields (its JSON access log on stdout), in Envoy's command operators. Status and timing
 * first: what an operator greps for.
 */
export const OSM_ACCESS_LOG_FIELDS: Readonly<Record<string, string>> = {
  start_time: '%START_TIME%',
  method: '%REQ(:METHOD)%',
  path: '%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%',
  protocol: '%PROTOCOL%',
  response_code: '%RESPONSE_CODE%',
  response_code_details: '%RESPONSE_CODE_DETAILS%',
  response_flags: '%RESPONSE_FLAGS%',
  time_to_first_byte: '%RESPONSE_DURATION%',
  upstream_service_time: '%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%',
  duration: '%DURATION%',
  bytes_received: '%BYTES_RECEIVED%',
  bytes_sent: '%BYTES_SENT%',
  x_forwarded_for: '%REQ(X-FORWARDED-FOR)%',
  user_agent: '%REQ(USER-AGENT)%',
  request_id: '%REQ(X-REQUEST-ID)%',
  requested_server_name: '%REQUESTED_SERVER_NAME%',
  authority: '%REQ(:AUTHORITY)%',
  upstream_host: '%UPSTREAM_HOST%',
  upstream_cluster: '%UPSTREAM_CLUSTER%',
};

const TEXT_FORMAT = '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER%\n';

const stripBrackets = (host: string) => host.replace(/^\[|\]$/g, '');

/** `envoy-tracing-cluster`: the collector at the MeshConfig's `tracing.address:port` (DNS resolved). */
export function tracingCluster(t: NonNullable<MeshTelemetry['tracing']>): Cluster {
  const host = stripBrackets(t.address);
  const literal = /^[\d.]+$/.test(host) || host.includes(':');
  return {
    name: TRACING_CLUSTER,
    type: literal ? 'STATIC' : 'STRICT_DNS',
    connect_timeout: { seconds: 1 },
    load_assignment: singleHostAssignment(TRACING_CLUSTER, host, t.port),
  };
}

function accessLog(format: 'json' | 'text'): NonNullable<HttpConnectionManager['access_log']> {
  const log_format =
    format === 'json'
      ? { json_format: { fields: Object.fromEntries(Object.entries(OSM_ACCESS_LOG_FIELDS).map(([k, v]) => [k, { stringValue: v }])) } }
      : { text_format_source: { inline_string: TEXT_FORMAT } };
  return [{ name: 'envoy.access_loggers.stream', typed_config: typedConfig(ExtensionTypeUrls.stdoutAccessLog, { log_format }) }];
}

/** HCM `tracing`: Envoy's OpenTelemetry tracer, OTLP/HTTP to the collector through `envoy-tracing-cluster`. */
function hcmTracing(t: NonNullable<MeshTelemetry['tracing']>, serviceName: string): HttpConnectionManager['tracing'] {
  const host = t.address.includes(':') && !t.address.startsWith('[') ? `[${t.address}]` : t.address;
  return {
    provider: {
      name: 'envoy.tracers.opentelemetry',
      typed_config: typedConfig(ExtensionTypeUrls.openTelemetryTracer, {
        http_service: { http_uri: { uri: `http://${host}:${t.port}${t.endpoint}`, cluster: TRACING_CLUSTER, timeout: { seconds: 1 } } },
        service_name: serviceName,
      }),
    },
    random_sampling: { value: t.samplingPercentage },
  };
}

/**
 * The listener with the MeshConfig's telemetry added to its filters: every HTTP connection manager gets the
 * tracer and the access log, every tcp_proxy the access log. Nothing changes without telemetry.
 */
export function withTelemetry(listener: Listener | undefined, t: MeshTelemetry | undefined, serviceName: string): Listener | undefined {
  if (!listener || !t) return listener;
  const filter = (f: Filter): Filter => {
    const tc = f.typed_config as Record<string, unknown> | undefined;
    const type = tc?.['@type'];
    const extend = (extra: Record<string, unknown>): Filter => ({ ...f, typed_config: { ...tc, ...extra } as Any });
    if (type === ExtensionTypeUrls.httpConnectionManager)
      return extend({ ...(t.tracing ? { tracing: hcmTracing(t.tracing, serviceName) } : {}), ...(t.accessLog ? { access_log: accessLog(t.accessLog.format) } : {}) });
    if (type === ExtensionTypeUrls.tcpProxy && t.accessLog) return extend({ access_log: accessLog(t.accessLog.format) });
    return f;
  };
  const chain = (c: FilterChain): FilterChain => ({ ...c, filters: (c.filters ?? []).map(filter) });
  return { ...listener, filter_chains: (listener.filter_chains ?? []).map(chain), ...(listener.default_filter_chain ? { default_filter_chain: chain(listener.default_filter_chain) } : {}) };
}
