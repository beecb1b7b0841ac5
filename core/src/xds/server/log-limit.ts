import type { LogFields, Logger } from '@trellis/plugin-sdk';
import { TokenBucket } from './limits.ts';

interface Category {
  readonly bucket: TokenBucket;
  suppressed: number;
  timer?: NodeJS.Timeout;
}

/**
 * Warnings a client can trigger at will (NACKs, refused and rejected streams, bad requests) go through this:
 * at most `ratePerSecond` lines per category (bursts of twice that); the rest are counted, and the count is
 * logged with the next line that passes or, at the latest, a second later. Metrics still count every event.
 */
export class RateLimitedLog {
  readonly #categories = new Map<string, Category>();

  constructor(
    private readonly ratePerSecond: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** `category` is a fixed, server-chosen name (the set of categories stays small). */
  warn(category: string, logger: Logger, msg: string, fields: LogFields = {}): void {
    let c = this.#categories.get(category);
    if (!c) this.#categories.set(category, (c = { bucket: new TokenBucket(this.ratePerSecond, Math.max(1, this.ratePerSecond * 2), this.now), suppressed: 0 }));
    if (c.bucket.tryTake()) {
      const suppressed = c.suppressed;
      c.suppressed = 0;
      if (c.timer) clearTimeout(c.timer);
      c.timer = undefined;
      logger.warn(msg, suppressed > 0 ? { ...fields, suppressed } : fields);
      return;
    }
    c.suppressed++;
    if (c.timer) return;
    const entry = c;
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      if (entry.suppressed === 0) return;
      logger.warn(`${entry.suppressed} more "${category}" warnings suppressed (log rate limit)`, { category, suppressed: entry.suppressed });
      entry.suppressed = 0;
    }, 1000);
    entry.timer.unref();
  }
}
