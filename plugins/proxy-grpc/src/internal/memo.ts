import type { XdsResource, XdsResourceFactory } from '@trellis/plugin-sdk';

/**
 * Encode-once cache: the same resource content gives the same `XdsResource` object, so snapshots of many
 * proxies share one encoding (clusters, endpoints, routes). Bounded LRU: a Map in insertion order, refreshed
 * on hit, oldest dropped past `max`.
 */
export class ResourceMemo {
  readonly #max: number;
  readonly #entries = new Map<string, XdsResource>();

  constructor(max = 20_000) {
    this.#max = Math.max(1, max);
  }

  get size(): number {
    return this.#entries.size;
  }

  create(factory: XdsResourceFactory, typeUrl: string, name: string, value: Record<string, unknown>): XdsResource {
    // Objects are built with a fixed key order, so JSON is a faithful content key.
    const key = `${typeUrl}\0${name}\0${JSON.stringify(value)}`;
    const hit = this.#entries.get(key);
    if (hit) {
      this.#entries.delete(key);
      this.#entries.set(key, hit);
      return hit;
    }
    const made = factory.create(typeUrl, name, value);
    this.#entries.set(key, made);
    if (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
    return made;
  }
}
