/** A small bounded LRU map: Map keeps insertion order, so re-inserting on read makes the first key the oldest. */
export class Lru<K, V> {
  readonly capacity: number;
  #items = new Map<K, V>();
  #onEvict: ((key: K, value: V) => void) | undefined;

  constructor(capacity: number, onEvict?: (key: K, value: V) => void) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('LRU capacity must be a positive integer');
    this.capacity = capacity;
    this.#onEvict = onEvict;
  }

  get(key: K): V | undefined {
    const value = this.#items.get(key);
    if (value === undefined) return undefined;
    this.#items.delete(key);
    this.#items.set(key, value);
    return value;
  }

  set(key: K, value: V): void {
    this.#items.delete(key);
    this.#items.set(key, value);
    while (this.#items.size > this.capacity) {
      const oldest = this.#items.keys().next().value as K;
      const evicted = this.#items.get(oldest) as V;
      this.#items.delete(oldest);
      this.#onEvict?.(oldest, evicted);
    }
  }

  delete(key: K): boolean {
    return this.#items.delete(key);
  }

  get size(): number {
    return this.#items.size;
  }
}
