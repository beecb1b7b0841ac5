import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createDebouncer } from './debounce.ts';

describe('createDebouncer', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('coalesces keys over the quiet window', () => {
    const flushed: string[][] = [];
    const d = createDebouncer({ quietMs: 100, maxDelayMs: 1000 }, (k) => flushed.push([...k].sort()));
    d.add('a');
    vi.advanceTimersByTime(50);
    d.add('b');
    d.add('a');
    vi.advanceTimersByTime(99);
    expect(flushed).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(flushed).toEqual([['a', 'b']]);
    expect(d.pending).toBe(0);
  });

  it('never delays longer than maxDelay under a steady stream of keys', () => {
    const flushed: number[] = [];
    const d = createDebouncer({ quietMs: 100, maxDelayMs: 300 }, (k) => flushed.push(k.size));
    for (let i = 0; i < 10; i++) {
      d.add(`k${i}`);
      vi.advanceTimersByTime(50);
    }
    // keys at 0..250 flushed at 300; keys at 300..450 flushed at 550 (quiet) at the latest
    expect(flushed[0]).toBe(6);
    vi.advanceTimersByTime(1000);
    expect(flushed.reduce((a, b) => a + b, 0)).toBe(10);
  });

  it('cancel drops pending keys', () => {
    const flush = vi.fn();
    const d = createDebouncer({ quietMs: 10, maxDelayMs: 10 }, flush);
    d.add('x');
    d.cancel();
    vi.advanceTimersByTime(100);
    expect(flush).not.toHaveBeenCalled();
  });
});
