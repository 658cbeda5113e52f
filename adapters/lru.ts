/** A Map of at most `max` entries; the least recently read or written goes first when it is full. */
export class LruMap<K, V> {
  private readonly entries = new Map<K, V>();

  /** `onEvict` hears of each entry pushed out by a newer one or cleared (not of deletes and overwrites). */
  constructor(private readonly max: number, private readonly onEvict?: (key: K, value: V) => void) {}

  get(key: K): V | undefined {
    const value = this.entries.get(key);
    if (value === undefined) return undefined;
    this.entries.delete(key); // re-inserted: the Map's order is the recency order
    this.entries.set(key, value);
    return value;
  }

  set(key: K, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    if (this.entries.size > this.max) {
      const [oldest, evicted] = this.entries.entries().next().value!;
      this.entries.delete(oldest);
      this.onEvict?.(oldest, evicted);
    }
  }

  delete(key: K): void {
    this.entries.delete(key);
  }

  clear(): void {
    const all = [...this.entries];
    this.entries.clear();
    for (const [key, value] of all) this.onEvict?.(key, value);
  }
}
