/** Token bucket: `ratePerSecond` tokens refill continuously up to `burst`. */
export class TokenBucket {
  #tokens: number;
  #last: number;
  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.#tokens = burst;
    this.#last = now();
  }

  tryTake(): boolean {
    const t = this.now();
    this.#tokens = Math.min(this.burst, this.#tokens + ((t - this.#last) / 1000) * this.ratePerSecond);
    this.#last = t;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}

/**
 * Runs at most `limit` tasks at once; tasks are keyed, and a key already waiting is not queued twice (a
 * waiting push always computes from the latest state when it runs, so one pending entry per key suffices).
 */
export class KeyedConcurrencyLimiter {
  #running = 0;
  readonly #waiting = new Map<string, () => Promise<void>>();

  constructor(private readonly limit: number) {}

  schedule(key: string, task: () => Promise<void>): void {
    if (this.#waiting.has(key)) return;
    this.#waiting.set(key, task);
    this.#pump();
  }

  get running(): number {
    return this.#running;
  }

  get waiting(): number {
    return this.#waiting.size;
  }

  #pump(): void {
    while (this.#running < this.limit && this.#waiting.size > 0) {
      const [key, task] = this.#waiting.entries().next().value as [string, () => Promise<void>];
      this.#waiting.delete(key);
      this.#running++;
      void task()
        .catch(() => undefined)
        .finally(() => {
          this.#running--;
          this.#pump();
        });
    }
  }
}
