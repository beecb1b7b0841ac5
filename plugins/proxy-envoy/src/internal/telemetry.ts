import { ExtensionTypeUrls, typedConfig } from '@trellis/plugin-sdk';
import type { Any, Cluster, Filter, FilterChain, HttpConnectionManager, Listener, MeshTelemetry } from '@trellis/plugin-sdk';
import { singleHostAssignment } from './common.ts';

/** The cluster Envoy's OpenTelemetry tracer sends spans through (to the MeshConfig's tracing address). */
export const TRACING_CLUSTER = 'envoy-tracing-cluster';
/** The cluster the OpenTelemetry access logger streams OTLP/gRPC through (`accessLog.format: otel`). */
export const ACCESS_LOG_CLUSTER = 'envoy-accesslog-cluster';

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

/** A cluster of one collector (DNS resolved unless an IP literal), as the tracer's and the access logger's. */
function collectorCluster(name: string, address: string, port: number): Cluster {
  const host = stripBrackets(address);
  const literal = /^[\d.]+$/.test(host) || host.includes(':');
  return {
    name,
    type: literal ? 'STATIC' : 'STRICT_DNS',
    connect_timeout: { seconds: 1 },
    load_assignment: singleHostAssignment(name, host, port),
  };
}

/** `envoy-tracing-cluster`: the collector at the MeshConfig's `tracing.address:port` (DNS resolved). */
export function tracingCluster(t: NonNullable<MeshTelemetry['tracing']>): Cluster {
  return collectorCluster(TRACING_CLUSTER, t.address, t.port);
}

type OtelAccessLog = Extract<NonNullable<MeshTelemetry['accessLog']>, { format: 'otel' }>;

/** `envoy-accesslog-cluster`: the collector's OTLP/gRPC receiver, so HTTP/2 upstream. */
export function accessLogCluster(a: OtelAccessLog): Cluster {
  return {
    ...collectorCluster(ACCESS_LOG_CLUSTER, a.address, a.port),
    typed_extension_protocol_options: {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': typedConfig(ExtensionTypeUrls.httpProtocolOptions, { explicit_http_config: { http2_protocol_options: {} } }),
    },
  };
}

/** OSM's fields as OTel log attributes (string values holding Envoy's command operators). */
const OTEL_ATTRIBUTES = { values: Object.entries(OSM_ACCESS_LOG_FIELDS).map(([key, v]) => ({ key, value: { string_value: v } })) };

function accessLog(a: NonNullable<MeshTelemetry['accessLog']>, serviceName: string): NonNullable<HttpConnectionManager['access_log']> {
  if (a.format === 'otel')
    return [
      {
        name: 'envoy.access_loggers.open_telemetry',
        typed_config: typedConfig(ExtensionTypeUrls.openTelemetryAccessLog, {
          // log_name is a built-in resource label of every record: the proxy's service, as the tracer names it.
          common_config: { log_name: serviceName, grpc_service: { envoy_grpc: { cluster_name: ACCESS_LOG_CLUSTER } }, transport_api_version: 'V3' },
          body: { string_value: TEXT_FORMAT.trimEnd() },
          attributes: OTEL_ATTRIBUTES,
        }),
      },
    ];
  const log_format =
    a.format === 'json'
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
 * tracer and the access log, every tcp_proxy the access log (stdout, or OTLP/gRPC to the collector). Nothing changes without telemetry.
 */
export function withTelemetry(listener: Listener | undefined, t: MeshTelemetry | undefined, serviceName: string): Listener | undefined {
  if (!listener || !t) return listener;
  const filter = (f: Filter): Filter => {
    const tc = f.typed_config as Record<string, unknown> | undefined;
    const type = tc?.['@type'];
    const extend = (extra: Record<string, unknown>): Filter => ({ ...f, typed_config: { ...tc, ...extra } as Any });
    if (type === ExtensionTypeUrls.httpConnectionManager)
      return extend({ ...(t.tracing ? { tracing: hcmTracing(t.tracing, serviceName) } : {}), ...(t.accessLog ? { access_log: accessLog(t.accessLog, serviceName) } : {}) });
    if (type === ExtensionTypeUrls.tcpProxy && t.accessLog) return extend({ access_log: accessLog(t.accessLog, serviceName) });
    return f;
  };
  const chain = (c: FilterChain): FilterChain => ({ ...c, filters: (c.filters ?? []).map(filter) });
  return { ...listener, filter_chains: (listener.filter_chains ?? []).map(chain), ...(listener.default_filter_chain ? { default_filter_chain: chain(listener.default_filter_chain) } : {}) };
}
