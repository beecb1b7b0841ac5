import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controllerRef } from '@trellis/core';
import { coreServices, formatNodeId, TypeUrls, type NodeIdentity } from '@trellis/plugin-sdk';
import { objects as o, startTestMesh, type TestMesh } from '@trellis/plugin-sdk/testing';
import selfsigned from '@trellis/plugin-certs-selfsigned';
import prometheus, { type MetricsListener } from '@trellis/plugin-observability-prometheus';
import { AdsConnection, type SotwClient } from '../support/ads-client.ts';
import { PrometheusServer, type Sample } from '../support/prometheus.ts';
import testBackend from '../controller/test-backend.ts';

const http = [{ kind: 'HTTPRouteGroup', name: 'all' }];
const one = (s: Sample[]) => (s.length === 1 ? s[0]!.value : NaN);

/**
 * The real Prometheus (Debian's package) scrapes a running controller, both on the `prometheus` plugin's own
 * listener and on the admin API's /metrics; every assertion is a PromQL answer from Prometheus's HTTP API.
 */
describe('observability: a real Prometheus scraping the controller', () => {
  let mesh: TestMesh;
  let prom: PrometheusServer;
  const conns: AdsConnection[] = [];
  const streams: Record<string, SotwClient> = {};
  const acked: Record<string, { version: string; nonce: string }> = {};

  const node = (sa: string): NodeIdentity => ({ uuid: randomUUID(), kind: 'sidecar', namespace: 'shop', serviceAccount: sa, trustDomain: 'cluster.local' });
  const connect = async (sa: string) => {
    const n = node(sa);
    const handle = mesh.resolve(controllerRef);
    const cert = await handle.certificates().bootstrap(n);
    const conn = new AdsConnection({ address: `127.0.0.1:${handle.ports().port}`, tls: { caPem: cert.trustBundlePem, certPem: cert.chainPem, keyPem: cert.privateKey.reveal() } });
    conns.push(conn);
    const s = conn.sotw();
    s.send({ node: { id: formatNodeId(n), user_agent_name: 'envoy', user_agent_build_version: { version: { major_number: 1, minor_number: 31, patch: 2 } } }, type_url: TypeUrls.cluster });
    const r = await s.next(20_000);
    s.send({ type_url: TypeUrls.cluster, version_info: r.version_info, response_nonce: r.nonce });
    streams[sa] = s;
    acked[sa] = { version: r.version_info ?? '', nonce: r.nonce ?? '' };
  };
  const controllerCount = async (series: string) => {
    const text = await mesh.resolve(coreServices.metrics).exposition();
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    return Number(line?.split(' ')[1] ?? 0);
  };

  beforeAll(async () => {
    mesh = await startTestMesh({
      plugins: [
        { definition: selfsigned, config: { stateDir: mkdtempSync(join(tmpdir(), 'trellis-prom-ca-')) } },
        { definition: testBackend },
        { definition: prometheus, config: { address: '127.0.0.1:0' } },
      ],
      settings: { xds: { address: '127.0.0.1:0', debounce: { quiet: '10ms', max: '100ms' } } },
      objects: [
        o.ns('shop'),
        ...o.workload('shop', 'buyer', '10.0.0.1'),
        ...o.workload('shop', 'store', '10.0.0.2'),
        ...o.workload('shop', 'audit', '10.0.0.3'),
        o.routeGroup('shop', 'all', [{ name: 'any', pathRegex: '.*' }]),
        o.target('shop', 'buyer-to-store', 'store', ['buyer'], http),
      ],
    });
    await connect('buyer');
    await connect('store');
    const own = mesh.instance<MetricsListener>('prometheus')?.url;
    if (!own) throw new Error('the prometheus plugin is not listening');
    prom = await PrometheusServer.start(
      [
        { job: 'trellis', url: own },
        { job: 'trellis-admin', url: `${mesh.adminUrl}/metrics` },
      ],
      { scrapeInterval: '1s' },
    );
  });
  afterAll(async () => {
    for (const c of conns) c.close();
    await prom?.stop();
    await mesh?.stop();
  });

  it('scrapes both the plugin listener and the admin /metrics', async () => {
    await prom.waitFor('up', (s) => s.length === 2 && s.every((x) => x.value === 1));
    expect((await prom.targets()).map((t) => t.job).sort()).toEqual(['trellis', 'trellis-admin']);
    await prom.waitFor('trellis_build_info{job="trellis"}', (s) => one(s) === 1 && /^\d+\.\d+\.\d+/.test(s[0]!.metric['version'] ?? ''));
  });

  it('counts connected proxies by kind and version', async () => {
    const s = await prom.waitFor('sum by (kind, version) (trellis_xds_connected_proxies{job="trellis"})', (x) => one(x) === 2);
    expect(s[0]!.metric).toEqual({ kind: 'sidecar', version: 'envoy/1.31.2' });
  });

  it('shows the rate of pushes going up after a policy change, and its latency quantile', async () => {
    const series = 'trellis_xds_pushes_total{type="cluster"}';
    const before = await controllerCount(series);
    expect(before).toBeGreaterThanOrEqual(2);
    // Prometheus has caught up with the controller and the counter is flat: no pushes in the last 3 s.
    await prom.waitFor(`trellis_xds_pushes_total{job="trellis",type="cluster"}`, (s) => one(s) === before);
    await prom.waitFor(`increase(trellis_xds_pushes_total{job="trellis",type="cluster"}[3s])`, (s) => one(s) === 0);

    // buyer may now reach audit too: its CDS changes, store's does not.
    mesh.apply(o.target('shop', 'buyer-to-audit', 'audit', ['buyer'], http));
    const r = await streams['buyer']!.next(20_000);
    expect(r.resources?.length).toBe(2);
    streams['buyer']!.send({ type_url: TypeUrls.cluster, version_info: r.version_info, response_nonce: r.nonce });
    expect(await controllerCount(series)).toBe(before + 1);

    const rate = await prom.waitFor(`rate(trellis_xds_pushes_total{job="trellis",type="cluster"}[5s])`, (s) => one(s) > 0);
    expect(one(rate)).toBeLessThan(10);
    await prom.waitFor(`trellis_xds_pushes_total{job="trellis-admin",type="cluster"}`, (s) => one(s) === before + 1);
    const p99 = await prom.waitFor(
      'histogram_quantile(0.99, sum by (le) (trellis_xds_push_latency_seconds_bucket{job="trellis",type="cluster"}))',
      (s) => Number.isFinite(one(s)),
    );
    expect(one(p99)).toBeGreaterThan(0);
    expect(one(p99)).toBeLessThanOrEqual(30);
    await prom.waitFor('trellis_xds_debounce_wait_seconds_count{job="trellis"}', (s) => one(s) >= 1);
    await prom.waitFor('histogram_quantile(0.5, sum by (le) (trellis_snapshot_build_duration_seconds_bucket{job="trellis"}))', (s) => one(s) > 0);
  });

  it('counts a NACK under its type and bounded reason', async () => {
    mesh.apply(o.target('shop', 'buyer-to-store-2', 'store', ['buyer'], http));
    mesh.delete({ apiVersion: 'access.smi-spec.io/v1alpha3', kind: 'TrafficTarget', namespace: 'shop', name: 'buyer-to-audit' });
    const r = await streams['buyer']!.next(20_000);
    streams['buyer']!.send({
      type_url: TypeUrls.cluster,
      version_info: acked['buyer']!.version,
      response_nonce: r.nonce,
      error_detail: { code: 3, message: 'Proto constraint validation failed (ClusterValidationError.Name: value length must be at least 1 characters)' },
    });
    await prom.waitFor('trellis_xds_nacks_total{job="trellis",type="cluster",reason="validation"}', (s) => one(s) === 1);
    expect(await prom.query('trellis_xds_nacks_total{job="trellis",reason!="validation"}')).toEqual([]);
  });

  it('histograms the time since each proxy last ACKed, without a label per proxy', async () => {
    const s = await prom.waitFor('sum(trellis_xds_last_ack_age_seconds_count{job="trellis"})', (x) => one(x) === 2);
    expect(s).toHaveLength(1);
    const series = await prom.query('trellis_xds_last_ack_age_seconds_bucket{job="trellis"}');
    expect(new Set(series.map((x) => Object.keys(x.metric).sort().join(',')))).toEqual(new Set(['__name__,instance,job,kind,le']));
    const median = await prom.waitFor('histogram_quantile(0.5, sum by (le) (trellis_xds_last_ack_age_seconds_bucket{job="trellis"}))', (x) => Number.isFinite(one(x)));
    expect(one(median)).toBeGreaterThanOrEqual(0);
    expect(one(median)).toBeLessThan(3600);
  });

  it('reports the certificate expiry horizon', async () => {
    const s = await prom.waitFor('trellis_certificates_expiry_horizon_seconds{job="trellis",kind="workload"}', (x) => one(x) > 0);
    expect(one(s)).toBeLessThanOrEqual(24 * 3600);
  });
});
