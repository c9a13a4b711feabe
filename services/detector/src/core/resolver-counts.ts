import { type HeavyHitter } from './space-saving';

/**
 * Queries per resolver over a window, exact, by resolver id (ResolverIds): one array write per
 * query, and the ids in the order they first came. Bounded: past `limit` resolvers a new one is
 * not counted. The zone's stats window (ZoneWindows) and a hot-zone shard's (ShardStage) count
 * with it. A space-saving top (k = 64) in its place cost a heap sift per query and, under a
 * flood's thousands of resolvers, a replacement per query: ~8 % of the detector, ~20 % of a shard.
 */
export class ResolverCounts {
  private counts = new Int32Array(64);
  private ids: number[] = [];

  constructor(private readonly limit: number) {}

  /** Resolvers counted. */
  get size(): number {
    return this.ids.length;
  }

  add(id: number, n = 1): void {
    if (id >= this.counts.length) {
      const wider = new Int32Array(Math.max(id + 1, this.counts.length * 2));
      wider.set(this.counts);
      this.counts = wider;
    }
    const count = this.counts[id]!;
    if (count === 0) {
      if (this.ids.length >= this.limit) return;
      this.ids.push(id);
    }
    this.counts[id] = count + n;
  }

  clear(): void {
    for (const id of this.ids) this.counts[id] = 0;
    this.ids = [];
  }

  /**
   * The n busiest, highest count first, ties by name (as SpaceSaving.top): one pass that keeps
   * the best n so far (thousands of resolvers; n is 16 or 64).
   */
  top(n: number, names: readonly string[]): HeavyHitter[] {
    const counts = this.counts;
    const best: number[] = [];
    const before = (a: number, b: number) =>
      counts[a]! > counts[b]! || (counts[a] === counts[b] && names[a]! < names[b]!);
    for (const id of this.ids) {
      if (best.length === n && !before(id, best[n - 1]!)) continue;
      let at = best.length < n ? best.length : n - 1;
      while (at > 0 && before(id, best[at - 1]!)) {
        best[at] = best[at - 1]!;
        at--;
      }
      best[at] = id;
    }
    return best.map((id) => ({ key: names[id]!, count: counts[id]!, error: 0 }));
  }

  /** Every resolver counted, by name, in the order they came (a checkpoint). */
  list(names: readonly string[]): HeavyHitter[] {
    return this.ids.map((id) => ({ key: names[id]!, count: this.counts[id]!, error: 0 }));
  }

  /**
   * Re-id after the id table was reset (`names`: the old table; `id`: the new one's lookup): the
   * same counts, in the same order.
   */
  reidentify(names: readonly string[], id: (name: string) => number): void {
    const held = this.ids.map((old) => [names[old]!, this.counts[old]!] as const);
    this.clear();
    for (const [name, count] of held) this.add(id(name), count);
  }
}
