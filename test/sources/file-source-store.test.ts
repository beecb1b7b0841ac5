import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Bus, Catalog, MeshStore, MetricsRegistry, silentLogger } from '@trellis/core';
import { objects as o } from '@trellis/plugin-sdk/testing';
import { FileSource } from '@trellis/plugin-source-file';

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
