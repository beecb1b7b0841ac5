import { describe, expect, it } from 'vitest';
import { KeyedConcurrencyLimiter, TokenBucket } from './limits.ts';

describe('TokenBucket', () => {
  it('allows a burst, then the refill rate', () => {
    let t = 0;
    const b = new TokenBucket(10, 3, () => t);
    expect([b.tryTake(), b.tryTake(), b.tryTake(), b.tryTake()]).toEqual([true, true, true, false]);
    t += 100;
    expect([b.tryTake(), b.tryTake()]).toEqual([true, false]);
  });
});

describe('KeyedConcurrencyLimiter', () => {
  it('bounds concurrency and deduplicates waiting keys', async () => {
    const lim = new KeyedConcurrencyLimiter(2);
    const releases: (() => void)[] = [];
    const ran: string[] = [];
    const task = (k: string) => () => new Promise<void>((r) => { ran.push(k); releases.push(r); });
    lim.schedule('a', task('a'));
    lim.schedule('b', task('b'));
    lim.schedule('c', task('c'));
    lim.schedule('c', task('c2'));
    expect(lim.running).toBe(2);
    expect(lim.waiting).toBe(1);
    releases[0]!();
    await new Promise((r) => setTimeout(r, 0));
    expect(ran).toEqual(['a', 'b', 'c']);
    releases.forEach((r) => r());
  });
});
