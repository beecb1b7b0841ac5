/**
 * Runs rebuilds of keys concurrently, at most `limit` at once and never two of one key at once. A key asked
 * for while it is queued joins the queued run; asked for while running, it runs once more afterwards (the
 * rebuild reads the latest state when it starts, so one pending run per key suffices). One slow key (a CA
 * call that stalls) holds one slot, not the others' turn.
 */
export class RebuildQueue {
  readonly #limit: number;
  readonly #run: (key: string) => Promise<void>;
  /** Keys waiting for a slot (or for their own running rebuild to end), with the callers awaiting them. */
  readonly #queued = new Map<string, (() => void)[]>();
  readonly #running = new Set<string>();
  #idle: (() => void)[] = [];

  constructor(limit: number, run: (key: string) => Promise<void>) {
    if (!(Number.isInteger(limit) && limit >= 1)) throw new RangeError(`rebuild concurrency must be an integer >= 1, got ${limit}`);
    this.#limit = limit;
    this.#run = run;
  }

  /** Queues a rebuild of `key`; resolves when a rebuild that started after this call has finished. */
  request(key: string): Promise<void> {
    return new Promise((resolve) => {
      const waiting = this.#queued.get(key);
      if (waiting) waiting.push(resolve);
      else this.#queued.set(key, [resolve]);
      this.#pump();
    });
  }

  get running(): number {
    return this.#running.size;
  }

  get queued(): number {
    return this.#queued.size;
  }

  /** Resolves once nothing is queued or running. */
  idle(): Promise<void> {
    if (this.#running.size === 0 && this.#queued.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  #pump(): void {
    for (const [key, waiting] of this.#queued) {
      if (this.#running.size >= this.#limit) break;
      if (this.#running.has(key)) continue;
      this.#queued.delete(key);
      this.#running.add(key);
      void this.#run(key)
        .catch(() => undefined)
        .finally(() => {
          this.#running.delete(key);
          for (const resolve of waiting) resolve();
          this.#pump();
          if (this.#running.size === 0 && this.#queued.size === 0) for (const resolve of this.#idle.splice(0)) resolve();
        });
    }
  }
}

export interface KeyDebounceOptions {
  /** A key is let go once it has had no new change for this long... */
  readonly quietMs: number;
  /** ...and never later than this after its first pending change. */
  readonly maxDelayMs: number;
}

/**
 * Holds snapshot keys before their rebuild, each key on its own clock: a key is let go once it has had no new
 * change for `quietMs`, and at most `maxDelayMs` after its first pending change.
 *
 * Per key, not per batch: with one quiet window for everything pending, steady churn (an EndpointSlice change
 * every 33 ms, each for other identities) restarts the window at every change, so every key waited the full
 * `maxDelayMs`, although no key was changed twice. Here a key changed once waits `quietMs`; a key changed again
 * and again (a burst on the same identities, a mesh-wide storm) is still coalesced into one rebuild, up to
 * `maxDelayMs`.
 */
export class KeyDebouncer {
  readonly #quietMs: number;
  readonly #maxDelayMs: number;
  readonly #flush: (keys: Map<string, number>) => void;
  /** Key -> when its last change came, in that order (a key changed again moves to the end). */
  readonly #lastAt = new Map<string, number>();
  /** Key -> when its first pending change came, in that order. */
  readonly #firstAt = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;

  /** `flush` gets the keys let go, each with when its first pending change came (epoch ms). */
  constructor(options: KeyDebounceOptions, flush: (keys: Map<string, number>) => void) {
    for (const [name, v] of [['quietMs', options.quietMs], ['maxDelayMs', options.maxDelayMs]] as const)
      if (!(Number.isFinite(v) && v >= 0)) throw new RangeError(`debounce ${name} must be a number >= 0, got ${v}`);
    this.#quietMs = options.quietMs;
    this.#maxDelayMs = options.maxDelayMs;
    this.#flush = flush;
  }

  add(key: string): void {
    const now = Date.now();
    if (!this.#firstAt.has(key)) this.#firstAt.set(key, now);
    this.#lastAt.delete(key);
    this.#lastAt.set(key, now);
    // An armed timer is never later than a new deadline (it is at most min(quiet, max) after it was armed).
    if (!this.#timer) this.#arm(now);
  }

  get pending(): number {
    return this.#firstAt.size;
  }

  has(key: string): boolean {
    return this.#firstAt.has(key);
  }

  /** Lets every pending key go now. */
  flush(): void {
    this.#clear();
    if (this.#firstAt.size === 0) return;
    const out = new Map(this.#firstAt);
    this.#firstAt.clear();
    this.#lastAt.clear();
    this.#flush(out);
  }

  /** Drops pending keys and the timer. */
  cancel(): void {
    this.#clear();
    this.#firstAt.clear();
    this.#lastAt.clear();
  }

  /** The earliest deadline: both maps are in time order, so each one's first entry is its earliest. */
  #nextDue(): number | undefined {
    const last = this.#lastAt.values().next();
    const first = this.#firstAt.values().next();
    if (last.done || first.done) return undefined;
    return Math.min(last.value + this.#quietMs, first.value + this.#maxDelayMs);
  }

  #arm(now: number): void {
    const due = this.#nextDue();
    if (due === undefined) return;
    this.#timer = setTimeout(() => this.#fire(), Math.max(0, due - now));
    this.#timer.unref?.();
  }

  #fire(): void {
    this.#timer = undefined;
    const now = Date.now();
    const out = new Map<string, number>();
    for (const [key, at] of this.#lastAt) {
      if (at + this.#quietMs > now) break;
      out.set(key, this.#firstAt.get(key) ?? at);
    }
    for (const [key, at] of this.#firstAt) {
      if (at + this.#maxDelayMs > now) break;
      out.set(key, at);
    }
    for (const key of out.keys()) {
      this.#firstAt.delete(key);
      this.#lastAt.delete(key);
    }
    this.#arm(now);
    if (out.size > 0) this.#flush(out);
  }

  #clear(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
