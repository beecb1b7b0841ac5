import 'reflect-metadata'; // @peculiar/x509 resolves its services through tsyringe, which needs the polyfill
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { SecretValue } from '@trellis/plugin-sdk';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export interface WorkloadKey {
  /** PKCS#10 CSR, PEM: proves possession of the key; its names are only a hint (the controller decides). */
  readonly csrPem: string;
  /** PKCS#8 private key, PEM: stays on the workload. */
  readonly privateKey: SecretValue;
}

/** A fresh ECDSA P-256 key and a CSR signed with it (on the workload: the key never leaves this process). */
export async function createWorkloadKey(commonName: string): Promise<WorkloadKey> {
  const keys = await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: `CN=${commonName.replace(/[,+="\\<>;#]/g, '_').slice(0, 64)}`,
    keys: keys,
    signingAlgorithm: EC,
  });
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  return { csrPem: csr.toString('pem'), privateKey: new SecretValue(pem(der, 'PRIVATE KEY')) };
}

export class CsrError extends Error {}

/** Parses a PEM CSR and checks its self-signature; returns its SubjectPublicKeyInfo (DER). */
export async function verifyCsr(csrPem: string): Promise<Uint8Array> {
  if (typeof csrPem !== 'string' || !csrPem.includes('-----BEGIN CERTIFICATE REQUEST-----')) throw new CsrError('csr must be a PEM "CERTIFICATE REQUEST"');
  if (csrPem.length > 16_384) throw new CsrError(`csr is ${csrPem.length} characters; at most 16384`);
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(csrPem);
  } catch (err) {
    throw new CsrError(`csr does not parse: ${(err as Error).message}`);
  }
  let ok: boolean;
  try {
    ok = await csr.verify();
  } catch (err) {
    throw new CsrError(`csr signature cannot be checked: ${(err as Error).message}`);
  }
  if (!ok) throw new CsrError('csr signature does not verify (no proof the requester holds the key)');
  return new Uint8Array(csr.publicKey.rawData);
}

function pem(der: Buffer, label: string): string {
  return `-----BEGIN ${label}-----\n${der.toString('base64').replace(/.{1,64}/g, '$&\n')}-----END ${label}-----\n`;
}
