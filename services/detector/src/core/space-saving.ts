/**
 * Space-Saving heavy hitters (Metwally et al. 2005): k counters; an unseen key replaces the
 * smallest and inherits its count as an error bound. Any key with true frequency > N/k is kept.
 * Counts are upper bounds; `count - error` is a guaranteed lower bound.
 */
export interface HeavyHitter<K = string> {
  key: K;
  count: number;
  error: number;
}

/**
 * Counters live in k slots ordered by a min-heap on (count, age): a replacement is O(log k)
 * with no allocation. Every query of a zone passes through here (its stats window's top
 * resolvers), and a flood from thousands of resolvers replaces a counter on most of them — a
 * linear scan for the minimum and a new object per replacement were ~9 % of the detector.
 * Among equal counts the oldest counter goes first, the order a scan over insertion order gave.
 */
/** What the counters need of a key → slot index (a Map, or an IdIndex for small integer keys). */
export interface SlotIndex<K> {
  get(key: K): number | undefined;
  set(key: K, slot: number): unknown;
  delete(key: K): unknown;
  clear(): void;
}

export class SpaceSaving<K = string> {
  private readonly keys: K[] = [];
  private readonly counts: Float64Array;
  private readonly errors: Float64Array;
  /** When the slot's key was inserted (tie-break: oldest first). */
  private readonly ages: Float64Array;
  private age = 0;
  /** heap[i] = slot; at[slot] = its heap position. */
  private readonly heap: Int32Array;
  private readonly at: Int32Array;
  private n = 0;

  constructor(
    readonly k = 64,
    private readonly index: SlotIndex<K> = new Map<K, number>(),
  ) {
    this.counts = new Float64Array(k);
    this.errors = new Float64Array(k);
    this.ages = new Float64Array(k);
    this.heap = new Int32Array(k);
    this.at = new Int32Array(k);
  }

  add(key: K, weight = 1): void {
    const slot = this.index.get(key);
    if (slot !== undefined) {
      this.counts[slot]! += weight;
      this.down(this.at[slot]!);
      return;
    }
    if (this.n < this.k) {
      const s = this.n++;
      this.set(s, key, weight, 0);
      this.heap[s] = s;
      this.at[s] = s;
      this.up(s);
      return;
    }
    const min = this.heap[0]!;
    const inherited = this.counts[min]!;
    this.index.delete(this.keys[min]!);
    this.set(min, key, inherited + weight, inherited);
    this.down(0);
  }

  private set(slot: number, key: K, count: number, error: number): void {
    this.keys[slot] = key;
    this.counts[slot] = count;
    this.errors[slot] = error;
    this.ages[slot] = this.age++;
    this.index.set(key, slot);
  }

  // The sifts move a hole instead of swapping: the same comparisons along the same path, so the
  // same heap, with one write per level. A flood from thousands of resolvers sinks a counter
  // through every level on most queries (swapping and a call per comparison: ~40 % of an add).

  private up(i: number): void {
    const heap = this.heap;
    const counts = this.counts;
    const ages = this.ages;
    const moving = heap[i]!;
    const c = counts[moving]!;
    const g = ages[moving]!;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent]!;
      const cp = counts[p]!;
      if (!(c < cp || (c === cp && g < ages[p]!))) break;
      heap[i] = p;
      this.at[p] = i;
      i = parent;
    }
    heap[i] = moving;
    this.at[moving] = i;
  }

  private down(i: number): void {
    const heap = this.heap;
    const counts = this.counts;
    const ages = this.ages;
    const n = this.n;
    const moving = heap[i]!;
    const c = counts[moving]!;
    const g = ages[moving]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      let least = heap[l]!;
      let at = l;
      let cl = counts[least]!;
      if (l + 1 < n) {
        const right = heap[l + 1]!;
        const cr = counts[right]!;
        if (cr < cl || (cr === cl && ages[right]! < ages[least]!)) {
          least = right;
          at = l + 1;
          cl = cr;
        }
      }
      if (!(cl < c || (cl === c && ages[least]! < g))) break;
      heap[i] = least;
      this.at[least] = i;
      i = at;
    }
    heap[i] = moving;
    this.at[moving] = i;
  }

  /** The counters, oldest first. */
  entries(): HeavyHitter<K>[] {
    const slots = Array.from({ length: this.n }, (_, i) => i).sort(
      (a, b) => this.ages[a]! - this.ages[b]!,
    );
    return slots.map((s) => ({
      key: this.keys[s]!,
      count: this.counts[s]!,
      error: this.errors[s]!,
    }));
  }

  /** Highest counts first; ties broken by key so the order is deterministic. */
  top(n: number): HeavyHitter<K>[] {
    return this.entries().sort(byCountThenKey).slice(0, n);
  }

  get size(): number {
    return this.n;
  }

  /**
   * Every key mapped through `to` (its owner renumbered them: a zone's resolver ids after a
   * compaction), counts, errors, ages and heap untouched: it counts on exactly as before.
   */
  rekey(to: (key: K) => K): void {
    this.index.clear();
    for (let slot = 0; slot < this.n; slot++) {
      const key = to(this.keys[slot]!);
      this.keys[slot] = key;
      this.index.set(key, slot);
    }
  }

  clear(): void {
    this.index.clear();
    this.keys.length = 0;
    this.n = 0;
    this.age = 0;
  }

  toJSON(): HeavyHitter<K>[] {
    return this.entries();
  }

  static fromJSON<K = string>(
    k: number,
    items: readonly HeavyHitter<K>[],
    index?: SlotIndex<K>,
  ): SpaceSaving<K> {
    const s = new SpaceSaving<K>(k, index);
    for (const i of items.slice(0, k)) {
      const slot = s.n++;
      s.set(slot, i.key, i.count, i.error);
      s.heap[slot] = slot;
      s.at[slot] = slot;
      s.up(slot);
    }
    return s;
  }
}

/**
 * What an alert's messages and checkpoints read of its top resolvers, whatever keys them inside:
 * the merge stage's SpaceSaving by name, the zone detector's ResolverTop by resolver id (each
 * owner adds to its own kind).
 */
export interface TopResolvers {
  /** Highest counts first, ties by name. */
  top(n: number): HeavyHitter[];
  /** The counters, oldest first, by name (a checkpoint). */
  toJSON(): HeavyHitter[];
}

/** Highest count first, then key (top's order). */
export function byCountThenKey<K>(a: HeavyHitter<K>, b: HeavyHitter<K>): number {
  return b.count - a.count || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}
