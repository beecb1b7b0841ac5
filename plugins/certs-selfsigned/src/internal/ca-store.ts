import { createPrivateKey, randomBytes, X509Certificate, type KeyObject } from 'node:crypto';
import { constants as fsc } from 'node:fs';
import { link, mkdir, open, realpath, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
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

export function parseMaterial(text: string, file: string): CaMaterial {
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

export async function newCaFileContent(opts: CaOptions): Promise<string> {
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

const octal = (mode: number): string => (mode & 0o7777).toString(8).padStart(4, '0');
/** Owners a state file or directory may have: this user, or root. Undefined where uids do not exist (Windows). */
const trustedOwner = (uid: number): boolean => uid === process.geteuid?.() || uid === 0;

/**
 * Refuses a state directory someone else could change: it must be a directory owned by this user (or root)
 * that neither group nor others can write, and every directory above it must be as safe (or sticky, like
 * /tmp), or another local user could swap in a CA of their own.
 */
export async function checkStateDir(dir: string): Promise<void> {
  if (process.geteuid === undefined) return;
  const real = await realpath(dir);
  const st = await stat(real);
  if (!st.isDirectory()) throw new Error(`${dir} is not a directory`);
  if (!trustedOwner(st.uid)) throw new Error(`${dir} is owned by uid ${st.uid}, not by this user (uid ${process.geteuid()}) or root: refusing a CA another user controls`);
  if ((st.mode & 0o022) !== 0)
    throw new Error(`${dir} is writable by ${st.mode & 0o002 ? 'others' : 'its group'} (mode ${octal(st.mode)}): another user could replace the CA; run chmod 700 ${dir}`);
  for (let p = dirname(real), prev = real; p !== prev; prev = p, p = dirname(p)) {
    const a = await stat(p);
    const sticky = (a.mode & 0o1000) !== 0;
    if (!trustedOwner(a.uid)) throw new Error(`${p} (above ${dir}) is owned by uid ${a.uid}: that user could replace the state directory`);
    if ((a.mode & 0o022) !== 0 && !sticky)
      throw new Error(`${p} (above ${dir}) is writable by group or others (mode ${octal(a.mode)}) without the sticky bit: another user could replace the state directory`);
  }
}

/**
 * Reads a CA file, or undefined when it does not exist. Refuses a symbolic link, a file owned by another user
 * and one that others can read or write (it holds a private key); the checks are on the open descriptor, so
 * the file cannot be swapped between check and read.
 */
async function readCaFile(path: string): Promise<string | undefined> {
  let fh;
  try {
    fh = await open(path, fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP') throw new Error(`${path} is a symbolic link: refusing a CA file that may point anywhere`, { cause: err });
    throw err;
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new Error(`${path} is not a regular file`);
    if (process.geteuid !== undefined) {
      if (!trustedOwner(st.uid)) throw new Error(`${path} is owned by uid ${st.uid}, not by this user (uid ${process.geteuid()}) or root: refusing a CA another user controls`);
      if ((st.mode & 0o077) !== 0) throw new Error(`${path} is accessible by group or others (mode ${octal(st.mode)}) and holds a private key; run chmod 600 ${path}`);
    }
    return await fh.readFile('utf8');
  } finally {
    await fh.close();
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

/**
 * Loads the CA state. With `create`, a directory without a CA gets a new root first (the controller's first
 * start) and the result says so; without it a missing CA is an error (CLI commands must never mint a root).
 */
export async function loadOrCreate(dir: string, opts: CaOptions, create: boolean): Promise<CaState & { created: boolean }> {
  if (!create) {
    try {
      await stat(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(missingCa(dir), { cause: err });
      throw err;
    }
  } else await mkdir(dir, { recursive: true, mode: 0o700 });
  await checkStateDir(dir);
  let created = false;
  if ((await readCaFile(join(dir, CA_FILES.current))) === undefined) {
    if (!create) throw new Error(missingCa(dir));
    for (const other of [CA_FILES.next, CA_FILES.previous])
      if ((await stat(join(dir, other)).catch(() => undefined)) !== undefined)
        throw new Error(`${join(dir, CA_FILES.current)} is missing but ${other} exists: the state is damaged (a root was expected); restore ${CA_FILES.current} from a backup rather than start a new root`);
    created = await createExclusive(dir, CA_FILES.current, await newCaFileContent(opts));
  }
  return { ...(await load(dir)), created };
}

const missingCa = (dir: string): string =>
  `no CA in ${dir} (${CA_FILES.current} is missing); CLI commands never create a root: start the controller with this config once (it creates the root on first start), or point stateDir at the controller's`;

export async function load(dir: string): Promise<CaState> {
  await checkStateDir(dir);
  const version = await stateVersion(dir);
  const current = await readCaFile(join(dir, CA_FILES.current));
  if (current === undefined) throw new Error(`${join(dir, CA_FILES.current)} does not exist`);
  const issuing = parseMaterial(current, join(dir, CA_FILES.current));
  const roots = [issuing];
  for (const name of [CA_FILES.next, CA_FILES.previous]) {
    const text = await readCaFile(join(dir, name));
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
  await checkStateDir(dir);
  if (phase === 'prepare') {
    if ((await readCaFile(path(CA_FILES.previous))) !== undefined)
      throw new Error(`a previous root (${CA_FILES.previous}) is still trusted: retire it before preparing another rotation`);
    if (!(await createExclusive(dir, CA_FILES.next, await newCaFileContent(opts))))
      throw new Error(`a new root is already prepared (${CA_FILES.next}): promote it`);
    return;
  }
  if (phase === 'promote') {
    const next = await readCaFile(path(CA_FILES.next));
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
