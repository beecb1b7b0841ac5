/** The client pool's sharding: every global proxy index of a range maps to exactly one (shard, local index). */
import { describe, expect, it } from 'vitest';
import { shardRange } from '../../bench/client-pool.ts';

describe('shardRange', () => {
  it('covers [from, to) exactly once over the shards, for every shard count and range', () => {
    for (let n = 1; n <= 5; n++)
      for (let from = 0; from <= 12; from++)
        for (let to = from; to <= 25; to++) {
          const seen: number[] = [];
          for (let s = 0; s < n; s++) {
            const r = shardRange(s, n, from, to);
            for (let j = r.from; j < r.to; j++) seen.push(j * n + s);
          }
          expect(seen.sort((a, b) => a - b), `n=${n} [${from}, ${to})`).toEqual(Array.from({ length: to - from }, (_, k) => from + k));
        }
  });

  it('keeps a shard local indexes in the order proxies were added (proxy i lives in shard i mod n)', () => {
    expect(shardRange(1, 4, 0, 10)).toEqual({ from: 0, to: 3 }); // globals 1, 5, 9
    expect(shardRange(3, 4, 4, 8)).toEqual({ from: 1, to: 2 }); // global 7
  });
});
