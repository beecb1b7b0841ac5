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
