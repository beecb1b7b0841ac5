import { createPrivateKey, randomBytes, X509Certificate, type KeyObject } from 'node:crypto';
import { constants as fsc } from 'node:fs';
import { link, mkdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { KeyType } from '@trellis/plugin-sdk';
import { generateKey, signCertificate, spkiOf, subjectDer } from './x509.ts';

/**
 * The CA state directory. Each CA is one file holding its certificate and private key (mode 0600), so a
 * CA appears atomically or not at all:
 *   ca.pem       the issuing CA
 *   ca-next.pem  a staged new root (root rotation: trusted, not yet issuing)
 *   ca-prev.pem  the previous root (root rotation: still trusted, no longer issuing)
 */
export const CA_FILES = { current: 'ca.pem', next: 'ca-next.pem', previous: 'ca-prev.pem' } as const;

export interface CaMaterial {
  readonly certPem: string;
  readonly cert: X509Certificate;
  readonly key: KeyObject;
  readonly subjectDer: Buffer;
  readonly spkiDer: Buffer;
  /** SHA-256 fingerprint of the certificate, hex without colons. */
  readonly fingerprint: string;
}

export interface CaState {
  readonly issuing: CaMaterial;
  /** Every trusted root, the issuing one first. */
  readonly roots: readonly CaMaterial[];
  /** Changes whenever a file in the state directory changes. */
  readonly version: string;
}

export interface CaOptions {
  readonly keyType: KeyType;
  readonly validityMs: number;
  readonly commonName: string;
}

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/;

function parseMaterial(text: string, file: string): CaMaterial {
  const certMatch = CERT_BLOCK.exec(text);
  if (!certMatch) throw new Error(`${file}: no CERTIFICATE block`);
  const cert = new X509Certificate(certMatch[0]);
  let key: KeyObject;
  try {
    key = createPrivateKey(text.replace(CERT_BLOCK, ''));
  } catch {
    // Never echo the file content: it holds the key.
    throw new Error(`${file}: the private key does not parse`);
  }
  if (!cert.checkPrivateKey(key)) throw new Error(`${file}: the private key does not match the certificate`);
  return {
    certPem: cert.toString(),
    cert,
    key,
    subjectDer: subjectDer(cert),
    spkiDer: spkiOf(cert),
    fingerprint: cert.fingerprint256.replace(/:/g, '').toLowerCase(),
  };
}

async function newCaFileContent(opts: CaOptions): Promise<string> {
  const key = await generateKey(opts.keyType);
  const notBefore = new Date(Math.floor(Date.now() / 1000) * 1000);
  const cert = signCertificate({
    subjectKey: key,
    signingKey: key.privateKey,
    commonName: opts.commonName,
    organization: 'trellis',
    notBefore,
    notAfter: new Date(notBefore.getTime() + opts.validityMs),
    isCa: true,
  });
  return cert.pem + key.pkcs8Pem();
}

/**
 * Writes `content` to `dir/name` only if it does not exist yet: temp file (0600) then link(2), which fails
 * with EEXIST when another process won the race. Returns false when the file already existed.
 */
async function createExclusive(dir: string, name: string, content: string): Promise<boolean> {
  const tmp = join(dir, `.${name}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  await writeFile(tmp, content, { mode: 0o600, flag: fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL });
  try {
    await link(tmp, join(dir, name));
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** A cheap fingerprint of the directory's CA files (inode, size, mtime), to notice another process's change. */
export async function stateVersion(dir: string): Promise<string> {
  const parts: string[] = [];
  for (const name of Object.values(CA_FILES)) {
    try {
      const st = await stat(join(dir, name));
      parts.push(`${name}:${st.ino}:${st.size}:${st.mtimeMs}`);
    } catch {
      parts.push(`${name}:-`);
    }
  }
  return parts.join('|');
}

/** Loads the CA state, creating the root CA first if the directory has none. */
export async function loadOrCreate(dir: string, opts: CaOptions): Promise<CaState> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  if ((await readOptional(join(dir, CA_FILES.current))) === undefined) {
    await createExclusive(dir, CA_FILES.current, await newCaFileContent(opts));
  }
  return load(dir);
}

export async function load(dir: string): Promise<CaState> {
  const version = await stateVersion(dir);
  const current = await readOptional(join(dir, CA_FILES.current));
  if (current === undefined) throw new Error(`${join(dir, CA_FILES.current)} does not exist`);
  const issuing = parseMaterial(current, join(dir, CA_FILES.current));
  const roots = [issuing];
  for (const name of [CA_FILES.next, CA_FILES.previous]) {
    const text = await readOptional(join(dir, name));
    if (text === undefined) continue;
    const m = parseMaterial(text, join(dir, name));
    if (!roots.some((r) => r.fingerprint === m.fingerprint)) roots.push(m);
  }
  return { issuing, roots, version };
}

export type RootRotationPhase = 'prepare' | 'promote' | 'retire';

/**
 * One step of a root rotation (see docs/certificates.md):
 * - prepare: create a new root beside the issuing one; both are trusted, the old one still issues;
 * - promote: the new root issues; the old one stays trusted;
 * - retire:  the old root is removed from the trust bundle.
 */
export async function rotateRoot(dir: string, phase: RootRotationPhase, opts: CaOptions): Promise<void> {
  const path = (n: string): string => join(dir, n);
  if (phase === 'prepare') {
    if ((await readOptional(path(CA_FILES.previous))) !== undefined)
      throw new Error(`a previous root (${CA_FILES.previous}) is still trusted: retire it before preparing another rotation`);
    if (!(await createExclusive(dir, CA_FILES.next, await newCaFileContent(opts))))
      throw new Error(`a new root is already prepared (${CA_FILES.next}): promote it`);
    return;
  }
  if (phase === 'promote') {
    const next = await readOptional(path(CA_FILES.next));
    if (next === undefined) throw new Error(`no prepared root (${CA_FILES.next}): run the prepare step first`);
    parseMaterial(next, path(CA_FILES.next));
    // Order keeps every intermediate state trusting both roots: copy current to previous, then replace current.
    const tmp = path(`.prev.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
    await link(path(CA_FILES.current), tmp);
    await rename(tmp, path(CA_FILES.previous));
    await rename(path(CA_FILES.next), path(CA_FILES.current));
    return;
  }
  try {
    await unlink(path(CA_FILES.previous));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`no previous root to retire (${CA_FILES.previous})`, { cause: err });
    throw err;
  }
}
