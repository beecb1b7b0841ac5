import 'reflect-metadata'; // @peculiar/x509 uses tsyringe, which needs the Reflect polyfill
import { X509Certificate, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { afterEach, describe, expect, it } from 'vitest';
import { createVaultProvider } from '@trellis/plugin-certs-vault';
import { ErrorCodes, type SignRequest } from '@trellis/plugin-sdk';
import { createWorkloadKey, verifyCsr } from '@trellis/core';
import { FakeVault, type FakeVaultRole } from '../support/fake-vault.ts';
import { captureLogger } from './helpers.ts';

/** `vault`'s `sign`: the identity service's CSR signed by Vault PKI's `sign/<role>` (against the fake Vault). */

const stops: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const s of stops.splice(0).reverse()) await s();
});

/** The role a mesh on Vault needs for the identity service (docs/certificates.md). */
const MESH_ROLE: Partial<FakeVaultRole> = { useCsrCommonName: false, useCsrSans: false, keyType: 'any', allowedUriSans: ['spiffe://cluster.local/*'] };

async function setup(role: Partial<FakeVaultRole> = MESH_ROLE) {
  const v = await new FakeVault({ tokens: ['root-token'], role }).start();
  stops.push(() => v.stop());
  const logger = captureLogger();
  const p = createVaultProvider({ address: v.url, mount: 'pki', role: 'mesh', auth: { token: 'root-token' }, timeoutMs: 2_000, retries: { max: 1, baseDelayMs: 10 }, logger });
  stops.push(() => p.stop?.());
  return { v, p, logger };
}

const names = {
  commonName: 'bookbuyer.bookstore.cluster.local',
  dnsNames: ['bookbuyer.bookstore.cluster.local'],
  uris: ['spiffe://cluster.local/ns/bookstore/sa/bookbuyer'],
};

/** A CSR as a hostile workload would send it: its own names ask for another identity. */
async function hostileCsr(): Promise<{ csrPem: string; publicKeyDer: Uint8Array }> {
  const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
  const keys = await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: 'CN=checkout.shop.cluster.local',
    keys,
    signingAlgorithm: EC,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: 'checkout.shop.cluster.local' }, { type: 'url', value: 'spiffe://cluster.local/ns/shop/sa/checkout' }])],
  });
  const csrPem = csr.toString('pem');
  return { csrPem, publicKeyDer: await verifyCsr(csrPem) };
}

async function signRequest(csr?: { csrPem: string; publicKeyDer: Uint8Array }): Promise<SignRequest> {
  const c = csr ?? (await createWorkloadKey(names.commonName));
  return { ...names, validityMs: 3_600_000, csrPem: c.csrPem, publicKeyDer: 'publicKeyDer' in c ? c.publicKeyDer : await verifyCsr(c.csrPem) };
}

const sans = (c: X509Certificate) => (c.subjectAltName ?? '').split(', ');

describe('vault sign (CSR)', () => {
  it("signs the CSR's own key with the controller's names (never the CSR's), via POST sign/<role>", async () => {
    const { v, p } = await setup();
    const req = await signRequest(await hostileCsr());
    const signed = await p.sign?.(req);
    expect(signed).toBeDefined();
    if (!signed) return;
    const leaf = new X509Certificate(signed.certificatePem);
    expect(leaf.subject).toBe(`CN=${names.commonName}`);
    expect(sans(leaf)).toEqual([`DNS:${names.dnsNames[0]}`, `URI:${names.uris[0]}`]);
    expect(Buffer.from(leaf.publicKey.export({ type: 'spki', format: 'der' })).equals(Buffer.from(req.publicKeyDer))).toBe(true);
    const ca = new X509Certificate(v.caPem);
    expect(leaf.verify(ca.publicKey)).toBe(true);
    expect(signed.trustBundlePem).toBe(v.caPem);
    expect(signed.chainPem).toBe(signed.certificatePem); // the fake's CA is a root: no intermediates
    expect(signed.serialNumber).toBe(leaf.serialNumber.toUpperCase());
    expect(signed.notAfter.getTime() - signed.notBefore.getTime()).toBe(3_600_000);
    expect('privateKey' in signed).toBe(false);
    expect(v.requests.find((r) => r.path === '/v1/pki/sign/mesh')).toMatchObject({
      method: 'POST',
      headers: { 'x-vault-token': 'root-token' },
      body: { csr: req.csrPem, common_name: names.commonName, alt_names: names.dnsNames.join(','), uri_sans: names.uris.join(','), ttl: '3600s', format: 'pem', exclude_cn_from_sans: true },
    });
  });

  it("refuses a certificate Vault made from the CSR's names (a role with Vault's default use_csr_common_name/use_csr_sans)", async () => {
    const { v, p, logger } = await setup({ ...MESH_ROLE, useCsrCommonName: true, useCsrSans: true });
    const req = await signRequest(await hostileCsr());
    const err = await p.sign?.(req).then(
      () => undefined,
      (e: unknown) => e as Error & { code?: string },
    );
    expect(err).toMatchObject({ code: ErrorCodes.CERT_ISSUE_FAILED, message: expect.stringContaining(`vault ${v.url}/v1/pki/sign/mesh: the signed certificate has CN "checkout.shop.cluster.local"`) });
    expect(err?.message).toContain('set use_csr_common_name=false and use_csr_sans=false on the role');
    // Only the SANs from the CSR: still refused.
    const { p: p2 } = await setup({ ...MESH_ROLE, useCsrSans: true });
    await expect(p2.sign?.(req)).rejects.toMatchObject({ code: ErrorCodes.CERT_ISSUE_FAILED, message: expect.stringMatching(/names \["DNS:checkout.shop.cluster.local","URI:spiffe:\/\/cluster.local\/ns\/shop\/sa\/checkout"\] are not the requested/) });
    expect([err?.message, ...logger.lines].join('\n')).not.toContain('PRIVATE KEY');
  });

  it("surfaces Vault's role refusals precisely: key type, URI SANs; and max_ttl cuts the validity", async () => {
    const req = await signRequest();
    const { v, p } = await setup({ ...MESH_ROLE, keyType: 'rsa' }); // Vault's default key_type
    await expect(p.sign?.(req)).rejects.toMatchObject({ code: ErrorCodes.CERT_ISSUE_FAILED, message: `vault ${v.url}/v1/pki/sign/mesh: 400 role requires keys of type rsa` });
    const { v: v2, p: p2 } = await setup({ ...MESH_ROLE, allowedUriSans: ['spiffe://other.domain/*'] });
    await expect(p2.sign?.(req)).rejects.toMatchObject({
      message: `vault ${v2.url}/v1/pki/sign/mesh: 400 URI Subject Alternative Names are not allowed in this role, but was provided ${names.uris[0]}`,
    });
    const { p: p3, logger } = await setup({ ...MESH_ROLE, maxTtlSeconds: 600 });
    const short = await p3.sign?.(req);
    expect((short?.notAfter.getTime() ?? 0) - (short?.notBefore.getTime() ?? 0)).toBe(600_000);
    expect(logger.lines.find((l) => l.includes('vault answered with warnings'))).toContain('TTL \\"3600s\\" is longer than permitted maxTTL \\"600s\\"');
    expect(v.requests.filter((r) => r.path === '/v1/pki/sign/mesh')).toHaveLength(1); // a 4xx is not retried
  });

  it('a CSR whose signature does not verify is refused by Vault', async () => {
    const { v, p } = await setup();
    const good = await signRequest();
    // The last byte is the signature's: flipping it keeps the DER well-formed but breaks the proof of possession.
    const der = Buffer.from(new x509.Pkcs10CertificateRequest(good.csrPem).rawData);
    der[der.length - 1] = (der[der.length - 1] ?? 0) ^ 0x01;
    await expect(p.sign?.({ ...good, csrPem: x509.PemConverter.encode(der, 'CERTIFICATE REQUEST') })).rejects.toMatchObject({
      code: ErrorCodes.CERT_ISSUE_FAILED,
      message: `vault ${v.url}/v1/pki/sign/mesh: 400 request signature invalid`,
    });
  });
});
