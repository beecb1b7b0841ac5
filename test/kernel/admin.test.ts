import { afterEach, describe, expect, it } from 'vitest';
import { startTestMesh, type TestMesh } from '@trellis/plugin-sdk/testing';
import hello from 'trellis-plugin-hello';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { definePlugin } from '@trellis/plugin-sdk';
import selfsigned from '@trellis/plugin-certs-selfsigned';

const certs = () => ({ definition: selfsigned, config: { stateDir: mkdtempSync(join(tmpdir(), 'trellis-admin-ca-')) } });

const notReady = definePlugin({
  name: 'lagging',
  kind: 'source',
  version: '0.0.1',
  coreRange: '*',
  create: () => ({ readiness: () => ({ ready: false, reason: 'initial list not finished' }) }),
});

describe('admin server', () => {
  let mesh: TestMesh | undefined;
  afterEach(async () => {
    await mesh?.stop();
    mesh = undefined;
  });

  it('serves livez, readyz (with verbose checks), metrics and debug/plugins', async () => {
    mesh = await startTestMesh({ plugins: [{ definition: hello, config: { namespaces: ['a'] } }, certs()] });
    expect((await mesh.getJson('/livez')).body).toEqual({ status: 'ok' });
    expect(await mesh.getJson('/readyz')).toEqual({ status: 200, body: { status: 'ready' } });
    const verbose = await mesh.getJson<{ checks: { name: string; ready: boolean }[] }>('/readyz?verbose');
    expect(verbose.body.checks.map((c) => [c.name, c.ready])).toEqual([
      ['admin', true],
      ['selfsigned', true],
      ['certificate-manager', true],
      ['hello', true],
      ['sources-synced', true],
      ['xds-server', true],
      ['identity-service', true],
      ['injector', true],
    ]);
    const metrics = await (await fetch(`${mesh.adminUrl}/metrics`)).text();
    expect(metrics).toMatch(/trellis_build_info\{node="v\d+[^"]*",version="0\.1\.0"\} 1/);
    expect(metrics).toContain('trellis_plugin_up{kind="source",plugin="hello"} 1');
    const plugins = await mesh.getJson<{ name: string; kind: string; version: string; state: string }[]>('/debug/plugins');
    expect(plugins.body.map((p) => [p.name, p.kind, p.version, p.state])).toEqual([
      ['selfsigned', 'certificates', '0.1.0', 'running'],
      ['hello', 'source', '1.0.0', 'running'],
    ]);
    expect((await mesh.getJson('/debug/nope', { allowError: true })).status).toBe(404);
  });

  it('answers 503 on /readyz with the reason while a plugin is not ready', async () => {
    mesh = await startTestMesh({ plugins: [{ definition: notReady }, certs()] });
    const r = await mesh.getJson<{ status: string; checks: { name: string; reason?: string }[] }>('/readyz?verbose', { allowError: true });
    expect(r.status).toBe(503);
    expect(r.body.checks.find((c) => c.name === 'lagging')?.reason).toBe('initial list not finished');
  });
});
