import { IdIndex, type ResolverIds } from './resolver-ids';
import { byCountThenKey, type HeavyHitter, SpaceSaving, type TopResolvers } from './space-saving';

/**
 * An alert's top resolvers in the zone detector: the same space-saving counters, keyed by the
 * zone's resolver ids (ResolverIds) instead of names. The per-query pass adds every never-seen
 * query's sender; under a flood from thousands of resolvers most adds replace a counter, and
 * three string-keyed Map operations per replacement were ~4 % of the detector. Names are what
 * leave (messages, checkpoints): identical to a SpaceSaving keyed by name, order included.
 */
export class ResolverTop implements TopResolvers {
  private constructor(
    private readonly ids: ResolverIds,
    private readonly counters: SpaceSaving<number>,
  ) {}

  static empty(k: number, ids: ResolverIds): ResolverTop {
    return new ResolverTop(ids, new SpaceSaving<number>(k, new IdIndex()));
  }

  /** From a checkpoint's counters (by name, oldest first). */
  static fromJSON(k: number, items: readonly HeavyHitter[], ids: ResolverIds): ResolverTop {
    const byId = items.map((h) => ({ key: ids.id(h.key), count: h.count, error: h.error }));
    return new ResolverTop(ids, SpaceSaving.fromJSON(k, byId, new IdIndex()));
  }

  /** The pass's add: a row's resolver id (and the onset's seed, with its count). */
  addId(id: number, weight = 1): void {
    this.counters.add(id, weight);
  }

  top(n: number): HeavyHitter[] {
    return this.toJSON().sort(byCountThenKey).slice(0, n);
  }

  toJSON(): HeavyHitter[] {
    const names = this.ids.names;
    return this.counters
      .entries()
      .map((h) => ({ key: names[h.key]!, count: h.count, error: h.error }));
  }

  /** Re-id after the id table was rebuilt (`names`: the old table; `id`: the new lookup). */
  reidentify(names: readonly string[], id: (name: string) => number): void {
    this.counters.rekey((old) => id(names[old]!));
  }
}
