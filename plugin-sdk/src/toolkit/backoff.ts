export interface BackoffOptions {
  /** The first retry's delay (before jitter). */
  readonly baseMs: number;
  /** The cap: no delay exceeds this, however many attempts failed. */
  readonly maxMs: number;
  /** The random fraction of each delay, 0..1 (default 0.5: a delay is between half and all of its step). */
  readonly jitter?: number;
  /** Source of randomness in [0, 1) (tests pass a fixed one). */
  readonly random?: () => number;
}

/**
 * The delay before retry `attempt` (1 = the first retry): `min(maxMs, baseMs * 2^(attempt-1))`, of which a
 * `jitter` fraction is random so retrying clients spread out. Capped, so a high retry count cannot turn into
 * hours of sleep; safe for any attempt number (no overflow to Infinity).
 */
export function backoffDelay(attempt: number, options: BackoffOptions): number {
  const { baseMs, maxMs } = options;
  const jitter = options.jitter ?? 0.5;
  if (!(baseMs >= 0 && maxMs >= 0)) throw new RangeError(`backoff: baseMs and maxMs must be >= 0, got ${baseMs} and ${maxMs}`);
  if (!(jitter >= 0 && jitter <= 1)) throw new RangeError(`backoff: jitter must be within 0..1, got ${jitter}`);
  const step = Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(0, attempt - 1), 52));
  const random = (options.random ?? Math.random)();
  return step * (1 - jitter + jitter * random);
}
