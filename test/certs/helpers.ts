import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { CertificatesPlugin, IssuedCertificate, LogFields, Logger } from '@trellis/plugin-sdk';

/** A logger that keeps every line as JSON, to assert on (and to prove no key leaks into logs). */
export function captureLogger(lines: string[] = [], base: LogFields = {}): Logger & { lines: string[] } {
  const w = (level: string) => (msg: string, fields?: LogFields) => void lines.push(JSON.stringify({ level, msg, ...base, ...fields }));
  return { lines, debug: w('debug'), info: w('info'), warn: w('warn'), error: w('error'), child: (f) => captureLogger(lines, { ...base, ...f }) };
}

export async function tempDir(prefix = 'trellis-certs-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** The lifecycle contract every plugin instance meets: start, ready, stop, stop again. */
export async function lifecycleContract(plugin: CertificatesPlugin): Promise<void> {
  await plugin.start?.();
  expect(plugin.readiness?.() ?? { ready: true }).toMatchObject({ ready: true });
  await plugin.stop?.();
  await plugin.stop?.();
}

export function pemBlocks(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? [];
}

/** Verifies the leaf's SANs, EKU, validity and that it chains to one root of the bundle. */
export function verifyLeaf(c: IssuedCertificate, want: { dns: string[]; uris: string[]; cn?: string }): X509Certificate {
  const leaf = new X509Certificate(c.certificatePem);
  const sans = (leaf.subjectAltName ?? '').split(', ');
  expect(sans.filter((x) => x.startsWith('DNS:')).map((x) => x.slice(4))).toEqual(want.dns);
  expect(sans.filter((x) => x.startsWith('URI:')).map((x) => x.slice(4))).toEqual(want.uris);
  if (want.cn !== undefined) expect(leaf.subject).toBe(`CN=${want.cn}`);
  expect(leaf.keyUsage).toEqual(expect.arrayContaining(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']));
  expect(leaf.ca).toBe(false);
  expect(new Date(leaf.validFrom).getTime()).toBe(c.notBefore.getTime());
  expect(new Date(leaf.validTo).getTime()).toBe(c.notAfter.getTime());
  expect(leaf.serialNumber.toUpperCase()).toBe(c.serialNumber.toUpperCase());
  const issuer = new X509Certificate(c.issuingCaPem);
  expect(leaf.checkIssued(issuer)).toBe(true);
  expect(leaf.verify(issuer.publicKey)).toBe(true);
  const roots = pemBlocks(c.trustBundlePem).map((p) => new X509Certificate(p));
  expect(roots.some((r) => leaf.checkIssued(r) && leaf.verify(r.publicKey))).toBe(true);
  expect(leaf.checkPrivateKey(createPrivateKey(c.privateKey.reveal()))).toBe(true);
  return leaf;
}
