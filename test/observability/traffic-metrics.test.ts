import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { objects as o, startTestMesh, type TestMesh } from '@trellis/plugin-sdk/testing';
import selfsigned from '@trellis/plugin-certs-selfsigned';
import prometheus from '@trellis/plugin-observability-prometheus';
import { EnvoyStatsStandIn } from '../support/envoy-stats-standin.ts';
import { PrometheusServer } from '../support/prometheus.ts';
import testBackend from '../controller/test-backend.ts';

interface Metric {
  name: string;
  unit?: string;
  value: string;
}
interface TrafficMetrics {
  kind: string;
  apiVersion: string;
  window: string;
  resource: { kind: string; namespace?: string; name: string };
  edge?: { direction: string; side: string; resource: { kind: string; namespace: string; name: string } };
  metrics: Metric[];
}
const value = (t: TrafficMetrics, name: string) => Number(t.metrics.find((m) => m.name === name)?.value);

/**
 * SMI TrafficMetrics from the real Prometheus: it scrapes two stand-ins that serve Envoy-format stats (they are
 * not Envoy: fixed request rates and latencies, so the expected figures are known), labelled with the workload
 * as the sidecars' scrape job would; the `prometheus` plugin's admin route answers from PromQL over them.
 */
describe('SMI TrafficMetrics (metrics.smi-spec.io/v1alpha1)', () => {
  let prom: PrometheusServer;
  let mesh: TestMesh;
  const standIns: EnvoyStatsStandIn[] = [];

  beforeAll(async () => {
    // buyer calls store (20/s ok, 5/s 5xx, 40 ms) and audit (10/s ok, 3 ms); store serves buyer inbound.
    const buyer = await EnvoyStatsStandIn.start([
      { cluster: 'shop/store|8080', okPerSecond: 20, errorsPerSecond: 5, latencyMs: 40 },
      { cluster: 'shop/audit|8080', okPerSecond: 10, errorsPerSecond: 0, latencyMs: 3 },
    ]);
    const store = await EnvoyStatsStandIn.start([{ cluster: 'shop/store|8080|local', okPerSecond: 20, errorsPerSecond: 5, latencyMs: 30 }]);
    standIns.push(buyer, store);
    const labels = (name: string) => ({ source_namespace: 'shop', source_kind: 'Deployment', source_name: name });
    prom = await PrometheusServer.start([
      { job: 'envoy-buyer', url: buyer.url, labels: labels('buyer') },
      { job: 'envoy-store', url: store.url, labels: labels('store') },
    ]);
    mesh = await startTestMesh({
      plugins: [
        { definition: selfsigned, config: { stateDir: mkdtempSync(join(tmpdir(), 'trellis-tm-ca-')) } },
        { definition: testBackend },
        { definition: prometheus, config: { trafficMetrics: { prometheusUrl: prom.url, window: '20s' } } },
      ],
      settings: { xds: { address: '127.0.0.1:0' } },
      objects: [o.ns('shop')],
    });
    // Enough samples for a 20 s window of both targets (scrapes run late under load).
    await prom.waitFor('count_over_time(envoy_cluster_upstream_rq_total[20s])', (s) => s.length === 3 && s.every((x) => x.value >= 15), 120_000);
  });
  afterAll(async () => {
    await mesh?.stop();
    await prom?.stop();
    for (const s of standIns) await s.stop();
  });

  it("serves a workload's own (server-side) success, failure and latency", async () => {
    const { status, body } = await mesh.getJson<TrafficMetrics>('/plugins/prometheus/traffic-metrics/namespaces/shop/deployments/store');
    expect(status).toBe(200);
    expect(body).toMatchObject({ kind: 'TrafficMetrics', apiVersion: 'metrics.smi-spec.io/v1alpha1', window: '20s', resource: { kind: 'Deployment', namespace: 'shop', name: 'store' } });
    // 20/s and 5/s over 20 s: 400 and 100. increase() extrapolates from the samples in the window, which under
    // load are fewer and late, so the counts are checked loosely and their ratio (1 in 5 failed) closely.
    const ok = value(body, 'success_count');
    const failed = value(body, 'failure_count');
    expect(ok).toBeGreaterThan(200);
    expect(ok).toBeLessThan(520);
    expect(failed / (ok + failed)).toBeGreaterThan(0.17);
    expect(failed / (ok + failed)).toBeLessThan(0.23);
    // All requests take 30 ms: Envoy's bucket is (25, 50], so the quantiles interpolate inside it.
    for (const p of ['p50', 'p90', 'p99']) {
      const m = body.metrics.find((x) => x.name === `${p}_response_latency`);
      expect(m?.unit).toBe('ms');
      expect(Number(m?.value)).toBeGreaterThan(25);
      expect(Number(m?.value)).toBeLessThanOrEqual(50);
    }
  });

  it('serves its edges: one per upstream service, client side', async () => {
    const { body } = await mesh.getJson<{ kind: string; items: TrafficMetrics[] }>('/plugins/prometheus/traffic-metrics/namespaces/shop/deployments/buyer/edges');
    expect(body.kind).toBe('TrafficMetricsList');
    expect(body.items.map((i) => i.edge)).toEqual([
      { direction: 'to', side: 'client', resource: { kind: 'Service', namespace: 'shop', name: 'audit' } },
      { direction: 'to', side: 'client', resource: { kind: 'Service', namespace: 'shop', name: 'store' } },
    ]);
    const [audit, store] = body.items;
    expect(value(audit!, 'failure_count')).toBe(0);
    expect(value(audit!, 'success_count')).toBeGreaterThan(100);
    expect(value(audit!, 'success_count')).toBeLessThan(260);
    expect(Number(audit!.metrics.find((m) => m.name === 'p99_response_latency')?.value)).toBeLessThanOrEqual(5);
    expect(value(store!, 'failure_count') / (value(store!, 'failure_count') + value(store!, 'success_count'))).toBeCloseTo(0.2, 1);
    expect(Number(store!.metrics.find((m) => m.name === 'p50_response_latency')?.value)).toBeGreaterThan(25);
  });

  it('refuses an unknown kind and bad names precisely', async () => {
    const r = await mesh.getJson<{ error: string }>('/plugins/prometheus/traffic-metrics/namespaces/shop/widgets/x', { allowError: true });
    expect(r.status).toBe(404);
    expect(r.body.error).toMatch(/unknown resource kind "widgets"/);
    const bad = await mesh.getJson<{ error: string }>('/plugins/prometheus/traffic-metrics/namespaces/Shop/pods/x', { allowError: true });
    expect(bad.status).toBe(400);
  });
});
