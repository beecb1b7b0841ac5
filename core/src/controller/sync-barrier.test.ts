import { describe, expect, it } from 'vitest';
import type { Readiness } from '@trellis/plugin-sdk';
import { SyncBarrier } from './sync-barrier.ts';

describe('SyncBarrier', () => {
  it('opens once every source is synced and stays open when one later reports not ready', () => {
    let a: Readiness = { ready: false, reason: 'first list not done' };
    const sources = [
      { name: 'a', instance: { readiness: () => a } },
      { name: 'plain', instance: {} }, // no readiness(): synced once started
      {
        name: 'broken',
        instance: {
          readiness: (): Readiness => {
            throw new Error('boom');
          },
        },
      },
    ];
    const barrier = new SyncBarrier(() => sources);
    expect(barrier.check()).toBe('waiting for the first full sync of source "a" (first list not done), source "broken" (readiness check threw: boom)');
    expect(barrier.readiness()).toEqual({ ready: false, reason: barrier.check() });
    sources.pop();
    expect(barrier.open).toBe(false);
    a = { ready: true };
    expect(barrier.open).toBe(true);
    a = { ready: false, reason: 'watch lost' };
    expect(barrier.check()).toBeUndefined();
    expect(barrier.readiness()).toEqual({ ready: true });
  });

  it('is open at once with no sources', () => {
    expect(new SyncBarrier(() => []).check()).toBeUndefined();
  });
});
