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

export interface KeyMaterial {
  readonly privateKey: KeyObject;
  readonly kind: 'ec' | 'rsa';
  /** DER SubjectPublicKeyInfo. */
  readonly spkiDer: Buffer;
  /** PKCS#8 PEM of the private key. */
  pkcs8Pem(): string;
}

// SubjectPublicKeyInfo header of an uncompressed P-256 point: SEQ { SEQ { id-ecPublicKey, prime256v1 }, BIT STRING ... }.
const P256_SPKI_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex');
const ecPublicKey = '1.2.840.10045.2.1';
const prime256v1 = '1.2.840.10045.3.1.7';

function coord(b64url: string | undefined): Buffer {
  const b = Buffer.from(b64url ?? '', 'base64url');
  return b.length >= 32 ? b : Buffer.concat([Buffer.alloc(32 - b.length), b]);
}

/**
 * P-256 keys are generated inline (~50 us, less than a thread-pool round trip) and encoded from their JWK
 * form, because OpenSSL's SPKI/PKCS#8 encoders cost ~100-250 us each, more than keygen and signing together.
 * RSA keygen (~100 ms) runs on libuv's thread pool so it does not block the event loop.
 */
export async function generateKey(keyType: KeyType): Promise<KeyMaterial> {
  if (keyType === 'ecdsa-p256') {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const jwk = privateKey.export({ format: 'jwk' });
    const point = Buffer.concat([Buffer.from([4]), coord(jwk.x), coord(jwk.y)]);
    return {
      privateKey,
      kind: 'ec',
      spkiDer: Buffer.concat([P256_SPKI_PREFIX, point]),
      pkcs8Pem: () => {
        // RFC 5208 PrivateKeyInfo wrapping an RFC 5915 ECPrivateKey (curve given by the algorithm identifier).
        const ecPrivateKey = seq(integer(Buffer.from([1])), octetString(coord(jwk.d)), explicit(1, bitString(point)));
        const der = seq(integer(Buffer.from([0])), seq(oid(ecPublicKey), oid(prime256v1)), octetString(ecPrivateKey));
        return toPem(der, 'PRIVATE KEY');
      },
    };
  }
  const bits = Number(keyType.slice(4));
  const { privateKey, publicKey } = await generateKeyPairAsync('rsa', { modulusLength: bits, publicExponent: 0x10001 });
  return {
    privateKey,
    kind: 'rsa',
    spkiDer: publicKey.export({ type: 'spki', format: 'der' }),
    pkcs8Pem: () => privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
  };
}

export function toPem(der: Buffer, label: string): string {
  return `-----BEGIN ${label}-----\n${der.toString('base64').replace(/.{1,64}/g, '$&\n')}-----END ${label}-----\n`;
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
  readonly subjectKey: Pick<KeyMaterial, 'kind' | 'spkiDer'>;
  readonly commonName: string;
  readonly organization?: string;
  readonly dnsNames?: readonly string[];
  readonly uris?: readonly string[];
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly isCa: boolean;
  /** The subject's own private key, to sign a self-signed root. */
  readonly signingKey?: KeyObject;
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
  const spki = p.subjectKey.spkiDer;
  const subject = name(p.commonName, p.organization);
  const issuerKey = p.issuer?.key ?? p.signingKey;
  if (!issuerKey) throw new Error('a self-signed certificate needs signingKey');
  const issuerName = p.issuer?.subjectDer ?? subject;
  const issuerSpki = p.issuer?.spkiDer ?? spki;
  const serial = randomSerial();
  const sigAlg = signatureAlgorithm(issuerKey);

  const exts: Buffer[] = [];
  exts.push(extension(OID.basicConstraints, true, p.isCa ? seq(booleanTrue()) : seq()));
  const isRsa = p.subjectKey.kind === 'rsa';
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
  return { der, pem: toPem(der, 'CERTIFICATE'), serialHex: serial.toString('hex').toUpperCase() };
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
