import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import selfsigned from '@trellis/plugin-certs-selfsigned';
import { startTestMesh, type TestMesh } from '@trellis/plugin-sdk/testing';
import rateLimits from './plugins/rate-limit-policy.ts';

const rl = (name: string, rps: unknown, namespace = 'shop') => ({ apiVersion: 'policy.acme.io/v1', kind: 'RateLimit', metadata: { name, namespace }, spec: { requestsPerSecond: rps } });
type Status = { kind: string; namespace: string; name: string; status: string; reason?: string };

describe('policy kinds contributed by a plugin', () => {
  let mesh: TestMesh;
  beforeAll(async () => {
    mesh = await startTestMesh({ plugins: [{ definition: selfsigned, config: { stateDir: mkdtempSync(join(tmpdir(), 'trellis-pk-ca-')) } }, { definition: rateLimits }] });
  });
  afterAll(async () => {
    await mesh?.stop();
  });

  const statuses = async () => (await mesh.getJson<{ policies: Status[] }>('/debug/policies')).body.policies.filter((p) => p.kind === 'RateLimit');
  const seen = async () => (await mesh.getJson<{ name: string; rps: number }[]>('/debug/rate-limits')).body;

  it('stores valid objects of the kind, lists them, and hands them to the plugin', async () => {
    mesh.apply(rl('api', 50));
    expect(await statuses()).toEqual([expect.objectContaining({ namespace: 'shop', name: 'api', status: 'accepted' })]);
    expect(await seen()).toEqual([{ name: 'shop/api', rps: 50 }]);
  });

  it('rejects an invalid object with the field and why, keeping the last good version', async () => {
    mesh.apply(rl('api', -1));
    expect(await statuses()).toEqual([
      expect.objectContaining({ name: 'api', status: 'invalid', reason: 'spec.requestsPerSecond: must be a positive integer, got -1 (keeping the last good version)' }),
    ]);
    expect(await seen()).toEqual([{ name: 'shop/api', rps: 50 }]);
    mesh.apply(rl('bad name!', 5));
    expect((await statuses()).find((s) => s.status === 'invalid' && s.reason?.startsWith('metadata.name'))).toBeDefined();
  });

  it('removes a deleted object, and ignores other unknown kinds as before', async () => {
    mesh.delete({ apiVersion: 'policy.acme.io/v1', kind: 'RateLimit', namespace: 'shop', name: 'api' });
    expect(await seen()).toEqual([]);
    mesh.apply({ apiVersion: 'policy.acme.io/v2', kind: 'RateLimit', metadata: { name: 'x', namespace: 'shop' }, spec: {} });
    const ignored = (await mesh.getJson<{ ignored: { kind: string; apiVersion: string }[] }>('/debug/policies')).body.ignored;
    expect(ignored).toEqual([expect.objectContaining({ apiVersion: 'policy.acme.io/v2', kind: 'RateLimit' })]);
  });
});
