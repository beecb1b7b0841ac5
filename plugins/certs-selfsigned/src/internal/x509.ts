import { createHash, createPublicKey, generateKeyPair, generateKeyPairSync, randomBytes, sign, type KeyObject, type X509Certificate } from 'node:crypto';
import { promisify } from 'node:util';
import type { KeyType } from '@trellis/plugin-sdk';
import { bitString, booleanTrue, explicit, ia5String, integer, nullValue, octetString, oid, readTlv, seq, set, time, utf8String } from './der.ts';

const generateKeyPairAsync = promisify(generateKeyPair);

const OID = {
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  sha256WithRsa: '1.2.840.113549.1.1.11',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  subjectKeyId: '2.5.29.14',
  authorityKeyId: '2.5.29.35',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
} as const;

/**
 * RSA keygen (~100 ms) runs on libuv's thread pool so it does not block the event loop; P-256 keygen takes
 * ~60 us, less than the thread-pool round trip, so it runs inline.
 */
export async function generateKey(keyType: KeyType): Promise<KeyObject> {
  if (keyType === 'ecdsa-p256') return generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
  const bits = Number(keyType.slice(4));
  return (await generateKeyPairAsync('rsa', { modulusLength: bits, publicExponent: 0x10001 })).privateKey;
}

function name(commonName: string, organization?: string): Buffer {
  const rdns = [set(seq(oid(OID.commonName), utf8String(commonName)))];
  if (organization) rdns.unshift(set(seq(oid(OID.organization), utf8String(organization))));
  return seq(...rdns);
}

function signatureAlgorithm(signer: KeyObject): Buffer {
  return signer.asymmetricKeyType === 'ec' ? seq(oid(OID.ecdsaWithSha256)) : seq(oid(OID.sha256WithRsa), nullValue());
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return critical ? seq(oid(id), booleanTrue(), octetString(value)) : seq(oid(id), octetString(value));
}

/** KeyUsage bits, bit 0 = digitalSignature (most significant bit of the first byte). */
function keyUsage(bits: number[]): Buffer {
  let v = 0;
  for (const b of bits) v |= 0x80 >> b;
  let unused = 0;
  while (unused < 7 && !(v & (1 << unused))) unused++;
  return bitString(Buffer.from([v]), unused);
}

/** Key identifier: SHA-1 of the DER SubjectPublicKeyInfo (an RFC 5280 "other method"; only needs consistency). */
export function keyId(spkiDer: Buffer): Buffer {
  return createHash('sha1').update(spkiDer).digest();
}

/** A random, positive, non-zero-led 128-bit serial (CA/B recommends >= 64 bits of entropy). */
function randomSerial(): Buffer {
  const b = randomBytes(16);
  b[0] = ((b[0] ?? 0) & 0x7f) | 0x40;
  return b;
}

export interface SignParams {
  readonly subjectKey: KeyObject;
  readonly commonName: string;
  readonly organization?: string;
  readonly dnsNames?: readonly string[];
  readonly uris?: readonly string[];
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly isCa: boolean;
  /** The issuer: absent for a self-signed root. */
  readonly issuer?: { readonly key: KeyObject; readonly subjectDer: Buffer; readonly spkiDer: Buffer };
}

export interface Signed {
  readonly der: Buffer;
  readonly pem: string;
  readonly serialHex: string;
}

/** Builds and signs an X.509 v3 certificate. */
export function signCertificate(p: SignParams): Signed {
  const spki = p.subjectKey.asymmetricKeyType === 'ec' || p.subjectKey.asymmetricKeyType === 'rsa' ? publicSpki(p.subjectKey) : undefined;
  if (!spki) throw new Error(`unsupported key type ${p.subjectKey.asymmetricKeyType}`);
  const subject = name(p.commonName, p.organization);
  const issuerKey = p.issuer?.key ?? p.subjectKey;
  const issuerName = p.issuer?.subjectDer ?? subject;
  const issuerSpki = p.issuer?.spkiDer ?? spki;
  const serial = randomSerial();
  const sigAlg = signatureAlgorithm(issuerKey);

  const exts: Buffer[] = [];
  exts.push(extension(OID.basicConstraints, true, p.isCa ? seq(booleanTrue()) : seq()));
  const isRsa = p.subjectKey.asymmetricKeyType === 'rsa';
  exts.push(extension(OID.keyUsage, true, keyUsage(p.isCa ? [0, 5, 6] : isRsa ? [0, 2] : [0])));
  if (!p.isCa) exts.push(extension(OID.extKeyUsage, false, seq(oid(OID.serverAuth), oid(OID.clientAuth))));
  const sans = [...(p.dnsNames ?? []).map((d) => ia5String(0x82, d)), ...(p.uris ?? []).map((u) => ia5String(0x86, u))];
  if (sans.length) exts.push(extension(OID.subjectAltName, false, seq(...sans)));
  exts.push(extension(OID.subjectKeyId, false, octetString(keyId(spki))));
  exts.push(extension(OID.authorityKeyId, false, seq(Buffer.concat([Buffer.from([0x80, 20]), keyId(issuerSpki)]))));

  const tbs = seq(
    explicit(0, integer(Buffer.from([2]))),
    integer(serial),
    sigAlg,
    issuerName,
    seq(time(p.notBefore), time(p.notAfter)),
    subject,
    spki,
    explicit(3, seq(...exts)),
  );
  const signature = sign('sha256', tbs, issuerKey);
  const der = seq(tbs, sigAlg, bitString(signature));
  const b64 = der.toString('base64').replace(/.{1,64}/g, '$&\n');
  return { der, pem: `-----BEGIN CERTIFICATE-----\n${b64}-----END CERTIFICATE-----\n`, serialHex: serial.toString('hex').toUpperCase() };
}

function publicSpki(key: KeyObject): Buffer {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return pub.export({ type: 'spki', format: 'der' });
}

/** The raw DER of a certificate's subject Name (the issuer field of everything it signs must match it byte for byte). */
export function subjectDer(cert: X509Certificate): Buffer {
  const der = cert.raw;
  const outer = readTlv(der, 0);
  const tbs = readTlv(der, outer.contentStart);
  let off = tbs.contentStart;
  let field = readTlv(der, off);
  if (field.tag === 0xa0) field = readTlv(der, (off = field.end)); // version
  // serial, signature algorithm, issuer, validity, then subject
  for (let i = 0; i < 4; i++) field = readTlv(der, (off = field.end));
  return der.subarray(off, field.end);
}

export function spkiOf(cert: X509Certificate): Buffer {
  return publicSpki(cert.publicKey);
}
