import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runPluginConformance } from '@trellis/plugin-sdk/testing';
import selfsigned from '@trellis/plugin-certs-selfsigned';
import vault from '@trellis/plugin-certs-vault';
import fileSource from '@trellis/plugin-source-file';
import { FakeVault } from '../support/fake-vault.ts';

const dirs: string[] = [];
const temp = (prefix: string) => {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
};
const stops: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const s of stops) await s();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const FULL = ['config', 'create', 'start', 'ready', 'issue', 'stop', 'stop again'];

describe('SDK conformance kit on the built-in plugins', () => {
  it('selfsigned passes the certificates contract', async () => {
    const r = await runPluginConformance(selfsigned, { config: { stateDir: temp('trellis-conf-ca-') } });
    expect(r.steps).toEqual(FULL);
  });

  it('vault passes the certificates contract against the fake Vault (token auth)', async () => {
    const v = await new FakeVault({ tokens: ['root-token'] }).start();
    stops.push(() => v.stop());
    const r = await runPluginConformance(vault, { config: { address: v.url, role: 'mesh', auth: { token: 'root-token' } } });
    expect(r.steps).toEqual(FULL);
    expect(v.requests.some((q) => q.path.includes('/issue/mesh'))).toBe(true);
  });

  it('the file source passes the lifecycle contract and delivers the example mesh', async () => {
    const r = await runPluginConformance(fileSource, { config: { dir: join(import.meta.dirname, '../../examples/bookstore'), watch: false } });
    expect(r.steps).toEqual(['config', 'create', 'start', 'ready', 'stop', 'stop again']);
    expect(r.sink.objects.size).toBeGreaterThan(20);
    expect(r.sink.errors).toEqual([]);
  });
});
