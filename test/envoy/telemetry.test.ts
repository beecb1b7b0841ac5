import { describe, expect, it } from 'vitest';
import { Bus, Catalog, MeshStore, MetricsRegistry, silentLogger, validateEnvoyResource, xds } from '@trellis/core';
import { TypeUrls, type KubeObject, type XdsResource } from '@trellis/plugin-sdk';
import { objects as o } from '@trellis/plugin-sdk/testing';
import { createEnvoyGenerator } from '@trellis/plugin-proxy-envoy';
import { placeholderCertificate } from '../support/placeholder-cert.ts';

const http = [{ kind: 'HTTPRouteGroup', name: 'all' }];
type Obj = Record<string, unknown>;

/** MeshConfig `spec.observability` -> the catalog's view -> Envoy resources, strictly valid against Envoy's protos (and PGV). */
function generate(observability: unknown): { resources: XdsResource[]; store: MeshStore } {
  const logger = silentLogger();
  const metrics = new MetricsRegistry();
  const store = new MeshStore({ bus: new Bus(logger, metrics), logger, metrics });
  const sink = store.sinkFor('test');
  const objs: KubeObject[] = [
    o.ns('shop'),
    ...o.workload('shop', 'buyer', '10.0.0.1'),
    ...o.workload('shop', 'store', '10.0.0.2'),
    ...o.workload('shop', 'db', '10.0.0.3', 5432, 5432, 'tcp'),
    o.routeGroup('shop', 'all', [{ name: 'any', pathRegex: '.*' }]),
    o.tcpRoute('shop', 'pg', [5432]),
    o.target('shop', 'buyer-to-store', 'store', ['buyer'], http),
    o.target('shop', 'buyer-to-db', 'db', ['buyer'], [{ kind: 'TCPRoute', name: 'pg' }]),
    o.meshConfig({ observability }),
  ];
  for (const obj of objs) sink.apply(obj);
  const view = new Catalog(store).viewFor({ namespace: 'shop', serviceAccount: 'buyer' });
  const node = { uuid: '38cf2479-bfea-4c1e-a961-f8f8e2b2e8cb', kind: 'sidecar', trustDomain: 'cluster.local', namespace: 'shop', serviceAccount: 'buyer' };
  const resources = createEnvoyGenerator().generate(view, { node, resources: xds.createResourceFactory(), certificate: placeholderCertificate });
  return { resources, store };
}

/** A minimal listener whose one HCM logs through an OpenTelemetry access logger configured as `config`. */
const listenerWithLogger = (config: Obj): Obj => ({
  name: 'l',
  address: { socket_address: { address: '0.0.0.0', port_value: 1 } },
  filter_chains: [
    {
      filters: [
        {
          name: 'envoy.filters.network.http_connection_manager',
          typed_config: {
            '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
            stat_prefix: 'l',
            rds: { route_config_name: 'r', config_source: { ads: {} } },
            access_log: [{ name: 'envoy.access_loggers.open_telemetry', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.access_loggers.open_telemetry.v3.OpenTelemetryAccessLogConfig', ...config } }],
          },
        },
      ],
    },
  ],
});

const problems = (rs: readonly XdsResource[]) => rs.flatMap((r) => validateEnvoyResource(r.typeUrl, r.value).map((p) => `${r.name}: ${p}`));
const filters = (rs: readonly XdsResource[], type: string) =>
  rs
    // The mesh's listeners (the Prometheus stats listener is Envoy's own plumbing, not traced or logged).
    .filter((r) => r.typeUrl === TypeUrls.listener && r.name !== 'inbound-prometheus-listener')
    .flatMap((r) => ((r.value as { filter_chains?: { filters?: { typed_config?: Obj }[] }[] }).filter_chains ?? []).flatMap((c) => c.filters ?? []))
    .map((f) => f.typed_config ?? {})
    .filter((tc) => String(tc['@type']).endsWith(type));

describe('data-plane telemetry from the MeshConfig (Envoy)', () => {
  it('adds the OpenTelemetry tracer (with its cluster) and the OSM JSON access log, strictly valid', () => {
    const { resources } = generate({ tracing: { enable: true, address: 'otel-collector.observability', port: 4318, samplingPercentage: 25 }, accessLog: { enable: true } });
    expect(problems(resources)).toEqual([]);
    expect(xds.checkConsistency(new xds.Snapshot(resources))).toEqual([]);
    const hcms = filters(resources, 'HttpConnectionManager');
    expect(hcms.length).toBeGreaterThanOrEqual(2); // outbound to store, inbound
    for (const h of hcms) {
      expect(h['tracing']).toMatchObject({
        provider: {
          name: 'envoy.tracers.opentelemetry',
          typed_config: {
            '@type': 'type.googleapis.com/envoy.config.trace.v3.OpenTelemetryConfig',
            http_service: { http_uri: { uri: 'http://otel-collector.observability:4318/v1/traces', cluster: 'envoy-tracing-cluster' } },
            service_name: 'buyer.shop',
          },
        },
        random_sampling: { value: 25 },
      });
      const fields = (h['access_log'] as { typed_config: { log_format: { json_format: { fields: Obj } } } }[])[0]!.typed_config.log_format.json_format.fields;
      expect(Object.keys(fields)).toEqual(expect.arrayContaining(['start_time', 'method', 'path', 'response_code', 'response_flags', 'duration', 'upstream_cluster', 'request_id']));
    }
    for (const t of filters(resources, 'TcpProxy')) expect(t['access_log']).toHaveLength(1);
    const cluster = resources.find((r) => r.typeUrl === TypeUrls.cluster && r.name === 'envoy-tracing-cluster');
    expect(cluster?.value).toMatchObject({ type: 'STRICT_DNS', load_assignment: { endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 'otel-collector.observability', port_value: 4318 } } } }] }] } });
  });

  it('changes nothing without it, and a text access log alone adds no tracer', () => {
    const none = generate(undefined).resources;
    expect(filters(none, 'HttpConnectionManager').every((h) => h['tracing'] === undefined && h['access_log'] === undefined)).toBe(true);
    expect(none.some((r) => r.name === 'envoy-tracing-cluster')).toBe(false);
    const text = generate({ accessLog: { enable: true, format: 'text' } }).resources;
    expect(problems(text)).toEqual([]);
    const h = filters(text, 'HttpConnectionManager')[0]!;
    expect(h['tracing']).toBeUndefined();
    expect(JSON.stringify(h['access_log'])).toContain('text_format_source');
  });

  it('streams the access log over OTLP/gRPC with format otel (OpenTelemetry protos), strictly valid', () => {
    const { resources } = generate({ accessLog: { enable: true, format: 'otel', address: '10.1.2.3' } });
    // Strict validation walks OpenTelemetryAccessLogConfig down into opentelemetry.proto.common.v1 (AnyValue, KeyValueList).
    expect(problems(resources)).toEqual([]);
    expect(xds.checkConsistency(new xds.Snapshot(resources))).toEqual([]);
    const loggers = [...filters(resources, 'HttpConnectionManager'), ...filters(resources, 'TcpProxy')].map((f) => (f['access_log'] as { name: string; typed_config: Obj }[])[0]!);
    expect(loggers.length).toBeGreaterThanOrEqual(3); // outbound HTTP, inbound HTTP, outbound TCP to db
    for (const l of loggers) {
      expect(l.name).toBe('envoy.access_loggers.open_telemetry');
      expect(l.typed_config).toMatchObject({
        '@type': 'type.googleapis.com/envoy.extensions.access_loggers.open_telemetry.v3.OpenTelemetryAccessLogConfig',
        common_config: { log_name: 'buyer.shop', grpc_service: { envoy_grpc: { cluster_name: 'envoy-accesslog-cluster' } }, transport_api_version: 'V3' },
        body: { string_value: expect.stringContaining('%RESPONSE_CODE%') },
      });
      const attrs = (l.typed_config['attributes'] as { values: { key: string; value: Obj }[] }).values;
      expect(attrs.map((a) => a.key)).toEqual(expect.arrayContaining(['start_time', 'method', 'path', 'response_code', 'duration', 'upstream_cluster']));
      expect(attrs.find((a) => a.key === 'response_code')?.value).toEqual({ string_value: '%RESPONSE_CODE%' });
    }
    const cluster = resources.find((r) => r.typeUrl === TypeUrls.cluster && r.name === 'envoy-accesslog-cluster');
    expect(cluster?.value).toMatchObject({
      type: 'STATIC',
      load_assignment: { endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.1.2.3', port_value: 4317 } } } }] }] },
      typed_extension_protocol_options: { 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': { explicit_http_config: { http2_protocol_options: {} } } },
    });
    expect(resources.some((r) => r.name === 'envoy-tracing-cluster')).toBe(false);
  });

  it('refuses format otel without a collector address, and a misspelled OTel field', () => {
    const { store, resources } = generate({ accessLog: { enable: true, format: 'otel', port: 4317 } });
    const status = store.policyStatuses().find((p) => p.kind === 'MeshConfig');
    expect(status).toMatchObject({ status: 'invalid', reason: expect.stringContaining('spec.observability.accessLog.address') });
    expect(resources.some((r) => r.name === 'envoy-accesslog-cluster')).toBe(false);
    // The validator knows the OpenTelemetry messages: a wrong field inside AnyValue is named, not dropped.
    const bad = { common_config: { log_name: 'x', grpc_service: { envoy_grpc: { cluster_name: 'c' } } }, body: { stringValue: 'x' } };
    expect(validateEnvoyResource(TypeUrls.listener, listenerWithLogger(bad)).join('\n')).toContain('stringValue');
  });

  it('refuses a bad tracing field with its path, and keeps the mesh without telemetry', () => {
    const { store, resources } = generate({ tracing: { enable: true, address: 'http://collector', port: 70000 } });
    const status = store.policyStatuses().find((p) => p.kind === 'MeshConfig');
    expect(status).toMatchObject({ status: 'invalid', reason: expect.stringContaining('spec.observability.tracing.address') });
    expect(resources.some((r) => r.name === 'envoy-tracing-cluster')).toBe(false);
  });
});
