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

  it('refuses a bad tracing field with its path, and keeps the mesh without telemetry', () => {
    const { store, resources } = generate({ tracing: { enable: true, address: 'http://collector', port: 70000 } });
    const status = store.policyStatuses().find((p) => p.kind === 'MeshConfig');
    expect(status).toMatchObject({ status: 'invalid', reason: expect.stringContaining('spec.observability.tracing.address') });
    expect(resources.some((r) => r.name === 'envoy-tracing-cluster')).toBe(false);
  });
});
