import { X509Certificate } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import selfsigned, { createSelfSignedProvider, type SelfSignedProvider } from '@trellis/plugin-certs-selfsigned';
import { MemoryLogger, runPluginConformance } from '@trellis/plugin-sdk/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeApiServer } from '../support/fake-apiserver/index.ts';

/** The self-signed CA kept in a Kubernetes Secret (`caSecret`), against the fake API server. */

const NS = 'trellis-system';
let api: FakeApiServer;
let kubeconfig: string;

beforeAll(async () => {
  api = await FakeApiServer.start?.();
  api.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  kubeconfig = join(await mkdtemp(join(tmpdir(), 'trellis-ca-secret-')), 'kubeconfig');
  await api.kubeconfig(kubeconfig);
});
afterAll(async () => {
  api.faults.latencyMs = 0;
  await api.stop();
});

function provider(name: string, logger: MemoryLogger, createRoot = true): SelfSignedProvider {
  return createSelfSignedProvider({ caSecret: { namespace: NS, name, kubeconfig }, caValidityMs: 24 * 3600_000, keyType: 'ecdsa-p256', commonName: 'Trellis Root CA', logger, createRoot });
}

const secretOf = (name: string) => api.objects('v1', 'Secret').find((s) => s.metadata.namespace === NS && s.metadata.name === name);
const posts = (_name: string): number => api.requests.filter((r) => r.method === 'POST' && r.path === `/api/v1/namespaces/${NS}/secrets`).length;
const issue = (p: SelfSignedProvider) => p.issue({ commonName: 'a.b.cluster.local', dnsNames: ['a.b.cluster.local'], uris: [], validityMs: 3600_000, keyType: 'ecdsa-p256' });
const verifiesWith = (certPem: string, roots: readonly string[]): boolean => roots.some((r) => new X509Certificate(certPem).verify(new X509Certificate(r).publicKey));

describe('CA in a Secret', () => {
  it('two replicas racing for the Secret: exactly one root, both use it', async () => {
    const logs = [new MemoryLogger(), new MemoryLogger()];
    const [a, b] = [provider('race', logs[0]!), provider('race', logs[1]!)];
    const before = posts('race');
    // Slow answers so both replicas see 404 before either creates: both POST, one gets 409 and reads the other's.
    api.faults.latencyMs = 300;
    try {
      await Promise.all([a.start?.(), b.start?.()]);
    } finally {
      api.faults.latencyMs = 0;
    }
    expect(posts('race') - before).toBe(2);
    const created = logs.flatMap((l) => l.lines).filter((l) => l.msg.includes('created a new root CA'));
    expect(created).toHaveLength(1);
    const [ba, bb] = await Promise.all([a.trustBundle(), b.trustBundle()]);
    expect(ba.roots).toHaveLength(1);
    expect(bb).toEqual(ba);
    const secret = secretOf('race');
    expect(Object.keys((secret?.data ?? {}))).toEqual(['ca.pem']);
    const stored = Buffer.from((secret!.data as Record<string, string>)['ca.pem']!, 'base64').toString('utf8');
    expect(new X509Certificate(stored).fingerprint256.replace(/:/g, '').toLowerCase()).toBe(ba.issuerId);
    // A certificate issued by one replica verifies with the other's bundle.
    expect(verifiesWith((await issue(a)).certificatePem, bb.roots)).toBe(true);
    expect(verifiesWith((await issue(b)).certificatePem, ba.roots)).toBe(true);
  });

  it('a CLI process (createRoot false) never creates the Secret', async () => {
    const p = provider('absent', new MemoryLogger(), false);
    await expect(p.start?.()).rejects.toThrow(/no CA in secret trellis-system\/absent; CLI commands never create a root/);
    expect(p.readiness?.()).toMatchObject({ ready: false, reason: expect.stringContaining('secret trellis-system/absent') });
    expect(secretOf('absent')).toBeUndefined();
  });

  it('root rotation steps are stored in the Secret and seen by the other replica', async () => {
    const [a, b] = [provider('rotate', new MemoryLogger()), provider('rotate', new MemoryLogger())];
    await a.start?.();
    await b.start?.();
    const first = await b.trustBundle();
    const prepared = await a.rotateRoot('prepare');
    expect(prepared.roots).toHaveLength(2);
    expect(prepared.issuerId).toBe(first.issuerId);
    expect(Object.keys((secretOf('rotate')?.data ?? {})).sort()).toEqual(['ca-next.pem', 'ca.pem']);
    expect(await b.trustBundle()).toEqual(prepared);
    // Racing a second prepare: the Secret changed meanwhile (409), the step is re-checked and refused.
    await expect(b.rotateRoot('prepare')).rejects.toThrow(/already prepared/);
    const promoted = await b.rotateRoot('promote');
    expect(promoted.issuerId).not.toBe(first.issuerId);
    expect(promoted.roots).toHaveLength(2);
    expect((await a.trustBundle()).issuerId).toBe(promoted.issuerId);
    const issued = await issue(a);
    expect(verifiesWith(issued.certificatePem, [promoted.roots[0]!])).toBe(true);
    const retired = await a.rotateRoot('retire');
    expect(retired.roots).toHaveLength(1);
    expect(Object.keys((secretOf('rotate')?.data ?? {}))).toEqual(['ca.pem']);
    expect((await b.trustBundle()).roots).toEqual(retired.roots);
  });

  it('concurrent prepare steps on two replicas: one wins, the other is told why (409 re-read)', async () => {
    const [a, b] = [provider('conflict', new MemoryLogger()), provider('conflict', new MemoryLogger())];
    await a.start?.();
    await b.start?.();
    api.faults.latencyMs = 200;
    let results;
    try {
      results = await Promise.allSettled([a.rotateRoot('prepare'), b.rotateRoot('prepare')]);
    } finally {
      api.faults.latencyMs = 0;
    }
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.find((r) => r.status === 'rejected');
    expect(String(rejected?.reason)).toMatch(/already prepared/);
    expect(Object.keys((secretOf('conflict')?.data ?? {})).sort()).toEqual(['ca-next.pem', 'ca.pem']);
  });

  it('the private key never appears in logs or errors', async () => {
    const logger = new MemoryLogger();
    const p = provider('quiet', logger);
    await p.start?.();
    await p.rotateRoot('prepare');
    api.faults.fail(1, 403, /secrets\/quiet/);
    await expect(p.rotateRoot('promote')).rejects.toThrow(/secret trellis-system\/quiet: get: 403/);
    const data = Object.values((secretOf('quiet')?.data ?? {}) as Record<string, string>);
    const keys = data.map((d) => Buffer.from(d, 'base64').toString('utf8').split('-----BEGIN PRIVATE KEY-----')[1]!.slice(0, 40));
    const text = JSON.stringify(logger.lines);
    expect(text).not.toContain('PRIVATE KEY');
    for (const d of data) expect(text).not.toContain(d.slice(0, 40));
    for (const k of keys) expect(text).not.toContain(k);
  });

  it('passes the SDK conformance kit with caSecret', async () => {
    const report = await runPluginConformance(selfsigned, { config: { caSecret: { namespace: NS, name: 'conformance', kubeconfig } } });
    expect(report.steps).toContain('issue');
    expect(secretOf('conformance')).toBeDefined();
  });

  it('config: exactly one of stateDir, caSecret', async () => {
    const check = (config: unknown) => {
      const r = selfsigned.configSchema!.parse(config, [], { baseDir: '/' });
      if (!r.ok) throw new Error('schema');
      return selfsigned.validateConfig!(r.value, { baseDir: '/' });
    };
    expect(await check({ stateDir: '/tmp/x', caSecret: { namespace: NS, name: 'n' } })).toEqual([{ path: [], message: 'set exactly one of stateDir, caSecret' }]);
    expect(await check({})).toEqual([{ path: [], message: 'set exactly one of stateDir, caSecret' }]);
    expect(await check({ caSecret: { namespace: NS, name: 'n' } })).toEqual([]);
  });
});
