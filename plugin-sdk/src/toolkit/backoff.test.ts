import { describe, expect, it } from 'vitest';
import { backoffDelay } from './backoff.ts';

describe('backoffDelay', () => {
  it('doubles from the base and stops at the cap', () => {
    const steps = [1, 2, 3, 4, 5, 6].map((a) => backoffDelay(a, { baseMs: 100, maxMs: 1000, jitter: 0 }));
    expect(steps).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('stays capped and finite for any attempt count (20 retries at 200 ms would otherwise sleep ~29 h)', () => {
    expect(backoffDelay(20, { baseMs: 200, maxMs: 10_000, jitter: 0 })).toBe(10_000);
    expect(backoffDelay(10_000, { baseMs: 200, maxMs: 10_000, jitter: 0 })).toBe(10_000);
  });

  it('takes a jitter fraction of the step at random', () => {
    const o = { baseMs: 1000, maxMs: 60_000, jitter: 0.5 };
    expect(backoffDelay(1, { ...o, random: () => 0 })).toBe(500);
    expect(backoffDelay(1, { ...o, random: () => 0.999 })).toBeCloseTo(999.5, 5);
    expect(backoffDelay(3, { ...o, jitter: 1, random: () => 0.25 })).toBe(1000);
  });

  it('rejects nonsense options', () => {
    expect(() => backoffDelay(1, { baseMs: -1, maxMs: 1 })).toThrow(RangeError);
    expect(() => backoffDelay(1, { baseMs: 1, maxMs: 1, jitter: 2 })).toThrow(/jitter/);
  });
});
