import { describe, expect, it } from 'vitest';
import { RebuildQueue } from './rebuild-queue.ts';

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
