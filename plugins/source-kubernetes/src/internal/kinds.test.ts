import { describe, expect, it } from 'vitest';
import { BUILTIN_KINDS, watchedKinds } from './kinds.ts';

describe('watchedKinds', () => {
  it('adds contributed policy kinds once per group and kind, merging versions of a known kind', () => {
    const kinds = watchedKinds([
      { apiVersion: 'example.com/v1', kind: 'RateLimit', namespaced: true },
      { apiVersion: 'split.smi-spec.io/v1alpha5', kind: 'TrafficSplit', namespaced: true },
    ]);
    expect(kinds).toHaveLength(BUILTIN_KINDS.length + 1);
    expect(kinds.find((k) => k.kind === 'RateLimit')).toEqual({ group: 'example.com', kind: 'RateLimit', versions: ['v1'], namespaced: true });
    expect(kinds.find((k) => k.kind === 'TrafficSplit')?.versions).toEqual(['v1alpha2', 'v1alpha4', 'v1alpha5']);
    expect(BUILTIN_KINDS.find((k) => k.kind === 'TrafficSplit')?.versions).toEqual(['v1alpha2', 'v1alpha4']); // not mutated
  });
});
