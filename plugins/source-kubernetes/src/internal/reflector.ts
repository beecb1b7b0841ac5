/**
 * One supervised informer: list, then watch from the list's version, for ever. It covers what
 * client-node's informer leaves to its user (it stops for good on any error but 410, and its watches can die
 * silently):
 * - any failure (5xx, 403, refused connection, a failed list) is retried with capped, jittered backoff;
 * - a staleness watchdog: no event or bookmark for `staleAfterMs` aborts the watch and re-lists;
 * - bookmarks are requested, so a quiet but healthy watch still shows activity;
 * - 410 Gone (HTTP or an in-stream ERROR event) and every re-list compare the new list with the cache and
 *   report only the differences;
 * - a kind the server does not serve (its CRD is not installed) counts as listed and empty, and is looked
 *   for again every `absentRetryMs`.
 */
import { backoffDelay, type KubeObject, type Logger } from '@trellis/plugin-sdk';
import { ApiError, type ApiClient, type WatchHandle } from './api.ts';
import { kindId, type WatchedKind } from './kinds.ts';
import { reduce } from './reduce.ts';

export type ReflectorState = 'starting' | 'listing' | 'watching' | 'backoff' | 'absent' | 'stopped';

export interface ReflectorHealth {
  readonly kind: string;
  readonly apiVersion: string | undefined;
  readonly state: ReflectorState;
  /** The first full list is done. */
  readonly synced: boolean;
  readonly objects: number;
  readonly restarts: number;
  /** Seconds since the last event, bookmark or list (undefined before the first). */
  readonly lastEventAgeSeconds: number | undefined;
  readonly lastError?: string;
}

export interface ReflectorOptions {
  readonly api: ApiClient;
  readonly kind: WatchedKind;
  readonly logger: Logger;
  readonly staleAfterMs: number;
  /** Periodic full re-list (0 = never). */
  readonly resyncMs: number;
  readonly backoff: { readonly baseMs: number; readonly maxMs: number };
  /** Server-side watch timeout (the server closes the stream; the reflector re-watches). */
  readonly watchTimeoutSeconds: number;
  readonly absentRetryMs?: number;
  /** Differences since the last call: objects added or changed, objects gone. */
  readonly onChange: (upserts: readonly KubeObject[], deletes: readonly KubeObject[]) => void;
  readonly onRestart?: (reason: string) => void;
  /** After every completed list (the first one makes `synced` true). */
  readonly onListed?: () => void;
}

type WatchEnd = { kind: 'closed' } | { kind: 'gone' } | { kind: 'stale' } | { kind: 'error'; err: unknown };

const keyOfObj = (o: { metadata?: { namespace?: string; name?: string } }): string => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;

function describe(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  const e = err as { statusCode?: number; message?: string; code?: string };
  if (typeof e?.statusCode === 'number') return `watch answered ${e.statusCode} ${e.message ?? ''}`.trim();
  return e?.message ?? String(err);
}

export class Reflector {
  readonly #o: ReflectorOptions;
  readonly #cache = new Map<string, KubeObject>();
  #version: string | undefined;
  #plural: string | undefined;
  #rv = '';
  #state: ReflectorState = 'starting';
  #synced = false;
  #restarts = 0;
  #lastActivity: number | undefined;
  #lastError: string | undefined;
  #stopped = false;
  #wake: (() => void) | undefined;
  #handle: WatchHandle | undefined;
  #lastList = 0;
  #loop: Promise<void> | undefined;

  constructor(opts: ReflectorOptions) {
    this.#o = opts;
  }

  get kind(): WatchedKind {
    return this.#o.kind;
  }

  get synced(): boolean {
    return this.#synced;
  }

  /** The cached objects (reduced), for the source's membership changes. */
  objects(): IterableIterator<KubeObject> {
    return this.#cache.values();
  }

  /** The cached object `namespace/name`. */
  get(namespace: string | undefined, name: string): KubeObject | undefined {
    return this.#cache.get(`${namespace ?? ''}/${name}`);
  }

  /** The version watched (after discovery). */
  get version(): string | undefined {
    return this.#version;
  }

  /** The resource name (after discovery). */
  get plural(): string | undefined {
    return this.#plural;
  }

  health(): ReflectorHealth {
    return {
      kind: kindId(this.#o.kind),
      apiVersion: this.#version === undefined ? undefined : this.#o.kind.group === '' ? this.#version : `${this.#o.kind.group}/${this.#version}`,
      state: this.#state,
      synced: this.#synced,
      objects: this.#cache.size,
      restarts: this.#restarts,
      lastEventAgeSeconds: this.#lastActivity === undefined ? undefined : (Date.now() - this.#lastActivity) / 1000,
      ...(this.#lastError !== undefined && { lastError: this.#lastError }),
    };
  }

  start(): void {
    this.#stopped = false;
    this.#loop ??= this.#run().finally(() => (this.#loop = undefined));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#state = 'stopped';
    this.#handle?.abort();
    this.#wake?.();
    await this.#loop;
  }

  async #run(): Promise<void> {
    let failures = 0;
    let quickCloses = 0;
    while (!this.#stopped) {
      try {
        if (this.#plural === undefined && !(await this.#discover())) {
          // Not served: listed and empty until it appears.
          this.#state = 'absent';
          this.#apply(new Map());
          this.#synced = true;
          this.#lastActivity = Date.now();
          this.#o.onListed?.();
          failures = 0;
          await this.#sleep(this.#o.absentRetryMs ?? Math.max(this.#o.resyncMs, 30_000));
          continue;
        }
        const resyncDue = this.#o.resyncMs > 0 && Date.now() - this.#lastList >= this.#o.resyncMs;
        if (this.#rv === '' || resyncDue) await this.#list();
        failures = 0;
        const opened = Date.now();
        const end = await this.#watchOnce();
        if (this.#stopped) break;
        if (end.kind === 'closed') {
          // A normal end (timeoutSeconds): re-watch from the last version; one closed at once is retried with backoff.
          if (Date.now() - opened < 1000) await this.#sleep(backoffDelay(++quickCloses, this.#o.backoff));
          else quickCloses = 0;
          continue;
        }
        this.#restarts++;
        this.#o.onRestart?.(end.kind);
        if (end.kind === 'gone') {
          this.#o.logger.info('watch expired (410); re-listing', { kind: kindId(this.#o.kind) });
          this.#rv = '';
          continue;
        }
        if (end.kind === 'stale') {
          this.#lastError = `no event or bookmark for ${this.#o.staleAfterMs / 1000}s; re-listed`;
          this.#o.logger.warn('watch went silent; re-listing', { kind: kindId(this.#o.kind), staleAfterSeconds: this.#o.staleAfterMs / 1000 });
          this.#rv = '';
          continue;
        }
        throw end.err;
      } catch (err) {
        if (this.#stopped) break;
        failures++;
        if (err instanceof ApiError && err.code === 410) this.#rv = '';
        if (err instanceof ApiError && err.code === 404) this.#plural = undefined; // the CRD may have gone
        this.#lastError = describe(err);
        this.#state = 'backoff';
        const delay = backoffDelay(failures, this.#o.backoff);
        this.#o.logger.warn('informer failed; retrying', { kind: kindId(this.#o.kind), err: this.#lastError, retryInMs: Math.round(delay) });
        await this.#sleep(delay);
      }
    }
    this.#state = 'stopped';
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done(): void {
        clearTimeout(t);
        resolve();
      }
      this.#wake = done;
    });
  }

  #base(): string {
    const { group } = this.#o.kind;
    return group === '' ? `/api/${this.#version}/${this.#plural}` : `/apis/${group}/${this.#version}/${this.#plural}`;
  }

  /** Picks the newest accepted version the server serves; false when none is. */
  async #discover(): Promise<boolean> {
    const { group, kind, versions, plural } = this.#o.kind;
    if (group === '') {
      this.#version = versions[versions.length - 1];
      this.#plural = plural;
      return true;
    }
    for (const v of [...versions].reverse()) {
      let list: { resources?: { name: string; kind: string }[] };
      try {
        list = (await this.#o.api.get(`/apis/${group}/${v}`)) as typeof list;
      } catch (err) {
        if (err instanceof ApiError && err.code === 404) continue;
        throw err;
      }
      const res = list.resources?.find((r) => r.kind === kind && !r.name.includes('/'));
      if (res) {
        this.#version = v;
        this.#plural = res.name;
        return true;
      }
    }
    return false;
  }

  get #apiVersion(): string {
    return this.#o.kind.group === '' ? this.#version! : `${this.#o.kind.group}/${this.#version!}`;
  }

  async #list(): Promise<void> {
    this.#state = 'listing';
    const next = new Map<string, KubeObject>();
    let cont: string | undefined;
    let rv: string;
    do {
      const q = new URLSearchParams({ limit: '500', ...(cont && { continue: cont }) });
      const page = (await this.#o.api.get(`${this.#base()}?${q}`)) as { metadata?: { resourceVersion?: string; continue?: string }; items?: unknown[] };
      for (const item of page.items ?? []) {
        if (typeof item !== 'object' || item === null) continue;
        const o = reduce(item as Record<string, unknown>, this.#apiVersion, this.#o.kind.kind);
        next.set(keyOfObj(o), o);
      }
      rv = page.metadata?.resourceVersion ?? '';
      cont = page.metadata?.continue || undefined;
    } while (cont);
    this.#apply(next);
    this.#rv = rv;
    this.#lastList = Date.now();
    this.#lastActivity = Date.now();
    this.#lastError = undefined;
    this.#synced = true;
    this.#o.onListed?.();
  }

  /** Makes the cache `next`, reporting only what differs. */
  #apply(next: Map<string, KubeObject>): void {
    const upserts: KubeObject[] = [];
    const deletes: KubeObject[] = [];
    for (const [k, o] of this.#cache) if (!next.has(k)) deletes.push(o);
    for (const [k, o] of next) {
      const prev = this.#cache.get(k);
      if (!prev || prev.metadata.resourceVersion !== o.metadata.resourceVersion || prev.apiVersion !== o.apiVersion) upserts.push(o);
    }
    this.#cache.clear();
    for (const [k, o] of next) this.#cache.set(k, o);
    if (upserts.length > 0 || deletes.length > 0) this.#o.onChange(upserts, deletes);
  }

  #watchOnce(): Promise<WatchEnd> {
    this.#state = 'watching';
    return new Promise<WatchEnd>((resolve) => {
      let ended = false;
      let gone = false;
      let handle: WatchHandle | undefined;
      const finish = (end: WatchEnd): void => {
        if (ended) return;
        ended = true;
        clearInterval(watchdog);
        handle?.abort();
        this.#handle = undefined;
        resolve(end);
      };
      this.#lastActivity = Date.now();
      const watchdog = setInterval(() => {
        if (this.#stopped) finish({ kind: 'closed' });
        else if (Date.now() - (this.#lastActivity ?? 0) > this.#o.staleAfterMs) finish({ kind: 'stale' });
      }, Math.max(50, Math.min(1000, this.#o.staleAfterMs / 4)));
      const onEvent = (type: string, obj: unknown): void => {
        if (ended) return;
        this.#lastActivity = Date.now();
        const o = obj as { metadata?: { resourceVersion?: string }; code?: number } | null;
        if (type === 'ERROR') {
          if (o?.code === 410) gone = true;
          else this.#lastError = `watch ERROR event: ${JSON.stringify(obj).slice(0, 200)}`;
          return;
        }
        if (typeof o !== 'object' || o === null) return;
        if (type === 'BOOKMARK') {
          if (o.metadata?.resourceVersion) this.#rv = o.metadata.resourceVersion;
          return;
        }
        const red = reduce(o, this.#apiVersion, this.#o.kind.kind);
        const k = keyOfObj(red);
        if (type === 'DELETED') {
          const prev = this.#cache.get(k);
          this.#cache.delete(k);
          if (prev) this.#o.onChange([], [red]);
        } else if (type === 'ADDED' || type === 'MODIFIED') {
          const prev = this.#cache.get(k);
          this.#cache.set(k, red);
          if (!prev || prev.metadata.resourceVersion !== red.metadata.resourceVersion) this.#o.onChange([red], []);
        }
        if (red.metadata.resourceVersion) this.#rv = red.metadata.resourceVersion;
      };
      const onDone = (err: unknown): void => {
        if (gone || (err as { statusCode?: number } | null)?.statusCode === 410) finish({ kind: 'gone' });
        else if (err) finish({ kind: 'error', err });
        else finish({ kind: 'closed' });
      };
      const query = { resourceVersion: this.#rv, allowWatchBookmarks: 'true', timeoutSeconds: String(this.#o.watchTimeoutSeconds) };
      this.#o.api.watch(this.#base(), query, onEvent, onDone).then(
        (h) => {
          handle = h;
          this.#handle = h;
          if (ended) h.abort();
        },
        (err: unknown) => finish({ kind: 'error', err }),
      );
    });
  }
}
