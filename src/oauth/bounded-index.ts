/** A bounded multimap for correlation: key → ids in arrival order, capped in keys (LRU) and ids per key. */
export class Index {
  #map = new Map<string, string[]>();
  constructor(readonly maxKeys: number, readonly maxPerKey: number) {}
  add(key: string | undefined, id: string): void {
    if (!key) return;
    const list = this.#map.get(key) ?? [];
    if (!list.includes(id)) list.push(id);
    if (list.length > this.maxPerKey) list.shift();
    this.#map.delete(key);
    this.#map.set(key, list);
    if (this.#map.size > this.maxKeys) {
      const first = this.#map.keys().next();
      if (!first.done) this.#map.delete(first.value);
    }
  }
  get(key: string | undefined): readonly string[] {
    return key ? this.#map.get(key) ?? [] : [];
  }
}
