import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { KeyDebouncer, RebuildQueue } from './rebuild-queue.ts';

const tick = () => new Promise((r) => setTimeout(r, 0));

describe('RebuildQueue', () => {
  it('runs independent keys concurrently up to the limit, one key never twice at once, and once more when asked while running', async () => {
    const started: string[] = [];
    const finish = new Map<string, () => void>();
    const q = new RebuildQueue(2, (key) => {
      started.push(key);
      return new Promise<void>((r) => finish.set(key, r));
    });
    const a = q.request('a');
    void q.request('b');
    void q.request('c');
    void q.request('a'); // while a runs: a second run of a afterwards
    await tick();
    expect(started).toEqual(['a', 'b']);
    expect([q.running, q.queued]).toEqual([2, 2]);
    finish.get('b')!(); // b's slot goes to c; a is still running so its rerun waits
    await tick();
    expect(started).toEqual(['a', 'b', 'c']);
    finish.get('a')!();
    await a;
    await tick();
    expect(started).toEqual(['a', 'b', 'c', 'a']);
    let idle = false;
    void q.idle().then(() => (idle = true));
    finish.get('c')!();
    finish.get('a')!();
    await tick();
    expect(idle).toBe(true);
  });

  it('a stalled key holds one slot only', async () => {
    const done: string[] = [];
    const q = new RebuildQueue(2, async (key) => {
      if (key === 'stalled') await new Promise(() => {});
      done.push(key);
    });
    void q.request('stalled');
    await Promise.all(['x', 'y', 'z'].map((k) => q.request(k)));
    expect(done).toEqual(['x', 'y', 'z']);
  });
});

describe('KeyDebouncer', () => {
  beforeEach(() => vi.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => vi.useRealTimers());

  /** Flushes as [time since start, sorted keys]. */
  function recorder(quietMs: number, maxDelayMs: number) {
    const start = Date.now();
    const flushes: [number, string[]][] = [];
    const waits = new Map<string, number>();
    const d = new KeyDebouncer({ quietMs, maxDelayMs }, (keys) => {
      flushes.push([Date.now() - start, [...keys.keys()].sort()]);
      for (const [k, since] of keys) waits.set(k, Date.now() - since);
    });
    return { d, flushes, waits };
  }

  it('coalesces repeated changes of one key over its quiet window', () => {
    const { d, flushes } = recorder(50, 250);
    d.add('a');
    vi.advanceTimersByTime(30);
    d.add('a');
    d.add('b');
    vi.advanceTimersByTime(49);
    expect(flushes).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(flushes).toEqual([[80, ['a', 'b']]]);
    expect(d.pending).toBe(0);
  });

  it('steady churn on different keys: each key waits its quiet window, not the max', () => {
    // 30 changes/s, each on other keys: a batch-wide quiet window would be restarted every 33 ms and hold all for 250 ms.
    const { d, waits } = recorder(50, 250);
    for (let i = 0; i < 30; i++) {
      d.add(`k${i}`);
      vi.advanceTimersByTime(33);
    }
    vi.advanceTimersByTime(100);
    expect(waits.size).toBe(30);
    expect(Math.max(...waits.values())).toBe(50);
  });

  it('a key changed again and again is held until max, then let go; others are not held with it', () => {
    const { d, flushes, waits } = recorder(50, 250);
    for (let t = 0; t < 400; t += 20) {
      d.add('hot');
      if (t === 100) d.add('cold');
      vi.advanceTimersByTime(20);
    }
    vi.advanceTimersByTime(100);
    // hot: first at 0, flushed at its max (250); again from 260, flushed at 260 + 50 after its last change at 380.
    expect(flushes).toEqual([
      [150, ['cold']],
      [250, ['hot']],
      [430, ['hot']],
    ]);
    expect(waits.get('hot')).toBe(170);
  });

  it('a burst on many keys is one flush', () => {
    const { d, flushes } = recorder(50, 250);
    for (let i = 0; i < 2000; i++) d.add(`k${i}`);
    vi.advanceTimersByTime(10);
    for (let i = 0; i < 2000; i++) d.add(`k${i}`);
    vi.advanceTimersByTime(60);
    expect(flushes.map(([t, keys]) => [t, keys.length])).toEqual([[60, 2000]]);
  });

  it('max below quiet caps the wait of a single change', () => {
    const { d, flushes } = recorder(100, 30);
    d.add('a');
    vi.advanceTimersByTime(200);
    expect(flushes).toEqual([[30, ['a']]]);
  });

  it('flush lets everything go at once; cancel drops it', () => {
    const { d, flushes } = recorder(50, 250);
    d.add('a');
    d.add('b');
    expect(d.has('a')).toBe(true);
    d.flush();
    expect(flushes).toEqual([[0, ['a', 'b']]]);
    d.add('c');
    d.cancel();
    vi.advanceTimersByTime(1000);
    expect(flushes).toHaveLength(1);
    expect(d.pending).toBe(0);
  });

  it('refuses a negative or non-numeric window', () => {
    expect(() => new KeyDebouncer({ quietMs: -1, maxDelayMs: 10 }, () => {})).toThrow(/quietMs/);
    expect(() => new KeyDebouncer({ quietMs: 1, maxDelayMs: Number.NaN }, () => {})).toThrow(/maxDelayMs/);
  });
});
