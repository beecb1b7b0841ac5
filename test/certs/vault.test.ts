import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import vault, { DEFAULT_RETRY_MAX_DELAY_MS, configSchema, createVaultProvider, type VaultOptions } from '@trellis/plugin-certs-vault';
import { ErrorCodes, type CertificateRequest } from '@trellis/plugin-sdk';
import { Bus, MetricsRegistry } from '@trellis/core';
import { CertificateManager } from '@trellis/core';
import { FakeVault, type FakeVaultOptions } from '../support/fake-vault.ts';
import { createTestCa } from '../support/pki.ts';
import { captureLogger, lifecycleContract, tempDir, verifyLeaf } from './helpers.ts';

const stops: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const s of stops.splice(0).reverse()) await s();
});

async function fakeVault(opts: FakeVaultOptions = { tokens: ['root-token'] }): Promise<FakeVault> {
  const v = await new FakeVault(opts).start();
  stops.push(() => v.stop());
  return v;
}

function provider(v: FakeVault, over: Partial<VaultOptions> = {}) {
  const logger = captureLogger();
  const p = createVaultProvider({
    address: v.url,
    mount: 'pki',
    role: 'mesh',
    auth: { token: 'root-token' },
    timeoutMs: 2_000,
    retries: { max: 3, baseDelayMs: 20 },
    maxBackgroundDelayMs: 100,
    logger,
    ...over,
  });
  stops.push(() => p.stop?.());
  return { p, logger };
}

const req = (over: Partial<CertificateRequest> = {}): CertificateRequest => ({
  commonName: 'bookbuyer.bookstore.cluster.local',
  dnsNames: ['bookbuyer.bookstore.cluster.local'],
  uris: ['spiffe://cluster.local/ns/bookstore/sa/bookbuyer'],
  validityMs: 3_600_000,
  keyType: 'ecdsa-p256',
  ...over,
});
const want = { dns: ['bookbuyer.bookstore.cluster.local'], uris: ['spiffe://cluster.local/ns/bookstore/sa/bookbuyer'], cn: 'bookbuyer.bookstore.cluster.local' };
const issueCalls = (v: FakeVault) => v.requests.filter((r) => r.path === '/v1/pki/issue/mesh');

describe('vault provider', () => {
  it('has a strict config schema with the token marked secret', () => {
    expect(vault.name).toBe('vault');
    expect(vault.kind).toBe('certificates');
    expect(configSchema.shape.auth.parse({ token: 't' }).ok).toBe(true);
    expect(configSchema.parse({ address: 'https://vault:8200', role: 'mesh', auth: { token: 's.x' } })).toEqual({ ok: true, value: { address: 'https://vault:8200', mount: 'pki', role: 'mesh', auth: { token: 's.x' }, timeout: 10_000, retries: { max: 4, baseDelay: 200 } } });
    expect(configSchema.parse({ address: 'https://vault:8200', role: 'mesh', auth: { kubernetes: { role: 'trellis' } } })).toMatchObject({
      ok: true,
      value: { auth: { kubernetes: { role: 'trellis', jwtPath: '/var/run/secrets/kubernetes.io/serviceaccount/token', mount: 'kubernetes' } } },
    });
    expect(configSchema.parse({ address: 'vault:8200', role: 'mesh', auth: {} })).toMatchObject({
      ok: false,
      issues: expect.arrayContaining([{ path: ['address'], message: expect.stringMatching(/http\(s\):\/\/ URL/) }, { path: ['auth'], message: 'must set exactly one of token, kubernetes' }]),
    });
    // The token is a secret so `trellis config print` redacts it.
    expect(authTokenSchema()?.secret).toBe(true);
  });

  it('meets the lifecycle contract and issues a certificate that verifies', async () => {
    const v = await fakeVault();
    const { p } = provider(v);
    expect(p.readiness?.()).toMatchObject({ ready: false });
    await lifecycleContract(p);
    const c = await p.issue(req());
    verifyLeaf(c, want);
    expect(c.trustBundlePem).toBe(v.caPem);
    expect(issueCalls(v)[0]).toMatchObject({
      method: 'POST',
      headers: { 'x-vault-token': 'root-token' },
      body: { common_name: want.cn, alt_names: want.dns.join(','), uri_sans: want.uris.join(','), ttl: '3600s', format: 'pem', private_key_format: 'pkcs8', key_type: 'ec', key_bits: 256 },
    });
    expect(await p.trustBundle()).toMatchObject({ roots: [v.caPem] });
  });

  it("the fake refuses a private_key_format Vault's PKI API does not accept, and encodes keys as Vault does", async () => {
    const v = await fakeVault();
    const issue = async (body: Record<string, unknown>) => {
      const r = await fetch(`${v.url}/v1/pki/issue/mesh`, { method: 'POST', headers: { 'x-vault-token': 'root-token' }, body: JSON.stringify({ common_name: 'a.example', ...body }) });
      return { status: r.status, body: (await r.json()) as { errors?: string[]; data?: { private_key: string } } };
    };
    const pemKey = await issue({ format: 'pem', private_key_format: 'pem' });
    expect(pemKey.status).toBe(400);
    expect(pemKey.body.errors?.[0]).toMatch(/private_key_format.*"pem"/);
    // der (the default) is the key type's own encoding; pkcs8 is PKCS#8; the PEM envelope comes from `format`.
    expect((await issue({})).body.data?.private_key).toMatch(/^-----BEGIN EC PRIVATE KEY-----/);
    expect((await issue({ key_type: 'rsa', key_bits: 2048 })).body.data?.private_key).toMatch(/^-----BEGIN RSA PRIVATE KEY-----/);
    expect((await issue({ private_key_format: 'pkcs8' })).body.data?.private_key).toMatch(/^-----BEGIN PRIVATE KEY-----/);
  });

  it('issues RSA keys when asked', async () => {
    const v = await fakeVault();
    const { p } = provider(v);
    const c = await p.issue(req({ keyType: 'rsa-2048' }));
    expect(verifyLeaf(c, want).publicKey.asymmetricKeyType).toBe('rsa');
    expect(issueCalls(v)[0]?.body).toMatchObject({ key_type: 'rsa', key_bits: 2048 });
  });

  it('uses kubernetes auth over TLS with a custom CA and a namespace, and logs in again once on 403', async () => {
    const tlsCa = await createTestCa('Vault TLS CA');
    const server = await tlsCa.server();
    const v = await fakeVault({ tls: { certPem: server.certPem, keyPem: server.keyPem }, namespace: 'team-a', kubernetes: { role: 'trellis', jwt: 'sa-jwt', mount: 'k8s' } });
    const t = await tempDir();
    stops.push(t.cleanup);
    const jwtPath = join(t.dir, 'token');
    await writeFile(jwtPath, 'sa-jwt\n');
    const { p } = provider(v, { auth: { kubernetes: { role: 'trellis', jwtPath, mount: 'k8s' } }, namespace: 'team-a', caPem: tlsCa.caPem });
    await p.start?.();
    expect(p.readiness?.()).toEqual({ ready: true });
    verifyLeaf(await p.issue(req()), want);
    const login = v.requests.find((r) => r.path === '/v1/auth/k8s/login');
    expect(login).toMatchObject({ method: 'POST', body: { role: 'trellis', jwt: 'sa-jwt' }, headers: { 'x-vault-namespace': 'team-a' } });
    expect(issueCalls(v)[0]?.headers).toMatchObject({ 'x-vault-token': 'hvs.k8s-1', 'x-vault-namespace': 'team-a' });

    v.issuedTokens.delete('hvs.k8s-1'); // the Vault token expired
    verifyLeaf(await p.issue(req()), want);
    expect(v.requests.filter((r) => r.path === '/v1/auth/k8s/login')).toHaveLength(2);

    // Without the custom CA the TLS handshake fails (retried, then unavailable).
    const { p: untrusting } = provider(v, { auth: { kubernetes: { role: 'trellis', jwtPath, mount: 'k8s' } }, namespace: 'team-a', retries: { max: 0, baseDelayMs: 1 } });
    await expect(untrusting.issue(req())).rejects.toMatchObject({ code: ErrorCodes.CERT_PROVIDER_UNAVAILABLE, message: expect.stringMatching(/unavailable after 1 attempt\(s\): .*(self-signed|certificate)/) });
  });

  it('retries 5xx and timeouts, then succeeds', async () => {
    const v = await fakeVault();
    const { p } = provider(v, { timeoutMs: 150 });
    v.faults.fail5xx = 2;
    verifyLeaf(await p.issue(req()), want);
    expect(issueCalls(v)).toHaveLength(3);
    v.faults.slow = 1;
    v.faults.slowMs = 600;
    verifyLeaf(await p.issue(req()), want);
    expect(issueCalls(v)).toHaveLength(5);
    v.faults.fail5xx = 10;
    await expect(p.issue(req())).rejects.toMatchObject({
      code: ErrorCodes.CERT_PROVIDER_UNAVAILABLE,
      message: `vault ${v.url}/v1/pki/issue/mesh: unavailable after 4 attempt(s): 503 Vault is sealed`,
    });
  });

  it('caps every retry wait, however many retries are configured (retries.max 20 once meant a ~29 h last wait)', async () => {
    const v = await fakeVault();
    const waits: number[] = [];
    const { p } = provider(v, { retries: { max: 20, baseDelayMs: 200 }, sleep: async (ms) => void waits.push(ms) });
    v.faults.fail5xx = 100;
    await expect(p.issue(req())).rejects.toMatchObject({ code: ErrorCodes.CERT_PROVIDER_UNAVAILABLE });
    expect(issueCalls(v)).toHaveLength(21);
    expect(waits).toHaveLength(20);
    expect(Math.max(...waits)).toBeLessThanOrEqual(DEFAULT_RETRY_MAX_DELAY_MS);
    // Exponential until the cap, jittered within [step/2, step].
    expect(waits[0]).toBeGreaterThanOrEqual(100);
    expect(waits[0]).toBeLessThanOrEqual(200);
    expect(waits.slice(-5).every((w) => w >= DEFAULT_RETRY_MAX_DELAY_MS / 2)).toBe(true);
  });

  it('explains 403 and unknown role errors exactly', async () => {
    const v = await fakeVault();
    const { p } = provider(v, { auth: { token: 'wrong-token' } });
    await expect(p.issue(req())).rejects.toMatchObject({
      code: ErrorCodes.CERT_ISSUE_FAILED,
      message: `vault ${v.url}/v1/pki/issue/mesh: 403 permission denied (check the token's policy allows update on pki/issue/mesh)`,
    });
    expect(issueCalls(v)).toHaveLength(1); // 4xx is not retried
    const { p: badRole } = provider(v, { role: 'nope' });
    await expect(badRole.issue(req())).rejects.toMatchObject({ code: ErrorCodes.CERT_ISSUE_FAILED, message: `vault ${v.url}/v1/pki/issue/nope: 400 unknown role: nope` });
  });

  it('is not ready while Vault is down at start, with the reason, and becomes ready when it returns', async () => {
    const v = await fakeVault();
    v.faults.down = true;
    const { p } = provider(v, { retries: { max: 1, baseDelayMs: 10 } });
    await p.start?.();
    expect(p.readiness?.()).toMatchObject({ ready: false, reason: expect.stringMatching(new RegExp(`^vault ${v.url}/v1/pki/ca_chain: unavailable after 2 attempt\\(s\\)`)) });
    v.faults.down = false;
    await vi.waitFor(() => expect(p.readiness?.()).toEqual({ ready: true }), { timeout: 5_000, interval: 20 });
  });

  it('keeps the old certificate while Vault is down during rotation, raises the alert, and recovers', async () => {
    const v = await fakeVault();
    const { p, logger } = provider(v, { retries: { max: 0, baseDelayMs: 10 } });
    await p.start?.();
    const metrics = new MetricsRegistry();
    const bus = new Bus(logger, metrics);
    const manager = new CertificateManager({ provider: p, bus, logger, metrics, trustDomain: 'cluster.local', validityMs: 4_000, renewBefore: 0.5, jitter: 0, bundlePollMs: 0, retry: { baseDelayMs: 100, maxDelayMs: 200 } });
    await manager.start();
    stops.push(() => manager.stop());
    const id = { namespace: 'bookstore', serviceAccount: 'bookbuyer' };
    const first = await manager.workload(id);
    v.faults.down = true;
    const gauge = async () => /trellis_certificates_rotation_failing (\d+)/.exec(await metrics.exposition())?.[1];
    await vi.waitFor(async () => expect(await gauge()).toBe('1'), { timeout: 5_000, interval: 50 });
    expect(await manager.workload(id)).toBe(first); // still valid: keeps serving
    v.faults.down = false;
    await vi.waitFor(async () => expect(await gauge()).toBe('0'), { timeout: 5_000, interval: 50 });
    const second = await manager.workload(id);
    expect(second.serialNumber).not.toBe(first.serialNumber);
    verifyLeaf(second, want);
    const text = logger.lines.join('\n') + JSON.stringify(manager.debugCerts());
    expect(text).toContain('rotation failed');
    expect(text).not.toContain('PRIVATE KEY');
  });
});

/** `auth` is a refined object schema: its `shape` survives the refinement. */
function authTokenSchema(): { secret: boolean } | undefined {
  const auth = configSchema.shape.auth as unknown as { shape?: Record<string, { secret: boolean }> };
  return auth.shape?.token;
}
