/**
 * Scenario 7: translation cost vs mesh size, in process (no network): the generated mesh applied to a
 * MeshStore, then for a sample of identities Catalog.viewFor + the Envoy generator (cold, each identity
 * once). Reports milliseconds and bytes per snapshot and per resource as the mesh grows.
 */
import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Bus, MetricsRegistry, silentLogger } from '@trellis/core';
import { createSelfSignedProvider } from '@trellis/plugin-certs-selfsigned';
import { createEnvoyGenerator } from '@trellis/plugin-proxy-envoy';
import type { KubeObject } from '@trellis/plugin-sdk';
// eslint-disable-next-line no-restricted-imports -- @trellis/core does not export the store and catalog; the bench drives them directly.
import { Catalog } from '../../core/src/catalog/index.ts';
// eslint-disable-next-line no-restricted-imports -- (same)
import { MeshStore } from '../../core/src/store/index.ts';
// eslint-disable-next-line no-restricted-imports -- (same)
import { createResourceFactory } from '../../core/src/xds/index.ts';
import type { ScenarioResult } from '../context.ts';
import { buildMesh, meshConfigObject } from '../mesh-gen.ts';
import { round } from '../stats.ts';

export interface TranslationRow {
  services: number;
  objects: number;
  applyMs: number;
  sampledIdentities: number;
  msPerSnapshot: number;
  resourcesPerSnapshot: number;
  bytesPerSnapshot: number;
  msPerResource: number;
  bytesPerResource: number;
  heapUsedBytes: number;
  /** Permissive mode (every service visible to every identity), up to 3000 services, 20 identities. */
  permissive?: { msPerSnapshot: number; resourcesPerSnapshot: number; bytesPerSnapshot: number };
}

async function measureSize(services: number, cert: Awaited<ReturnType<ReturnType<typeof createSelfSignedProvider>['issue']>>): Promise<TranslationRow> {
  const { files, services: svcs } = buildMesh(services);
  const metrics = new MetricsRegistry();
  const logger = silentLogger();
  const store = new MeshStore({ bus: new Bus(logger, metrics), logger, metrics });
  const catalog = new Catalog(store);
  const sink = store.sinkFor('bench');
  const objs = [...files.values()].flat() as KubeObject[];
  const t0 = performance.now();
  for (const o of objs) sink.apply(o);
  const applyMs = performance.now() - t0;
  const generator = createEnvoyGenerator();
  const resources = createResourceFactory();
  const sample = svcs.filter((_, i) => i % Math.max(1, Math.floor(svcs.length / 200)) === 0).slice(0, 200);
  let count = 0;
  let bytes = 0;
  const t1 = performance.now();
  for (const s of sample) {
    const view = catalog.viewFor({ namespace: s.namespace, serviceAccount: s.serviceAccount });
    const node = { uuid: '00000000-0000-4000-8000-000000000000', kind: 'sidecar', namespace: s.namespace, serviceAccount: s.serviceAccount, trustDomain: 'cluster.local' };
    const out = generator.generate(view, { node, resources, certificate: cert });
    count += out.length;
    for (const r of out) bytes += r.body.length;
  }
  const genMs = performance.now() - t1;
  let permissive: TranslationRow['permissive'];
  if (services <= 3000) {
    sink.apply(meshConfigObject({ permissive: true, egress: false }) as KubeObject);
    const few = sample.slice(0, 20);
    let pc = 0;
    let pb = 0;
    const t2 = performance.now();
    for (const s of few) {
      const view = catalog.viewFor({ namespace: s.namespace, serviceAccount: s.serviceAccount });
      const node = { uuid: '00000000-0000-4000-8000-000000000000', kind: 'sidecar', namespace: s.namespace, serviceAccount: s.serviceAccount, trustDomain: 'cluster.local' };
      const out = generator.generate(view, { node, resources, certificate: cert });
      pc += out.length;
      for (const r of out) pb += r.body.length;
    }
    permissive = { msPerSnapshot: round((performance.now() - t2) / few.length, 2), resourcesPerSnapshot: round(pc / few.length, 1), bytesPerSnapshot: Math.round(pb / few.length) };
  }
  catalog.dispose();
  return {
    services,
    objects: objs.length,
    applyMs: round(applyMs, 1),
    sampledIdentities: sample.length,
    msPerSnapshot: round(genMs / sample.length, 3),
    resourcesPerSnapshot: round(count / sample.length, 1),
    bytesPerSnapshot: Math.round(bytes / sample.length),
    msPerResource: round(genMs / Math.max(1, count), 4),
    bytesPerResource: Math.round(bytes / Math.max(1, count)),
    heapUsedBytes: process.memoryUsage().heapUsed,
    ...(permissive && { permissive }),
  };
}

export async function translationCost(maxServices: number): Promise<ScenarioResult> {
  const dir = mkdtempSync(join(tmpdir(), 'trellis-bench-tr-'));
  try {
    const provider = createSelfSignedProvider({ stateDir: dir, caValidityMs: 87_600 * 3_600_000, keyType: 'ecdsa-p256', commonName: 'bench-ca', createRoot: true });
    await provider.start?.();
    const cert = await provider.issue({ commonName: 'x.bench', dnsNames: ['x.bench'], uris: [], validityMs: 86_400_000, keyType: 'ecdsa-p256' });
    await measureSize(100, cert); // warm-up: proto loading and JIT, not part of any size's figure
    const rows: TranslationRow[] = [];
    for (const n of [100, 300, 1000, 3000, 10_000].filter((x) => x <= maxServices)) rows.push(await measureSize(n, cert));
    return {
      scenario: 'translation',
      parameters: { sizes: rows.map((r) => r.services), sampledIdentitiesPerSize: 'up to 200', backend: 'envoy' },
      figures: { rows },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
