import 'reflect-metadata'; // @peculiar/x509 uses tsyringe, which needs the Reflect polyfill
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

/** A tiny test CA (ECDSA P-256) for mTLS tests: a CA, a server certificate, and xDS client certificates. */

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type CryptoKey = webcrypto.CryptoKey;

const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export interface IssuedPem {
  certPem: string;
  keyPem: string;
}

export interface TestCa {
  caPem: string;
  /** A server certificate for `localhost` / 127.0.0.1. */
  server(): Promise<IssuedPem>;
  /** A client certificate with the given DNS and URI SANs (e.g. a node id and a SPIFFE ID). */
  client(sans: { dns?: string[]; uri?: string[]; cn?: string }): Promise<IssuedPem>;
}

async function keyPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return `-----BEGIN PRIVATE KEY-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n').trimEnd()}\n-----END PRIVATE KEY-----\n`;
}

export async function createTestCa(name = 'Trellis Test CA'): Promise<TestCa> {
  const caKeys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']));
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(Date.now() + 24 * 3600_000);
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=${name}`,
    keys: caKeys,
    notBefore,
    notAfter,
    signingAlgorithm: alg,
    extensions: [
      new x509.BasicConstraintsExtension(true, 1, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    ],
  });

  async function issue(cn: string, names: x509.JsonGeneralName[], usages: string[]): Promise<IssuedPem> {
    const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']));
    const cert = await x509.X509CertificateGenerator.create({
      subject: `CN=${cn}`,
      issuer: ca.subject,
      publicKey: keys.publicKey,
      signingKey: caKeys.privateKey,
      notBefore,
      notAfter,
      signingAlgorithm: alg,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
        new x509.ExtendedKeyUsageExtension(usages),
        ...(names.length > 0 ? [new x509.SubjectAlternativeNameExtension(names)] : []),
      ],
    });
    return { certPem: cert.toString('pem'), keyPem: await keyPem(keys.privateKey) };
  }

  return {
    caPem: ca.toString('pem'),
    server: () =>
      issue(
        'localhost',
        [
          { type: 'dns', value: 'localhost' },
          { type: 'ip', value: '127.0.0.1' },
        ],
        [x509.ExtendedKeyUsage.serverAuth],
      ),
    client: ({ dns = [], uri = [], cn = 'xds-client' }) =>
      issue(cn, [...dns.map((value) => ({ type: 'dns' as const, value })), ...uri.map((value) => ({ type: 'url' as const, value }))], [
        x509.ExtendedKeyUsage.clientAuth,
      ]),
  };
}
