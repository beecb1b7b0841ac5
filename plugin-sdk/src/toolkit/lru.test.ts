import { describe, expect, it } from 'vitest';
import { ByteLru, xdsResourceBytes } from './lru.ts';

const blob = (n: number) => ({ bytes: new Uint8Array(n) });
const lru = (maxBytes: number, maxEntries?: number) =>
  new ByteLru<{ bytes: Uint8Array }>({ maxBytes, sizeOf: (v) => v.bytes.byteLength, ...(maxEntries ? { maxEntries } : {}) });

describe('ByteLru', () => {
  it('evicts the least recently used entries once the byte budget is exceeded', () => {
    const c = lru(100);
    c.set('a', blob(40));
    c.set('b', blob(40));
    expect(c.get('a')).toBeDefined(); // a is now the most recent
    c.set('c', blob(40)); // 120 > 100: b (least recently used) goes
    expect([c.get('a') !== undefined, c.get('b') !== undefined, c.get('c') !== undefined]).toEqual([true, false, true]);
    expect(c.bytes).toBe(80);
  });

  it('keeps many small entries where a count bound would not, and few large ones', () => {
    const small = lru(1000);
    for (let i = 0; i < 100; i++) small.set(`k${i}`, blob(10));
    expect(small.size).toBe(100);
    const large = lru(1000);
    for (let i = 0; i < 100; i++) large.set(`k${i}`, blob(300));
    expect(large.size).toBe(3);
    expect(large.bytes).toBeLessThanOrEqual(1000);
  });

  it('returns but does not keep an entry larger than the budget; zero-size entries still count', () => {
    const c = lru(100);
    const big = blob(500);
    expect(c.getOrCreate('big', () => big)).toBe(big);
    expect(c.get('big')).toBeUndefined();
    c.set('empty', blob(0));
    expect(c.bytes).toBe(1);
  });

  it('getOrCreate creates once per key and counts hits and misses', () => {
    const c = lru(1000);
    let made = 0;
    const make = () => (made++, blob(1));
    const first = c.getOrCreate('k', make);
    expect(c.getOrCreate('k', make)).toBe(first);
    expect([made, c.hits, c.misses]).toEqual([1, 1, 1]);
  });

  it('honours an entry bound as well', () => {
    const c = lru(1_000_000, 2);
    c.set('a', blob(1));
    c.set('b', blob(1));
    c.set('c', blob(1));
    expect(c.size).toBe(2);
    expect(c.get('a')).toBeUndefined();
  });

  it('estimates an XdsResource by its encoding, name and key', () => {
    expect(xdsResourceBytes({ body: new Uint8Array(100), name: 'ab' }, 'key')).toBe(4 * 100 + 2 * 5 + 256);
  });
});
