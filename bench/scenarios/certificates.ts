/**
 * Scenario 6: certificate issuance through the shipped self-signed provider (ECDSA P-256, the workload
 * default): one issuance = leaf key generation + signature + PEM export, 32 in flight, as the
 * CertificateManager issues them during a connect storm. Runs in the driver process once the controller and
 * the proxies are stopped, so it has the machine to itself.
 */
import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSelfSignedProvider } from '@trellis/plugin-certs-selfsigned';
import type { ScenarioResult } from '../context.ts';
import { round, summarize } from '../stats.ts';

export async function certificateIssuance(count: number, concurrency = 32): Promise<ScenarioResult> {
  const dir = mkdtempSync(join(tmpdir(), 'trellis-bench-certs-'));
  try {
    const provider = createSelfSignedProvider({ stateDir: dir, caValidityMs: 87_600 * 3_600_000, keyType: 'ecdsa-p256', commonName: 'bench-ca', createRoot: true });
    await provider.start?.();
    const req = (i: number) => ({
      commonName: `sa${i}.ns.cluster.local`,
      dnsNames: [`sa${i}.ns.cluster.local`],
      uris: [`spiffe://cluster.local/ns/ns/sa/sa${i}`],
      validityMs: 86_400_000,
      keyType: 'ecdsa-p256' as const,
    });
    for (let i = 0; i < 20; i++) await provider.issue(req(i)); // warm-up
    const lat: number[] = [];
    let next = 0;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < count) {
          const i = next++;
          const s = performance.now();
          await provider.issue(req(i));
          lat.push(performance.now() - s);
        }
      }),
    );
    const wall = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const summary = summarize(lat);
    const perSecond = count / wall;
    return {
      scenario: 'certificates',
      parameters: { count, concurrency, keyType: 'ecdsa-p256', provider: 'selfsigned' },
      figures: { certsPerSecond: Math.round(perSecond), latencyMs: summary, cpuSeconds: round((cpu.user + cpu.system) / 1e6) },
      goal: '>= 2000/s ECDSA P-256, p99 <= 50 ms',
      goalMet: perSecond >= 2000 && summary.p99 <= 50,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
