import type { XdsResource } from '@trellis/plugin-sdk';
import { aggregateVersion, internList, type InternedList } from './intern.ts';

export { aggregateVersion } from './intern.ts';

/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes (benchmark timestamps). */
export function preciseNow(): number {
  return performance.timeOrigin + performance.now();
}

const EMPTY: InternedList = Object.freeze({ resources: Object.freeze([]), version: aggregateVersion([]) });
/** Name indexes, one per interned list: shared by every snapshot holding that list. */
const nameIndexes = new WeakMap<InternedList, ReadonlyMap<string, XdsResource>>();

/**
 * An immutable set of resources for one snapshot key: typeUrl -> resources. Each type's list is interned
 * (`internList`): snapshots with the same resources of a type share one list, its version and its name index,
 * and resources are shared by reference with every other snapshot that holds them (encoded once).
 */
export class Snapshot {
  readonly #byType: ReadonlyMap<string, InternedList>;
  /** When the content was generated (set by the producer for benchmark timestamps). */
  readonly generatedAt: number;

  constructor(resources: Iterable<XdsResource>, options: { generatedAt?: number } = {}) {
    const byType = new Map<string, XdsResource[]>();
    for (const r of resources) {
      let list = byType.get(r.typeUrl);
      if (!list) byType.set(r.typeUrl, (list = []));
      list.push(r);
    }
    const interned = new Map<string, InternedList>();
    for (const [typeUrl, list] of byType) {
      list.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      interned.set(typeUrl, internList(typeUrl, list));
    }
    this.#byType = interned;
    this.generatedAt = options.generatedAt ?? preciseNow();
    Object.freeze(this);
  }

  /** Builds a snapshot from a typeUrl-keyed record. */
  static from(record: Readonly<Record<string, readonly XdsResource[]>>, options?: { generatedAt?: number }): Snapshot {
    return new Snapshot(Object.values(record).flat(), options);
  }

  typeUrls(): string[] {
    return [...this.#byType.keys()];
  }

  resources(typeUrl: string): readonly XdsResource[] {
    return this.list(typeUrl).resources;
  }

  /** The type's interned list: the same object for every snapshot with the same resources of that type. */
  list(typeUrl: string): InternedList {
    return this.#byType.get(typeUrl) ?? EMPTY;
  }

  /** The type's version (`aggregateVersion` of all its resources). */
  version(typeUrl: string): string {
    return this.list(typeUrl).version;
  }

  byName(typeUrl: string): ReadonlyMap<string, XdsResource> {
    const list = this.list(typeUrl);
    let m = nameIndexes.get(list);
    if (!m) nameIndexes.set(list, (m = new Map(list.resources.map((r) => [r.name, r]))));
    return m;
  }

  get(typeUrl: string, name: string): XdsResource | undefined {
    return this.byName(typeUrl).get(name);
  }
}
