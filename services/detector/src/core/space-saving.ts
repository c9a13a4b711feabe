/**
 * Space-Saving heavy hitters (Metwally et al. 2005): k counters; an unseen key replaces the
 * smallest and inherits its count as an error bound. Any key with true frequency > N/k is kept.
 * Counts are upper bounds; `count - error` is a guaranteed lower bound.
 */
export interface HeavyHitter {
  key: string;
  count: number;
  error: number;
}

export class SpaceSaving {
  private readonly counters = new Map<string, HeavyHitter>();
  private minCache: HeavyHitter | null = null;

  constructor(readonly k = 64) {}

  add(key: string, weight = 1): void {
    const c = this.counters.get(key);
    if (c) {
      c.count += weight;
      if (c === this.minCache) this.minCache = null;
      return;
    }
    if (this.counters.size < this.k) {
      this.counters.set(key, { key, count: weight, error: 0 });
      this.minCache = null;
      return;
    }
    const min = this.min();
    this.counters.delete(min.key);
    this.counters.set(key, { key, count: min.count + weight, error: min.count });
    this.minCache = null;
  }

  private min(): HeavyHitter {
    if (this.minCache) return this.minCache;
    let min: HeavyHitter | null = null;
    for (const c of this.counters.values()) if (min === null || c.count < min.count) min = c;
    this.minCache = min;
    return min!;
  }

  /** Highest counts first; ties broken by key so the order is deterministic. */
  top(n: number): HeavyHitter[] {
    return [...this.counters.values()]
      .sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
      .slice(0, n)
      .map((c) => ({ ...c }));
  }

  get size(): number {
    return this.counters.size;
  }

  clear(): void {
    this.counters.clear();
    this.minCache = null;
  }

  toJSON(): HeavyHitter[] {
    return [...this.counters.values()];
  }

  static fromJSON(k: number, items: readonly HeavyHitter[]): SpaceSaving {
    const s = new SpaceSaving(k);
    for (const i of items) s.counters.set(i.key, { ...i });
    return s;
  }
}
