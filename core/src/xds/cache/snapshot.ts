import { createHash } from 'node:crypto';
import type { XdsResource } from '@trellis/plugin-sdk';

/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes (benchmark timestamps). */
export function preciseNow(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * An immutable set of resources for one snapshot key: typeUrl -> resources. Resources are shared by reference
 * with every other snapshot that holds them (encoded once).
 */
export class Snapshot {
  readonly #byType: ReadonlyMap<string, readonly XdsResource[]>;
  readonly #byName = new Map<string, ReadonlyMap<string, XdsResource>>();
  /** When the content was generated (set by the producer for benchmark timestamps). */
  readonly generatedAt: number;

  constructor(resources: Iterable<XdsResource>, options: { generatedAt?: number } = {}) {
    const byType = new Map<string, XdsResource[]>();
    for (const r of resources) {
      let list = byType.get(r.typeUrl);
      if (!list) byType.set(r.typeUrl, (list = []));
      list.push(r);
    }
    for (const list of byType.values()) {
      list.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      Object.freeze(list);
    }
    this.#byType = byType;
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
    return this.#byType.get(typeUrl) ?? [];
  }

  byName(typeUrl: string): ReadonlyMap<string, XdsResource> {
    let m = this.#byName.get(typeUrl);
    if (!m) {
      m = new Map(this.resources(typeUrl).map((r) => [r.name, r]));
      this.#byName.set(typeUrl, m);
    }
    return m;
  }

  get(typeUrl: string, name: string): XdsResource | undefined {
    return this.byName(typeUrl).get(name);
  }
}

/**
 * The version of a set of resources (state of the world `version_info`): a hash of their names and content
 * versions, so the same set gives the same version after a restart or on another replica.
 */
export function aggregateVersion(resources: readonly XdsResource[]): string {
  const h = createHash('sha256');
  for (const r of resources) h.update(r.name).update('\0').update(r.version).update('\n');
  return h.digest('base64url').slice(0, 16);
}
