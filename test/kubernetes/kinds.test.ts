import { BUILTIN_KINDS } from '@trellis/plugin-source-kubernetes';
import { describe, expect, it } from 'vitest';
import { KNOWN_KINDS, NAMESPACED } from '@trellis/core';

/** The source watches exactly what the store understands (a kind added to the store must be watched too). */
describe('kubernetes source kinds', () => {
  it('match the store kinds registry, version for version', () => {
    const store = Object.entries(KNOWN_KINDS).flatMap(([group, kinds]) => Object.entries(kinds).map(([kind, versions]) => `${group}/${kind}: ${[...(versions ?? [])].sort().join(',')}`));
    const watched = BUILTIN_KINDS.map((k) => `${k.group}/${k.kind}: ${[...k.versions].sort().join(',')}`);
    expect(watched.sort()).toEqual(store.sort());
  });

  it('agree on which kinds are namespaced (MeshConfig is namespaced on Kubernetes)', () => {
    for (const k of BUILTIN_KINDS) if (k.kind !== 'MeshConfig') expect([k.kind, k.namespaced]).toEqual([k.kind, NAMESPACED.has(k.kind as never)]);
  });
});
