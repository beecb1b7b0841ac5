import 'reflect-metadata'; // @peculiar/x509 uses tsyringe, which needs the Reflect polyfill
import { webcrypto, X509Certificate } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import type { KeyType } from '@trellis/plugin-sdk';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ALGORITHMS: Record<KeyType, webcrypto.RsaHashedKeyGenParams | (webcrypto.EcKeyGenParams & { hash: string })> = {
  'ecdsa-p256': { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' },
  'rsa-2048': { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
  'rsa-3072': { name: 'RSASSA-PKCS1-v1_5', modulusLength: 3072, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
  'rsa-4096': { name: 'RSASSA-PKCS1-v1_5', modulusLength: 4096, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
};

const pem = (label: string, der: ArrayBuffer): string =>
  `-----BEGIN ${label}-----\n${Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').trimEnd()}\n-----END ${label}-----\n`;

/** A new key pair and a PKCS#10 CSR for it (CN, DNS and URI SANs); the key is PKCS#8 PEM. */
export async function newCsr(req: { commonName: string; dnsNames: readonly string[]; uris: readonly string[]; keyType: KeyType }): Promise<{ csrPem: string; keyPem: string }> {
  const alg = ALGORITHMS[req.keyType];
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']));
  const names: x509.JsonGeneralName[] = [...req.dnsNames.map((value) => ({ type: 'dns' as const, value })), ...req.uris.map((value) => ({ type: 'url' as const, value }))];
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: [{ CN: [req.commonName] }],
    keys,
    signingAlgorithm: alg,
    extensions: names.length ? [new x509.SubjectAlternativeNameExtension(names)] : [],
  });
  return { csrPem: csr.toString('pem'), keyPem: pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)) };
}

/** The DNS and URI SANs of a CSR, sorted, to check a CSR asks for exactly what was decided. */
export function csrNames(csrPem: string): { dns: string[]; uris: string[] } {
  const csr = new x509.Pkcs10CertificateRequest(csrPem);
  const ext = csr.getExtension('2.5.29.17');
  const san = ext ? new x509.SubjectAlternativeNameExtension(ext.rawData) : undefined;
  const items: readonly x509.GeneralName[] = san?.names.items ?? [];
  return { dns: items.filter((n) => n.type === 'dns').map((n) => n.value).sort(), uris: items.filter((n) => n.type === 'url').map((n) => n.value).sort() };
}

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g;

/** The certificates of a PEM bundle, each normalised by node:crypto; throws naming `what` if none parses. */
export function certificatesOf(text: string, what: string): X509Certificate[] {
  const blocks = text.match(CERT_BLOCK) ?? [];
  if (!blocks.length) throw new Error(`${what}: no PEM CERTIFICATE block`);
  return blocks.map((b, i) => {
    try {
      return new X509Certificate(b);
    } catch (err) {
      throw new Error(`${what}: certificate ${i + 1} does not parse: ${(err as Error).message}`, { cause: err });
    }
  });
}
