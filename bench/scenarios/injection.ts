/**
 * Scenario: sidecar injection throughput. The injector webhook (HTTPS, the controller's own code) answers real
 * AdmissionReviews for pod creates, 2 in flight over keep-alive connections, as an API server under a
 * Deployment scale-up calls it. Client and server share this process, so the CPU figure covers both
 * (an upper bound for the webhook alone). OSM's injector: 100 pods/min on 0.5 core.
 */
import { request, Agent } from 'node:https';
import { PodInjector, InjectorServer, MetricsRegistry, silentLogger } from '@trellis/core';
import type { ScenarioResult } from '../context.ts';
import { round, summarize } from '../stats.ts';
import { createSelfSignedProvider } from '@trellis/plugin-certs-selfsigned';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const review = (i: number) =>
  JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: `u${i}`,
      kind: { group: '', version: 'v1', kind: 'Pod' },
      namespace: 'bookstore',
      operation: 'CREATE',
      object: {
        metadata: { generateName: 'bookstore-v1-5d8f7c-', labels: { app: 'bookstore' } },
        spec: {
          serviceAccountName: 'bookstore-v1',
          containers: [{ name: 'bookstore', image: 'bookstore:v1', ports: [{ name: 'http', containerPort: 14001 }], readinessProbe: { httpGet: { path: '/ready', port: 'http' } } }],
        },
      },
    },
  });

export async function injectionThroughput(count: number, concurrency = 2): Promise<ScenarioResult> {
  const dir = mkdtempSync(join(tmpdir(), 'trellis-bench-inject-'));
  const provider = createSelfSignedProvider({ stateDir: dir, caValidityMs: 87_600 * 3_600_000, keyType: 'ecdsa-p256', commonName: 'bench-ca', createRoot: true });
  await provider.start?.();
  const cert = await provider.issue({ commonName: 'trellis-injector', dnsNames: ['localhost'], uris: [], validityMs: 3_600_000, keyType: 'ecdsa-p256' });
  const injector = new PodInjector({
    settings: {
      envoyImage: 'envoyproxy/envoy:v1.30.2',
      trellisImage: 'trellis:bench',
      xdsAddress: 'trellis.trellis-system.svc:15128',
      identityAddress: 'trellis.trellis-system.svc:15130',
      audience: 'trellis',
      trustDomain: () => 'cluster.local',
      trustBundle: () => cert.trustBundlePem,
    },
    secrets: { write: async () => undefined },
    logger: silentLogger(),
    metrics: new MetricsRegistry(),
  });
  const server = new InjectorServer({ address: '127.0.0.1:0', tls: { certPem: cert.chainPem, keyPem: cert.privateKey.reveal() }, injector, logger: silentLogger() });
  const url = await server.start();
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency, ca: cert.trustBundlePem });
  const post = (body: string) =>
    new Promise<void>((resolve, reject) => {
      const req = request(`${url}/mutate-pod-creation`, { method: 'POST', agent, servername: 'localhost', headers: { 'content-type': 'application/json' } }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => (res.statusCode === 200 && text.includes('"patch"') ? resolve() : reject(new Error(`webhook answered ${res.statusCode}: ${text.slice(0, 200)}`))));
      });
      req.on('error', reject);
      req.end(body);
    });
  try {
    for (let i = 0; i < 50; i++) await post(review(i)); // warm-up
    const lat: number[] = [];
    let next = 0;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < count) {
          const body = review(next++);
          const s = performance.now();
          await post(body);
          lat.push(performance.now() - s);
        }
      }),
    );
    const wall = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    const summary = summarize(lat);
    const perSecond = count / wall;
    const perCoreSecond = count / cpuSeconds;
    return {
      scenario: 'injection',
      parameters: { count, concurrency, transport: 'HTTPS keep-alive, client in the same process' },
      figures: { podsPerSecond: Math.round(perSecond), podsPerCpuSecond: Math.round(perCoreSecond), latencyMs: summary, cpuSeconds: round(cpuSeconds) },
      goal: '>= 50 pods/s on one core, p99 admission latency <= 50 ms',
      goalMet: perCoreSecond >= 50 && summary.p99 <= 50,
    };
  } finally {
    agent.destroy();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
