import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Bus, Catalog, controllerRef, MeshStore, MetricsRegistry, silentLogger } from '@trellis/core';
import { objects as o, startTestMesh } from '@trellis/plugin-sdk/testing';
import selfsigned from '@trellis/plugin-certs-selfsigned';
import fileSource, { FileSource } from '@trellis/plugin-source-file';
import testBackend from '../controller/test-backend.ts';

/** The file source feeding the real store and catalog: what `/debug/policies` and the proxies see. */
let dir: string;
let src: FileSource | undefined;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trellis-file-store-'));
});
afterEach(async () => {
  src?.stop();
  await rm(dir, { recursive: true, force: true });
});

const http = [{ kind: 'HTTPRouteGroup', name: 'all' }];

describe('file source -> store', () => {
  it('a missing `}` in a policy file keeps its TrafficTarget (still listed and still allowing), with the file and line reported', async () => {
    const logger = silentLogger();
    const metrics = new MetricsRegistry();
    const store = new MeshStore({ bus: new Bus(logger, metrics), logger, metrics });
    const catalog = new Catalog(store);
    const mesh = [o.ns('shop'), ...o.workload('shop', 'buyer', '10.0.0.1'), ...o.workload('shop', 'store', '10.0.0.2'), o.routeGroup('shop', 'all', [{ name: 'any', pathRegex: '.*' }])];
    await writeFile(join(dir, 'mesh.json'), JSON.stringify({ apiVersion: 'v1', kind: 'List', items: mesh }));
    const policy = JSON.stringify(o.target('shop', 'buyer-to-store', 'store', ['buyer'], http), null, 2);
    await writeFile(join(dir, 'policy.json'), policy);
    src = new FileSource({ dir, watch: true, debounceMs: 20, resyncMs: 0, sink: store.sinkFor('file'), logger, source: 'file' });
    await src.start();
    const outbound = () => catalog.viewFor({ namespace: 'shop', serviceAccount: 'buyer' }).outbound.map((x) => x.service.name);
    expect(outbound()).toEqual(['store']);

    await writeFile(join(dir, 'policy.json'), policy.slice(0, policy.lastIndexOf('}')));
    await vi.waitFor(() => expect(store.sourceErrors()).toHaveLength(1), { timeout: 5_000, interval: 20 });
    expect(store.sourceErrors()[0]).toMatchObject({ source: 'file', file: 'policy.json', line: 1, message: expect.stringMatching(/^invalid JSON.*keeps its last good objects \(1\)/) });
    expect(store.policyStatuses().find((p) => p.name === 'buyer-to-store')).toMatchObject({ kind: 'TrafficTarget', status: 'accepted' });
    expect(outbound()).toEqual(['store']);
    expect(src.readiness()).toEqual({ ready: true });
  });
});

describe('file source in the controller', () => {
  it('a removed directory keeps the mesh (proxies keep their policy), /readyz is 503 with the reason, and it recovers when the directory returns', async () => {
    const meshDir = join(dir, 'mesh');
    await mkdir(meshDir);
    const objs = [o.ns('shop'), ...o.workload('shop', 'buyer', '10.0.0.1'), ...o.workload('shop', 'store', '10.0.0.2'), o.routeGroup('shop', 'all', [{ name: 'any', pathRegex: '.*' }]), o.target('shop', 'buyer-to-store', 'store', ['buyer'], http)];
    await writeFile(join(meshDir, 'mesh.json'), JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objs }));
    await mkdir(join(dir, 'ca'), { mode: 0o700 });
    const mesh = await startTestMesh({
      plugins: [
        { definition: selfsigned, config: { stateDir: join(dir, 'ca') } },
        { definition: fileSource, config: { dir: meshDir, debounce: '20ms', resync: '0s' } },
        { definition: testBackend },
      ],
      settings: { xds: { address: '127.0.0.1:0' } },
    });
    try {
      const readyz = () => mesh.getJson<{ status: string; checks: { name: string; ready: boolean; reason?: string }[] }>('/readyz?verbose', { allowError: true });
      await vi.waitFor(async () => expect((await readyz()).status).toBe(200), { timeout: 10_000, interval: 50 });
      const outbound = () => mesh.resolve(controllerRef).catalog.viewFor({ namespace: 'shop', serviceAccount: 'buyer' }).outbound.map((x) => x.service.name);
      expect(outbound()).toEqual(['store']);
      await rename(meshDir, join(dir, 'moved'));
      await vi.waitFor(async () => expect((await readyz()).status).toBe(503), { timeout: 5_000, interval: 50 });
      const check = (await readyz()).body.checks.find((c) => c.name === 'file');
      expect(check).toMatchObject({ ready: false, reason: expect.stringMatching(/mesh does not exist .*keeping the last good state/) });
      expect(outbound()).toEqual(['store']);
      await rename(join(dir, 'moved'), meshDir);
      await vi.waitFor(async () => expect((await readyz()).status).toBe(200), { timeout: 5_000, interval: 50 });
      expect(outbound()).toEqual(['store']);
    } finally {
      await mesh.stop();
    }
  });
});
