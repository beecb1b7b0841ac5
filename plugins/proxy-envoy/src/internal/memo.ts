/**
 * A bounded least-recently-used map: shared resources are looked up by a content key; the least recently used
 * entries go once `capacity` is exceeded, so memory stays bounded however the mesh churns.
 */
export class LruMemo<V> {
  readonly #map = new Map<string, V>();
  hits = 0;
  misses = 0;

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.#map.size;
  }

  getOrCreate(key: string, create: () => V): V {
    const found = this.#map.get(key);
    if (found !== undefined) {
      this.hits++;
      // Re-insert: Map keeps insertion order, so the first key is always the least recently used.
      this.#map.delete(key);
      this.#map.set(key, found);
      return found;
    }
    this.misses++;
    const value = create();
    this.#map.set(key, value);
    while (this.#map.size > this.capacity) {
      const oldest = this.#map.keys().next();
      if (oldest.done) break;
      this.#map.delete(oldest.value);
    }
    return value;
  }

  clear(): void {
    this.#map.clear();
  }
}
