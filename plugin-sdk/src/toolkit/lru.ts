import { LRUCache } from 'lru-cache';

export interface ByteLruOptions<V> {
  /** Upper bound of the summed `sizeOf` of the entries; the least recently used go first past it. */
  readonly maxBytes: number;
  /** An entry's size in bytes (an estimate is fine; it must be stable for a given entry). */
  readonly sizeOf: (value: V, key: string) => number;
  /** Optional bound on the entry count as well. */
  readonly maxEntries?: number;
}

/**
 * A least-recently-used map bounded by bytes (lru-cache's `maxSize` + `sizeCalculation`): memory stays bounded
 * however the mesh churns and however large single entries are. An entry larger than `maxBytes` is returned
 * but not kept. Counts hits and misses for stats.
 */
export class ByteLru<V extends object> {
  readonly #cache: LRUCache<string, V>;
  hits = 0;
  misses = 0;

  constructor(readonly options: ByteLruOptions<V>) {
    if (!(options.maxBytes >= 1)) throw new RangeError(`maxBytes must be >= 1, got ${options.maxBytes}`);
    this.#cache = new LRUCache<string, V>({
      maxSize: Math.floor(options.maxBytes),
      ...(options.maxEntries !== undefined ? { max: Math.max(1, Math.floor(options.maxEntries)) } : {}),
      // lru-cache wants a positive integer.
      sizeCalculation: (v, k) => Math.max(1, Math.ceil(options.sizeOf(v, k))),
    });
  }

  /** Entries held. */
  get size(): number {
    return this.#cache.size;
  }

  /** Summed size of the entries held. */
  get bytes(): number {
    return this.#cache.calculatedSize;
  }

  get(key: string): V | undefined {
    return this.#cache.get(key);
  }

  set(key: string, value: V): void {
    this.#cache.set(key, value);
  }

  /** The cached value for `key` (refreshing its recency), or `create()`'s, which is then cached. */
  getOrCreate(key: string, create: () => V): V {
    const found = this.#cache.get(key);
    if (found !== undefined) {
      this.hits++;
      return found;
    }
    this.misses++;
    const value = create();
    this.#cache.set(key, value);
    return value;
  }

  clear(): void {
    this.#cache.clear();
  }
}

/**
 * An estimate of what a cached XdsResource keeps alive: its encoding, plus the object it was encoded from
 * (kept for debug output; a JS object graph takes a few times its protobuf encoding), plus its name and key.
 */
export function xdsResourceBytes(r: { readonly body: Uint8Array; readonly name: string }, key = ''): number {
  return 4 * r.body.byteLength + 2 * (r.name.length + key.length) + 256;
}
