import type { XdsResource, XdsResourceFactory } from '@trellis/plugin-sdk';
import type { Obj } from './types.ts';

/** Makes resources through the memo: `build` runs (and the factory encodes) only on a miss. */
export interface Emit {
  /** A resource whose content is a pure function of `key` (the key must cover every input of `build`). */
  (key: string, typeUrl: string, name: string, build: () => Obj): XdsResource;
}

/**
 * Encode-once cache: the same inputs give the same `XdsResource` object, so snapshots of many proxies share one
 * encoding (listeners, routes, clusters, endpoints) and a hit skips building the object too. Keys are small
 * strings of the inputs, cheaper than the resources themselves. Bounded LRU: a Map in insertion order,
 * refreshed on hit, oldest dropped past `max`.
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

  emitter(factory: XdsResourceFactory): Emit {
    return (key, typeUrl, name, build) => {
      const k = `${typeUrl}\0${name}\0${key}`;
      const hit = this.#entries.get(k);
      if (hit) {
        this.#entries.delete(k);
        this.#entries.set(k, hit);
        return hit;
      }
      const made = factory.create(typeUrl, name, build());
      this.#entries.set(k, made);
      if (this.#entries.size > this.#max) {
        const oldest = this.#entries.keys().next();
        if (!oldest.done) this.#entries.delete(oldest.value);
      }
      return made;
    };
  }
}
