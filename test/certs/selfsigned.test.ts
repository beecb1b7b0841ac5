import { X509Certificate } from 'node:crypto';
import { chmod, chown, mkdir, readFile, readdir, rename, stat, symlink, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import selfsigned, { configSchema, createSelfSignedProvider, type SelfSignedProvider } from '@trellis/plugin-certs-selfsigned';
import { ErrorCodes, type CertificateRequest } from '@trellis/plugin-sdk';
import { captureLogger, lifecycleContract, pemBlocks, tempDir, verifyLeaf } from './helpers.ts';
import { recordRegistrations } from '@trellis/plugin-sdk/testing';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function provider(opts: Partial<{ keyType: 'ecdsa-p256' | 'rsa-2048'; dir: string; createRoot: boolean }> = {}): Promise<{ p: SelfSignedProvider; dir: string }> {
  let dir = opts.dir;
  if (!dir) {
    const t = await tempDir();
    cleanups.push(t.cleanup);
    dir = join(t.dir, 'ca');
  }
  const p = createSelfSignedProvider({ stateDir: dir, caValidityMs: 87_600 * 3_600_000, keyType: opts.keyType ?? 'ecdsa-p256', commonName: 'Trellis Root CA', createRoot: opts.createRoot ?? true });
  return { p, dir };
}

const req = (over: Partial<CertificateRequest> = {}): CertificateRequest => ({
  commonName: 'bookbuyer.bookstore.cluster.local',
  dnsNames: ['bookbuyer.bookstore.cluster.local'],
  uris: ['spiffe://cluster.local/ns/bookstore/sa/bookbuyer'],
  validityMs: 3_600_000,
  keyType: 'ecdsa-p256',
  ...over,
});

describe('selfsigned provider', () => {
  it('is a certificates plugin with a strict config schema', async () => {
    expect(selfsigned.name).toBe('selfsigned');
    expect(selfsigned.kind).toBe('certificates');
    const ok = configSchema.parse({ stateDir: './ca' });
    expect(ok).toEqual({ ok: true, value: { stateDir: './ca', caValidity: 87_600 * 3_600_000, keyType: 'ecdsa-p256', commonName: 'Trellis Root CA' } });
    const bad = configSchema.parse({ stateDir: './ca', keyType: 'dsa', extra: 1 });
    expect(bad.ok).toBe(false);
    const t = await tempDir();
    cleanups.push(t.cleanup);
    const inst = await selfsigned.create({ ...recordRegistrations(selfsigned), config: { stateDir: 'ca', caValidity: 3_600_000, keyType: 'ecdsa-p256', commonName: 'x' }, deps: {}, logger: captureLogger(), mesh: { name: 'm', trustDomain: 'cluster.local' }, baseDir: t.dir, createState: true });
    await lifecycleContract(inst);
    expect((await readdir(join(t.dir, 'ca'))).sort()).toEqual(['ca.pem']);
  });

  it('meets the lifecycle contract', async () => {
    const { p } = await provider();
    expect(p.readiness?.().ready).toBe(false);
    await lifecycleContract(p);
  });

  for (const keyType of ['ecdsa-p256', 'rsa-2048'] as const) {
    it(`issues ${keyType} leaves that verify against the trust bundle (CA ${keyType})`, async () => {
      const { p } = await provider({ keyType });
      await p.start?.();
      const c = await p.issue(req({ keyType }));
      const leaf = verifyLeaf(c, { dns: ['bookbuyer.bookstore.cluster.local'], uris: ['spiffe://cluster.local/ns/bookstore/sa/bookbuyer'], cn: 'bookbuyer.bookstore.cluster.local' });
      expect(leaf.publicKey.asymmetricKeyType).toBe(keyType === 'ecdsa-p256' ? 'ec' : 'rsa');
      expect(c.notAfter.getTime() - c.notBefore.getTime()).toBe(3_600_000);
      expect(c.chainPem).toBe(c.certificatePem);
      const bundle = await p.trustBundle();
      expect(bundle.roots).toEqual([c.issuingCaPem]);
      expect(bundle.issuerId).toBe(new X509Certificate(c.issuingCaPem).fingerprint256.replace(/:/g, '').toLowerCase());
      expect(String(c.privateKey)).toBe('[redacted]');
      expect(JSON.stringify(c)).not.toContain('PRIVATE KEY');
    });
  }

  it('encodes long SAN lists and post-2049 validity (GeneralizedTime) correctly', async () => {
    const t = await tempDir();
    cleanups.push(t.cleanup);
    const p = createSelfSignedProvider({ stateDir: t.dir, caValidityMs: 40 * 365 * 86_400_000, keyType: 'ecdsa-p256', commonName: 'Long Lived Root', createRoot: true });
    const dns = Array.from({ length: 40 }, (_, i) => `svc-${i}.bookstore.svc.cluster.local`);
    const c = await p.issue(req({ dnsNames: dns, uris: ['spiffe://cluster.local/ns/bookstore/sa/bookbuyer'] }));
    verifyLeaf(c, { dns, uris: ['spiffe://cluster.local/ns/bookstore/sa/bookbuyer'] });
    const ca = new X509Certificate(c.issuingCaPem);
    expect(new Date(ca.validTo).getUTCFullYear()).toBeGreaterThanOrEqual(2060);
    expect(ca.subject).toBe('O=trellis\nCN=Long Lived Root');
    expect(ca.ca).toBe(true);
  });

  it('gives random serials and rejects bad requests with precise errors', async () => {
    const { p } = await provider();
    const a = await p.issue(req());
    const b = await p.issue(req());
    expect(a.serialNumber).not.toBe(b.serialNumber);
    await expect(p.issue(req({ commonName: 'x'.repeat(65) }))).rejects.toMatchObject({ code: ErrorCodes.CERT_ISSUE_FAILED, message: expect.stringMatching(/commonName .* must be 1-64 characters/) });
    await expect(p.issue(req({ validityMs: 0 }))).rejects.toThrow(/validityMs must be > 0/);
    await expect(p.issue(req({ dnsNames: ['bad name'] }))).rejects.toThrow(/dnsNames: "bad name" is not a DNS name/);
    await expect(p.issue(req({ keyType: 'dsa' as never }))).rejects.toThrow(/keyType must be one of/);
  });

  it('persists the CA (mode 0600) across restarts', async () => {
    const { p, dir } = await provider();
    await p.start?.();
    const first = await p.trustBundle();
    const st = await stat(join(dir, 'ca.pem'));
    expect(st.mode & 0o777).toBe(0o600);
    await p.stop?.();
    const { p: again } = await provider({ dir });
    await again.start?.();
    expect(await again.trustBundle()).toEqual(first);
  });

  it('concurrent creators share one CA', async () => {
    const t = await tempDir();
    cleanups.push(t.cleanup);
    const dir = join(t.dir, 'ca');
    const ps = await Promise.all(Array.from({ length: 6 }, () => provider({ dir })));
    await Promise.all(ps.map(async ({ p }) => p.start?.()));
    const ids = new Set(await Promise.all(ps.map(async ({ p }) => (await p.trustBundle()).issuerId)));
    expect(ids.size).toBe(1);
    expect((await readdir(dir)).sort()).toEqual(['ca.pem']);
  });

  it('rotates the root: prepare (both trusted), promote (new issues), retire (old gone), seen by another process', async () => {
    const { p, dir } = await provider();
    const { p: other } = await provider({ dir }); // e.g. the CLI sharing the directory
    await p.start?.();
    await other.start?.();
    const before = await p.trustBundle();
    const oldLeaf = await p.issue(req());

    const prepared = await other.rotateRoot('prepare');
    expect(prepared.issuerId).toBe(before.issuerId);
    expect(prepared.roots).toHaveLength(2);
    expect(await p.trustBundle()).toEqual(prepared);
    await expect(other.rotateRoot('prepare')).rejects.toThrow(/already prepared/);

    const promoted = await other.rotateRoot('promote');
    expect(promoted.issuerId).not.toBe(before.issuerId);
    expect(promoted.roots).toHaveLength(2);
    expect(await p.trustBundle()).toEqual(promoted);
    const newLeaf = await p.issue(req());
    expect(newLeaf.issuingCaPem).toBe(promoted.roots[0]);
    // Both leaves verify against the two-root bundle.
    verifyLeaf(oldLeaf, { dns: ['bookbuyer.bookstore.cluster.local'], uris: ['spiffe://cluster.local/ns/bookstore/sa/bookbuyer'] });
    expect(pemBlocks(newLeaf.trustBundlePem)).toHaveLength(2);
    expect(pemBlocks(newLeaf.trustBundlePem)).toContain(oldLeaf.issuingCaPem);

    const retired = await other.rotateRoot('retire');
    expect(retired).toEqual({ roots: [promoted.roots[0]], issuerId: promoted.issuerId });
    expect(await p.trustBundle()).toEqual(retired);
    await expect(other.rotateRoot('retire')).rejects.toThrow(/no previous root to retire/);
    await expect(other.rotateRoot('promote')).rejects.toThrow(/run the prepare step first/);
    const st = await stat(join(dir, 'ca.pem'));
    expect(st.mode & 0o777).toBe(0o600);
  });

  it('reports a broken state directory without printing the key', async () => {
    const t = await tempDir();
    cleanups.push(t.cleanup);
    await mkdir(join(t.dir, 'ca'));
    const good = await provider();
    await good.p.start?.();
    const text = await readFile(join(good.dir, 'ca.pem'), 'utf8');
    // A CA file that lost its certificate: only the key is left.
    await writeFile(join(t.dir, 'ca', 'ca.pem'), text.slice(text.indexOf('-----BEGIN PRIVATE KEY-----')), { mode: 0o600 });
    const { p } = await provider({ dir: join(t.dir, 'ca') });
    const err = await p.start!()?.then(() => undefined, (e: unknown) => e as Error);
    expect(err).toMatchObject({ code: ErrorCodes.CERT_PROVIDER_UNAVAILABLE });
    expect(err?.message).toMatch(/no CERTIFICATE block/);
    expect(p.readiness?.()).toMatchObject({ ready: false, reason: expect.stringMatching(/no CERTIFICATE block/) });
    expect(err?.message).not.toContain('PRIVATE KEY');
  });
});

describe('selfsigned state directory trust', () => {
  const startError = async (p: SelfSignedProvider): Promise<Error | undefined> => p.start!()?.then(() => undefined, (e: unknown) => e as Error);
  const newDir = async (): Promise<string> => {
    const t = await tempDir();
    cleanups.push(t.cleanup);
    return join(t.dir, 'ca');
  };

  it('refuses a pre-created state directory that others can write, and creates nothing in it', async () => {
    const dir = await newDir();
    await mkdir(dir);
    await chmod(dir, 0o777);
    const { p } = await provider({ dir });
    const err = await startError(p);
    expect(err).toMatchObject({ code: ErrorCodes.CERT_PROVIDER_UNAVAILABLE });
    expect(err?.message).toMatch(/is writable by others \(mode 0777\): another user could replace the CA; run chmod 700/);
    expect(p.readiness?.()).toMatchObject({ ready: false, reason: expect.stringMatching(/writable by others/) });
    expect(await readdir(dir)).toEqual([]);
    await chmod(dir, 0o770);
    expect((await startError((await provider({ dir })).p))?.message).toMatch(/is writable by its group \(mode 0770\)/);
  });

  it('refuses a state directory under a directory others can write (no sticky bit)', async () => {
    const dir = await newDir();
    await mkdir(join(dir, '..', 'open'));
    await chmod(join(dir, '..', 'open'), 0o777);
    const err = await startError((await provider({ dir: join(dir, '..', 'open', 'ca') })).p);
    expect(err?.message).toMatch(/open \(above .*\) is writable by group or others \(mode 0777\) without the sticky bit/);
  });

  it("never reloads a CA another user swapped in, and keeps issuing from the known one", async () => {
    const { p, dir } = await provider();
    await p.start?.();
    const before = await p.trustBundle();
    // Someone else's CA: a valid CA file, but owned by another uid (or a symlink, or readable by others).
    const { p: foreign, dir: foreignDir } = await provider();
    await foreign.start?.();
    const swap = async (prepare: (file: string) => Promise<void>): Promise<void> => {
      const file = join(dir, `.swap-${Math.random()}`);
      await writeFile(file, await readFile(join(foreignDir, 'ca.pem')), { mode: 0o600 });
      await prepare(file);
      await rename(file, join(dir, 'ca.pem'));
    };
    await swap((f) => chown(f, 4242, 4242));
    expect(await p.trustBundle()).toEqual(before);
    expect((await startError((await provider({ dir })).p))?.message).toMatch(/ca\.pem is owned by uid 4242, not by this user/);
    await swap((f) => chmod(f, 0o644));
    expect(await p.trustBundle()).toEqual(before);
    expect((await startError((await provider({ dir })).p))?.message).toMatch(/ca\.pem is accessible by group or others \(mode 0644\) and holds a private key; run chmod 600/);
    await unlink(join(dir, 'ca.pem'));
    await symlink(join(foreignDir, 'ca.pem'), join(dir, 'ca.pem'));
    expect(await p.trustBundle()).toEqual(before);
    expect((await startError((await provider({ dir })).p))?.message).toMatch(/ca\.pem is a symbolic link/);
    expect((await p.issue(req())).issuingCaPem).toBe(before.roots[0]);
  });

  it('creates no root where one is expected: not without createRoot (CLI), and not when only a rotation file is left', async () => {
    const dir = await newDir();
    const { p } = await provider({ dir, createRoot: false });
    const err = await startError(p);
    expect(err?.message).toMatch(/no CA in .*ca \(ca\.pem is missing\); CLI commands never create a root: start the controller/);
    await expect(stat(dir)).rejects.toThrow(/ENOENT/);
    // The controller's first start creates it (and says so); then a CLI process uses it.
    const logger = captureLogger();
    const ctl = createSelfSignedProvider({ stateDir: dir, caValidityMs: 3_600_000, keyType: 'ecdsa-p256', commonName: 'Trellis Root CA', createRoot: true, logger });
    await ctl.start?.();
    expect(logger.lines.some((l) => l.includes('created a new root CA'))).toBe(true);
    const { p: cli } = await provider({ dir, createRoot: false });
    await cli.start?.();
    expect(await cli.trustBundle()).toEqual(await ctl.trustBundle());
    // ca.pem gone but ca-prev.pem left: damaged state, not a first start.
    await ctl.rotateRoot('prepare');
    await ctl.rotateRoot('promote');
    await unlink(join(dir, 'ca.pem'));
    const again = await startError((await provider({ dir })).p);
    expect(again?.message).toMatch(/ca\.pem is missing but ca-prev\.pem exists: the state is damaged/);
    expect((await readdir(dir)).sort()).toEqual(['ca-prev.pem']);
  });

  it('the plugin creates the root only when its host allows it (createState)', async () => {
    const t = await tempDir();
    cleanups.push(t.cleanup);
    const ctx = { ...recordRegistrations(selfsigned), config: { stateDir: 'ca', caValidity: 3_600_000, keyType: 'ecdsa-p256' as const, commonName: 'x' }, deps: {}, logger: captureLogger(), mesh: { name: 'm', trustDomain: 'cluster.local' }, baseDir: t.dir };
    const cli = await selfsigned.create(ctx);
    await expect(cli.start?.()).rejects.toThrow(/no CA in/);
    const ctl = await selfsigned.create({ ...ctx, createState: true });
    await ctl.start?.();
    expect(ctl.readiness?.()).toEqual({ ready: true });
  });
});
