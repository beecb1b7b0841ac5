import { createHash } from 'node:crypto';
import { identityKey } from '@trellis/plugin-sdk';
import type { XdsResource } from '@trellis/plugin-sdk';

/**
 * The version of a set of resources (state of the world `version_info`): a hash of their names and content
 * versions, so the same set gives the same version after a restart or on another replica. One `update` of the
 * joined text (the same digest as one update per field, at a fraction of the calls: this runs per type per
 * snapshot, over up to thousands of resources).
 */
export function aggregateVersion(resources: readonly XdsResource[]): string {
  let text = '';
  for (const r of resources) text += `${r.name}\0${r.version}\n`;
  return createHash('sha256').update(text).digest('base64url').slice(0, 16);
}

/** A type's resources as every snapshot holding the same set shares them. */
export interface InternedList {
  readonly resources: readonly XdsResource[];
  /** `aggregateVersion(resources)`, computed once for all holders. */
  readonly version: string;
}

/**
 * Content-keyed registry of per-type resource lists. Snapshots of different identities (or successive
 * snapshots of one) that hold the same resources of a type get the very same frozen list, so everything
 * derived from a list — its version, name index, SotW responses, delta system version — is computed once for
 * all of them and a snapshot holds references only. Weakly held: an entry goes with the last snapshot using it.
 */
const lists = new Map<string, WeakRef<InternedList>>();
const finalizer = new FinalizationRegistry<string>((key) => {
  const ref = lists.get(key);
  if (ref && ref.deref() === undefined) lists.delete(key);
});

/**
 * The interned list for `sorted` (one type's resources, sorted by name). The key is the aggregate version
 * plus every audience: two resources with equal bytes but a different audience are not interchangeable.
 */
export function internList(typeUrl: string, sorted: readonly XdsResource[]): InternedList {
  const version = aggregateVersion(sorted);
  let audiences = '';
  for (const r of sorted) if (r.audience) audiences += `${r.name}=${identityKey(r.audience)}\n`;
  const key = `${typeUrl}\n${version}\n${audiences}`;
  const found = lists.get(key)?.deref();
  if (found) return found;
  const entry: InternedList = Object.freeze({ resources: Object.freeze([...sorted]), version });
  lists.set(key, new WeakRef(entry));
  finalizer.register(entry, key);
  return entry;
}

/** Lists currently interned (tests, debugging). */
export function internedListCount(): number {
  return lists.size;
}
