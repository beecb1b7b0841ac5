/**
 * Certificate issuance benchmark: node-forge (RSA only) vs @peculiar/x509 over node:crypto WebCrypto keys.
 * One "issuance" = leaf key generation + signing by the CA + PEM export of cert and key, as a provider does.
 * Run: npx tsx bench/certs.ts [--count N] [--concurrency C]
 */
import 'reflect-metadata'; // @peculiar/x509 pulls in tsyringe, which needs it
import { webcrypto } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSelfSignedProvider } from '@trellis/plugin-certs-selfsigned';
import { availableParallelism, totalmem } from 'node:os';
import forge from 'node-forge';
import * as x509 from '@peculiar/x509';
import { performance } from 'node:perf_hooks';

const argv = process.argv.slice(2);
const arg = (name: string, def: number): number => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : def;
};
const COUNT = arg('count', 3000);
const CONCURRENCY = arg('concurrency', 32);
type CryptoKeyPair = webcrypto.CryptoKeyPair;
const cryptoApi = webcrypto;
x509.cryptoProvider.set(cryptoApi as never);

const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const RSA = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 } as const;

interface Result {
  route: string;
  leafKey: string;
  count: number;
  concurrency: number;
  certsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0;
}

async function run(route: string, leafKey: string, count: number, concurrency: number, issue: (i: number) => Promise<unknown>): Promise<Result> {
  for (let i = 0; i < Math.min(20, count); i++) await issue(i); // warm-up
  const lat: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        const s = performance.now();
        await issue(i);
        lat.push(performance.now() - s);
      }
    }),
  );
  const wall = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  const r = { route, leafKey, count, concurrency, certsPerSecond: Math.round(count / wall), p50Ms: +pct(lat, 50).toFixed(2), p99Ms: +pct(lat, 99).toFixed(2) };
  console.log(JSON.stringify(r));
  return r;
}

async function peculiarCa(): Promise<{ cert: x509.X509Certificate; keys: CryptoKeyPair }> {
  const keys = await cryptoApi.subtle.generateKey(EC, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: 'CN=bench-ca',
    keys,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    notAfter: new Date(Date.now() + 3650 * 86_400_000),
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true)],
  });
  return { cert, keys };
}

async function peculiarIssue(ca: { cert: x509.X509Certificate; keys: CryptoKeyPair }, alg: webcrypto.EcKeyGenParams | webcrypto.RsaHashedKeyGenParams, i: number): Promise<string> {
  const keys = await cryptoApi.subtle.generateKey(alg, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.create({
    subject: `CN=sa${i}.ns.cluster.local`,
    issuer: ca.cert.subject,
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    notAfter: new Date(Date.now() + 86_400_000),
    extensions: [
      new x509.SubjectAlternativeNameExtension([
        { type: 'dns', value: `sa${i}.ns.cluster.local` },
        { type: 'url', value: `spiffe://cluster.local/ns/ns/sa/sa${i}` },
      ]),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
    ],
  });
  const pkcs8 = await cryptoApi.subtle.exportKey('pkcs8', keys.privateKey);
  return cert.toString('pem') + x509.PemConverter.encode(pkcs8, 'PRIVATE KEY');
}

function forgeCa(): { cert: forge.pki.Certificate; key: forge.pki.rsa.PrivateKey } {
  const kp = forge.pki.rsa.generateKeyPair(2048);
  const cert = forge.pki.createCertificate();
  cert.publicKey = kp.publicKey;
  cert.serialNumber = '01';
  cert.validity.notBefore = new Date();
  cert.validity.notAfter = new Date(Date.now() + 3650 * 86_400_000);
  cert.setSubject([{ name: 'commonName', value: 'bench-ca' }]);
  cert.setIssuer([{ name: 'commonName', value: 'bench-ca' }]);
  cert.setExtensions([{ name: 'basicConstraints', cA: true }]);
  cert.sign(kp.privateKey, forge.md.sha256.create());
  return { cert, key: kp.privateKey };
}

async function forgeIssue(ca: { cert: forge.pki.Certificate; key: forge.pki.rsa.PrivateKey }, i: number): Promise<string> {
  // forge's async keygen uses node:crypto's native RSA when available, else pure JS.
  const kp = await new Promise<forge.pki.rsa.KeyPair>((res, rej) => forge.pki.rsa.generateKeyPair({ bits: 2048, workers: -1 }, (e, k) => (e ? rej(e) : res(k))));
  const cert = forge.pki.createCertificate();
  cert.publicKey = kp.publicKey;
  cert.serialNumber = (i + 2).toString(16).padStart(2, '0');
  cert.validity.notBefore = new Date();
  cert.validity.notAfter = new Date(Date.now() + 86_400_000);
  cert.setSubject([{ name: 'commonName', value: `sa${i}.ns.cluster.local` }]);
  cert.setIssuer(ca.cert.subject.attributes);
  cert.setExtensions([
    { name: 'subjectAltName', altNames: [{ type: 2, value: `sa${i}.ns.cluster.local` }, { type: 6, value: `spiffe://cluster.local/ns/ns/sa/sa${i}` }] },
    { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
  ]);
  cert.sign(ca.key, forge.md.sha256.create());
  return forge.pki.certificateToPem(cert) + forge.pki.privateKeyToPem(kp.privateKey);
}

const results: Result[] = [];
// (c) what Trellis ships: the selfsigned provider (hand-rolled DER + node:crypto keys and signatures).
const provider = createSelfSignedProvider({ stateDir: mkdtempSync(join(tmpdir(), 'trellis-bench-ca-')), caValidityMs: 87_600 * 3_600_000, keyType: 'ecdsa-p256', commonName: 'bench-ca', createRoot: true });
await provider.start?.();
const req = (i: number, keyType: 'ecdsa-p256' | 'rsa-2048') => ({
  commonName: `sa${i}.ns.cluster.local`, dnsNames: [`sa${i}.ns.cluster.local`], uris: [`spiffe://cluster.local/ns/ns/sa/sa${i}`], validityMs: 86_400_000, keyType,
});
results.push(await run('trellis selfsigned (DER + node:crypto)', 'ecdsa-p256', COUNT * 4, CONCURRENCY, (i) => provider.issue(req(i, 'ecdsa-p256'))));
results.push(await run('trellis selfsigned (DER + node:crypto)', 'ecdsa-p256 (sequential)', COUNT, 1, (i) => provider.issue(req(i, 'ecdsa-p256'))));
results.push(await run('trellis selfsigned (DER + node:crypto)', 'rsa-2048', 40, 4, (i) => provider.issue(req(i, 'rsa-2048'))));
const ca = await peculiarCa();
results.push(await run('@peculiar/x509 + node:crypto', 'ecdsa-p256', COUNT, CONCURRENCY, (i) => peculiarIssue(ca, EC, i)));
results.push(await run('@peculiar/x509 + node:crypto', 'ecdsa-p256 (sequential)', Math.min(COUNT, 1000), 1, (i) => peculiarIssue(ca, EC, i)));
results.push(await run('@peculiar/x509 + node:crypto', 'rsa-2048', 40, 4, (i) => peculiarIssue(ca, RSA, i)));
const fca = forgeCa();
results.push(await run('node-forge', 'rsa-2048', 40, 4, (i) => forgeIssue(fca, i)));

const machine = { cores: availableParallelism(), memoryGiB: +(totalmem() / 2 ** 30).toFixed(1), node: process.version };
console.log(JSON.stringify({ scenario: 'certificate-issuance', machine, command: `npx tsx bench/certs.ts --count ${COUNT} --concurrency ${CONCURRENCY}`, results }, null, 2));
