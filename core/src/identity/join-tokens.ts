import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmod, mkdir, readFile, readdir, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { identityKey, parseIdentityKey, type Identity } from '@trellis/plugin-sdk';

/**
 * Operator-issued join tokens (universal mode): one identity each, expiring, single-use. The store is a
 * directory of the controller's state (mode 0700): `pending/<id>.json` holds the token's SHA-256 (never the
 * token), its identity and expiry; a use renames it to `used/` — a rename succeeds once, so two workloads
 * racing with one token cannot both win. `trellis token create` writes on the controller's host; only the
 * controller consumes.
 */

/** `trellis-join.<id>.<secret>`: the id names the file, the secret is only ever stored hashed. */
const TOKEN = /^trellis-join\.([a-f0-9]{16})\.([A-Za-z0-9_-]{43})$/;

export interface JoinTokenRecord {
  readonly id: string;
  readonly identity: string;
  readonly sha256: string;
  readonly createdAt: string;
  readonly expiresAt: string;
}

export type ConsumeResult =
  | { readonly ok: true; readonly identity: Identity; readonly id: string }
  | { readonly ok: false; readonly reason: 'malformed' | 'unknown' | 'reused' | 'expired' | 'identity_mismatch'; readonly id?: string; readonly tokenIdentity?: string };

export class JoinTokenStore {
  readonly #dir: string;
  readonly #now: () => number;

  constructor(dir: string, now: () => number = Date.now) {
    this.#dir = dir;
    this.#now = now;
  }

  get dir(): string {
    return this.#dir;
  }

  async #ensure(): Promise<void> {
    for (const d of [this.#dir, join(this.#dir, 'pending'), join(this.#dir, 'used')]) {
      await mkdir(d, { recursive: true, mode: 0o700 });
      await chmod(d, 0o700);
    }
  }

  /** A new token for `identity`, valid for `ttlMs`. The returned token is shown once and never stored. */
  async create(identity: Identity, ttlMs: number): Promise<{ token: string; record: JoinTokenRecord }> {
    if (!(ttlMs > 0)) throw new RangeError(`ttl must be > 0, got ${ttlMs}`);
    await this.#ensure();
    const id = randomBytes(8).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    const now = this.#now();
    const record: JoinTokenRecord = {
      id,
      identity: identityKey(identity),
      sha256: sha256(secret),
      createdAt: new Date(now).toISOString(),
      expiresAt: new Date(now + ttlMs).toISOString(),
    };
    await writeFile(join(this.#dir, 'pending', `${id}.json`), `${JSON.stringify(record)}\n`, { mode: 0o600, flag: 'wx' });
    return { token: `trellis-join.${id}.${secret}`, record };
  }

  /**
   * Spends `token` for `wanted`. A token for another identity is refused and stays unspent (its rightful
   * workload can still join); an expired one is refused and removed.
   */
  async consume(token: string, wanted: Identity): Promise<ConsumeResult> {
    const m = TOKEN.exec(token);
    if (!m?.[1] || !m[2]) return { ok: false, reason: 'malformed' };
    const id = m[1];
    const pending = join(this.#dir, 'pending', `${id}.json`);
    let record: JoinTokenRecord;
    try {
      record = JSON.parse(await readFile(pending, 'utf8')) as JoinTokenRecord;
    } catch {
      const used = await readFile(join(this.#dir, 'used', `${id}.json`), 'utf8').then(
        () => true,
        () => false,
      );
      return { ok: false, reason: used ? 'reused' : 'unknown', id };
    }
    const a = Buffer.from(sha256(m[2]), 'hex');
    const b = Buffer.from(String(record.sha256), 'hex');
    if (a.length !== b.length || !timingSafeEqual(a, b)) return { ok: false, reason: 'unknown', id };
    if (Date.parse(record.expiresAt) <= this.#now()) {
      await unlink(pending).catch(() => undefined);
      return { ok: false, reason: 'expired', id, tokenIdentity: record.identity };
    }
    const identity = parseIdentityKey(record.identity);
    if (!identity) return { ok: false, reason: 'unknown', id };
    if (record.identity !== identityKey(wanted)) return { ok: false, reason: 'identity_mismatch', id, tokenIdentity: record.identity };
    try {
      await mkdir(join(this.#dir, 'used'), { recursive: true, mode: 0o700 });
      await rename(pending, join(this.#dir, 'used', `${id}.json`));
    } catch {
      return { ok: false, reason: 'reused', id }; // another request spent it first
    }
    return { ok: true, identity, id };
  }

  /** Tokens not used yet (for `trellis token list`): records only, never secrets. */
  async pending(): Promise<JoinTokenRecord[]> {
    const dir = join(this.#dir, 'pending');
    const names = await readdir(dir).catch(() => [] as string[]);
    const out: JoinTokenRecord[] = [];
    for (const n of names.filter((f) => f.endsWith('.json')))
      try {
        out.push(JSON.parse(await readFile(join(dir, n), 'utf8')) as JoinTokenRecord);
      } catch {
        // a file being written or removed meanwhile
      }
    return out.sort((x, y) => x.createdAt.localeCompare(y.createdAt));
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
