import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { controllerRef, defaultParts, loadConfig, silentLogger, startMesh, type Mesh } from '@trellis/core';
import { ChangeAttributes as A, ChangeSpans, formatNodeId, TypeUrls, type NodeIdentity } from '@trellis/plugin-sdk';
import { objects as o } from '@trellis/plugin-sdk/testing';
import { AdsConnection, type SotwClient } from '../support/ads-client.ts';
import { OtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver.ts';

const http = [{ kind: 'HTTPRouteGroup', name: 'all' }];

async function waitFor<T>(what: string, check: () => T | undefined, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * A controller started from a config file with `plugins.observability: [prometheus, otel]` exports to
 * `OtlpReceiver`, a stand-in for an OpenTelemetry Collector that decodes the real OTLP protobuf (HTTP and gRPC).
 * Proxies are raw ADS clients (test/support/ads-client.ts) that ACK every response, over mTLS.
 */
describe.each(['http/protobuf', 'grpc'] as const)('otel plugin over %s', (protocol) => {
  let dir: string;
  let mesh: Mesh | undefined;
  let receiver: OtlpReceiver | undefined;
  const conns: AdsConnection[] = [];
  const streams: SotwClient[] = [];
  afterEach(async () => {
    for (const s of streams.splice(0)) s.cancel();
    for (const c of conns.splice(0)) c.close();
    await mesh?.stop();
    await receiver?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /** A sidecar that subscribes to CDS and LDS and ACKs every response. */
  const sidecar = async (sa: string): Promise<NodeIdentity> => {
    const node: NodeIdentity = { uuid: randomUUID(), kind: 'sidecar', namespace: 'shop', serviceAccount: sa, trustDomain: 'cluster.local' };
    const handle = mesh!.container.resolve(controllerRef);
    const cert = await handle.certificates().bootstrap(node);
    const conn = new AdsConnection({ address: `127.0.0.1:${handle.ports().port}`, tls: { caPem: cert.trustBundlePem, certPem: cert.chainPem, keyPem: cert.privateKey.reveal() } });
    conns.push(conn);
    const s = conn.sotw();
    streams.push(s);
    s.send({ node: { id: formatNodeId(node) }, type_url: TypeUrls.cluster });
    s.send({ type_url: TypeUrls.listener });
    const acked = new Set<string>();
    void (async () => {
      for (;;) {
        const r = await s.next(120_000).catch(() => undefined);
        if (!r) return;
        s.send({ type_url: r.type_url, version_info: r.version_info, response_nonce: r.nonce });
        acked.add(r.type_url ?? '');
      }
    })();
    await waitFor(`${sa}'s first CDS and LDS`, () => (acked.size === 2 ? true : undefined), 30_000);
    return node;
  };

  it('a policy edit in the file source is one trace whose spans reach the ACK of every affected proxy; metrics go out over OTLP too', async () => {
    receiver = await OtlpReceiver.start();
    dir = await mkdtemp(join(tmpdir(), 'trellis-otel-'));
    await mkdir(join(dir, 'mesh'));
    await mkdir(join(dir, 'ca'), { mode: 0o700 });
    const base = [o.ns('shop'), ...o.workload('shop', 'buyer', '10.0.0.1'), ...o.workload('shop', 'store', '10.0.0.2'), ...o.workload('shop', 'audit', '10.0.0.3'), o.routeGroup('shop', 'all', [{ name: 'any', pathRegex: '.*' }])];
    await writeFile(join(dir, 'mesh', 'mesh.json'), JSON.stringify({ apiVersion: 'v1', kind: 'List', items: base }));
    await writeFile(join(dir, 'mesh', 'policy.json'), JSON.stringify(o.target('shop', 'buyer-to-store', 'store', ['buyer'], http)));
    const endpoint = protocol === 'grpc' ? receiver.grpcUrl : receiver.httpUrl;
    await writeFile(
      join(dir, 'trellis.yaml'),
      [
        'mesh: { name: shopmesh }',
        'plugins:',
        '  sources: [{ use: file, config: { dir: ./mesh, debounce: 20ms, resync: 0s } }]',
        '  proxies: [{ use: envoy }]',
        '  certificates: { use: selfsigned, config: { stateDir: ./ca } }',
        '  observability:',
        '    - use: prometheus',
        `    - use: otel`,
        `      config: { endpoint: "${endpoint}", protocol: ${protocol}, metricsInterval: 500ms, replica: r1, resourceAttributes: { deployment.environment: test } }`,
        'xds: { address: "127.0.0.1:0", debounce: { quiet: 10ms, max: 100ms } }',
        'admin: { address: "127.0.0.1:0" }',
      ].join('\n'),
    );
    mesh = await startMesh({ config: await loadConfig(join(dir, 'trellis.yaml')), parts: defaultParts, logger: silentLogger() });

    const buyers = [await sidecar('buyer'), await sidecar('buyer')];
    const audit = await sidecar('audit');
    const store = await sidecar('store');
    // Nothing changed the mesh since the tracer was set: no trace yet.
    expect(receiver.spans.filter((s) => s.name === ChangeSpans.change)).toEqual([]);

    // The edit: buyer may now reach audit (buyer's clusters change, audit's inbound RBAC changes; store's nothing).
    await writeFile(join(dir, 'mesh', 'policy.json'), JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [o.target('shop', 'buyer-to-store', 'store', ['buyer'], http), o.target('shop', 'buyer-to-audit', 'audit', ['buyer'], http)] }));

    const root = await waitFor('the root span of the change', () => receiver!.spans.find((s) => s.name === ChangeSpans.change));
    const trace = (): ReceivedSpan[] => receiver!.spans.filter((s) => s.traceId === root.traceId);
    const pushes = () => trace().filter((s) => s.name === ChangeSpans.push);
    // The root ends last (after every ACK), so its trace is complete once it arrived; give the batch a moment anyway.
    // A push span (one a proxy) ends at its last answer; each type's answer time is in its `trellis.answer_ms`.
    const answered = (p: ReceivedSpan) => (p.attributes[A.answerMs] as number[] | undefined) ?? [];
    const acked = (p: ReceivedSpan) => p.attributes[A.result] === 'ack' && answered(p).length > 0 && answered(p).every((ms) => ms >= 0);
    await waitFor('every affected proxy ACKed in the trace', () => {
      const ids = new Set(pushes().filter(acked).map((s) => s.attributes[A.nodeId]));
      return [...buyers, audit].every((n) => ids.has(n.uuid)) ? true : undefined;
    });

    expect(receiver.spans.filter((s) => s.name === ChangeSpans.change)).toHaveLength(1);
    expect(root.parentSpanId).toBe('');
    expect(root.attributes).toMatchObject({ [A.source]: 'file', [A.changes]: 1, [A.kinds]: 'TrafficTarget', [A.affectedSnapshots]: 2 });
    expect(root.resource).toMatchObject({ 'service.name': 'trellis-controller', 'service.instance.id': 'r1', 'trellis.mesh': 'shopmesh', 'deployment.environment': 'test' });
    const byName = (n: string) => trace().filter((s) => s.name === n);
    const storeSpan = byName(ChangeSpans.store);
    expect(storeSpan).toHaveLength(1);
    expect(storeSpan[0]!.parentSpanId).toBe(root.spanId);
    const catalog = byName(ChangeSpans.catalog);
    expect(catalog).toHaveLength(1);
    expect(catalog[0]!.parentSpanId).toBe(storeSpan[0]!.spanId);
    expect(catalog[0]!.attributes).toMatchObject({ [A.key]: 'access.smi-spec.io/TrafficTarget/shop/buyer-to-audit', [A.affected]: 2 });
    expect(byName(ChangeSpans.debounce)).toHaveLength(1);
    expect(byName(ChangeSpans.generate).map((s) => s.attributes[A.identity]).sort()).toEqual(['shop/audit', 'shop/buyer']);
    // One push span per affected proxy, each answered with an ACK per type pushed; each carries the proxy's identity
    // and kind, and per type pushed its short name, version and answer time (no events: nothing was refused).
    expect(pushes().map((p) => p.attributes[A.nodeId]).sort()).toEqual([...buyers, audit].map((n) => n.uuid).sort());
    for (const p of pushes()) {
      expect(p.parentSpanId).toBe(root.spanId);
      expect(p.attributes).toMatchObject({ [A.proxyKind]: 'sidecar', [A.result]: 'ack' });
      expect(p.status.code).toBe(0);
      expect(p.events).toEqual([]);
      const types = p.attributes[A.types] as string[];
      expect(types.length).toBeGreaterThan(0);
      expect(types.length).toBeLessThanOrEqual(Number(p.attributes[A.responses]));
      for (const t of types) expect(['Cluster', 'Listener']).toContain(t);
      expect((p.attributes[A.versions] as string[]).map(String).every((v) => v !== '')).toBe(true);
      expect(p.attributes[A.versions]).toHaveLength(types.length);
      expect(answered(p)).toHaveLength(types.length);
      // Each answer lies inside its span, which ends at the last of them.
      for (const ms of answered(p)) expect(ms).toBeLessThanOrEqual(p.end - p.start + 1);
      expect(Math.max(...answered(p))).toBeGreaterThanOrEqual(p.end - p.start - 1);
      expect(p.end).toBeGreaterThanOrEqual(p.start);
    }
    const buyerSpans = pushes().filter((p) => p.attributes[A.identity] === 'shop/buyer');
    expect(buyerSpans).toHaveLength(2);
    for (const p of buyerSpans) expect(p.attributes[A.types]).toContain('Cluster');
    expect(pushes().filter((p) => p.attributes[A.identity] === 'shop/audit')).toHaveLength(1);
    // store is not affected: no span of the change names it.
    expect(trace().some((s) => s.attributes[A.nodeId] === store.uuid || s.attributes[A.identity] === 'shop/store')).toBe(false);
    // The trace covers the whole change: from the source's call to the last ACK.
    const lastAck = Math.max(...pushes().map((p) => p.end));
    expect(root.end).toBeGreaterThanOrEqual(lastAck - 1);
    expect(root.start).toBeLessThanOrEqual(Math.min(...trace().map((s) => s.start)) + 1);

    // Metrics: the registry's values over OTLP, with the same resource.
    // An export after the pushes (each export is cumulative: the newest has them all).
    const exported = (name: string) => receiver!.metrics.findLast((m) => m.name === name);
    const cdsPushes = () => exported('trellis_xds_pushes_total')?.points.find((p) => p.attributes['type'] === 'cluster')?.value ?? 0;
    await waitFor('an OTLP metrics export with the pushes', () => (cdsPushes() >= 6 ? true : undefined));
    const pushesTotal = exported('trellis_xds_pushes_total')!;
    expect(pushesTotal.kind).toBe('sum');
    expect(pushesTotal.resource).toMatchObject({ 'service.name': 'trellis-controller', 'trellis.mesh': 'shopmesh' });
    const latency = exported('trellis_xds_push_latency_seconds');
    expect(latency?.kind).toBe('histogram');
    const point = latency?.points.find((p) => p.attributes['type'] === 'cluster');
    expect(point?.count).toBeGreaterThanOrEqual(4);
    expect(point?.bucketCounts?.reduce((a, b) => a + b, 0)).toBe(point?.count);
    expect(point?.bucketCounts).toHaveLength((point?.bounds?.length ?? 0) + 1);
    expect(receiver.requests).toContain(`${protocol === 'grpc' ? 'grpc' : 'http'} traces`);
    expect(receiver.requests).toContain(`${protocol === 'grpc' ? 'grpc' : 'http'} metrics`);
  });
});
