import { ByteLru, xdsResourceBytes } from '@trellis/plugin-sdk';
import type { ResourceTypes, TypeUrl, XdsResource, XdsResourceFactory } from '@trellis/plugin-sdk';

/** Makes resources through the memo: `build` runs (and the factory encodes) only on a miss. */
export interface Emit {
  /** A resource whose content is a pure function of `key` (the key must cover every input of `build`). */
  <U extends TypeUrl>(key: string, typeUrl: U, name: string, build: () => ResourceTypes[U]): XdsResource;
}

/**
 * Encode-once cache: the same inputs give the same `XdsResource` object, so snapshots of many proxies share one
 * encoding (listeners, routes, clusters, endpoints) and a hit skips building the object too. Keys are small
 * strings of the inputs, cheaper than the resources themselves. Bounded by entries and by bytes (LRU).
 */
export class ResourceMemo {
  readonly #entries: ByteLru<XdsResource>;

  constructor(max = 20_000, maxBytes = 256 * 1024 * 1024) {
    this.#entries = new ByteLru<XdsResource>({ maxEntries: Math.max(1, max), maxBytes, sizeOf: xdsResourceBytes });
  }

  get size(): number {
    return this.#entries.size;
  }

  emitter(factory: XdsResourceFactory): Emit {
    return (key, typeUrl, name, build) => this.#entries.getOrCreate(`${typeUrl}\0${name}\0${key}`, () => factory.create(typeUrl, name, build()));
  }
}
