import type { NodeIdentity } from '@trellis/plugin-sdk';
import { checkConsistency } from './consistency.ts';
import type { Snapshot } from './snapshot.ts';

/** Maps a proxy to its snapshot key; proxies with equal keys share one snapshot object. */
export type NodeHash = (node: NodeIdentity) => string;

export const defaultNodeHash: NodeHash = (node) => `${node.kind}|${node.namespace}/${node.serviceAccount}`;

export type SnapshotListener = (snapshot: Snapshot, key: string) => void;

export type SetSnapshotResult = { ok: true; changed: boolean } | { ok: false; problems: string[] };

/**
 * Snapshots by key, with watchers. `setSnapshot` checks consistency first and keeps the previous snapshot
 * when the new one is inconsistent.
 */
export class SnapshotCache {
  readonly #snapshots = new Map<string, Snapshot>();
  readonly #watchers = new Map<string, Set<SnapshotListener>>();
  readonly #nodeHash: NodeHash;

  constructor(options: { nodeHash?: NodeHash } = {}) {
    this.#nodeHash = options.nodeHash ?? defaultNodeHash;
  }

  keyOf(node: NodeIdentity): string {
    return this.#nodeHash(node);
  }

  setSnapshot(key: string, snapshot: Snapshot): SetSnapshotResult {
    const problems = checkConsistency(snapshot);
    if (problems.length > 0) return { ok: false, problems };
    if (this.#snapshots.get(key) === snapshot) return { ok: true, changed: false };
    this.#snapshots.set(key, snapshot);
    for (const listener of [...(this.#watchers.get(key) ?? [])]) listener(snapshot, key);
    return { ok: true, changed: true };
  }

  getSnapshot(key: string): Snapshot | undefined {
    return this.#snapshots.get(key);
  }

  /** Drops a key's snapshot (e.g. when no proxy of that key is connected any more). Watchers stay. */
  clearSnapshot(key: string): void {
    this.#snapshots.delete(key);
  }

  keys(): string[] {
    return [...this.#snapshots.keys()];
  }

  /** Calls `listener` on every later `setSnapshot(key)` that changes the snapshot. Returns an unsubscribe. */
  watch(key: string, listener: SnapshotListener): () => void {
    let set = this.#watchers.get(key);
    if (!set) this.#watchers.set(key, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.#watchers.get(key) === set) this.#watchers.delete(key);
    };
  }

  watcherCount(key: string): number {
    return this.#watchers.get(key)?.size ?? 0;
  }
}
