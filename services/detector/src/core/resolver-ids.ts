import { type QueryColumns } from '@sluice/contracts';
import { type TickRows } from './tick-rows';

/**
 * A zone's resolvers as small integers, for the per-query pass: its stats window's top resolvers
 * and its offender counts index arrays by id instead of hashing the name in a Map (two or three
 * string-keyed lookups per query, and the top's delete/insert churn, were ~15 % of the detector).
 * A batch's resolver dictionary is mapped to ids once per batch (`ofColumns`), so a query costs
 * one array read. Ids live until `reset` (the zone compacts when the table outgrows what its
 * windows hold); names are what leaves the zone (outputs, checkpoints), so ids never do.
 */
export class ResolverIds {
  private readonly ids = new Map<string, number>();
  readonly names: string[] = [];
  /** Batch dictionary index → id + 1 for batch `batchSeq` (0: not looked up yet). */
  private batch = new Int32Array(64);
  private batchSeq = -1;
  /**
   * The decoder's intern (slot, serial) → id, direct-mapped by slot: a dictionary entry's id is
   * found without hashing its name. The name Map cost ~170 ns per entry in the consumer's loop
   * (a cache miss on the string and on the Map), half as many entries as queries on a busy mix.
   * Grows with the zone's resolvers up to the decoder's 4096 slots (32 KiB on a busy zone).
   */
  private slotSerial = new Float64Array(16);
  private slotId = new Int32Array(16);

  get size(): number {
    return this.names.length;
  }

  id(name: string): number {
    let id = this.ids.get(name);
    if (id === undefined) {
      id = this.names.length;
      this.names.push(name);
      this.ids.set(name, id);
    }
    return id;
  }

  /** The id of row i's resolver; `seq` names the batch (the caller's count of batches). */
  ofColumns(c: QueryColumns, i: number, seq: number): number {
    const r = c.resolver[i]! | 0;
    if (seq !== this.batchSeq) {
      this.batchSeq = seq;
      const n = c.resolvers.length;
      if (this.batch.length < n) this.batch = new Int32Array(Math.max(n, this.batch.length * 2));
      else this.batch.fill(0, 0, n);
    }
    const known = this.batch[r]!;
    if (known !== 0) return known - 1;
    const id = this.ofEntry(c, r);
    this.batch[r] = id + 1;
    return id;
  }

  /** The id of the batch's dictionary entry r. */
  private ofEntry(c: QueryColumns, r: number): number {
    const slot = c.resolverSlot[r]!;
    if (slot < 0) return this.id(c.resolvers[r]!);
    const at = slot & (this.slotSerial.length - 1);
    const serial = c.resolverSerial[r]!;
    if (this.slotSerial[at] === serial) return this.slotId[at]!;
    const id = this.id(c.resolvers[r]!);
    if (this.names.length > this.slotSerial.length >> 2 && this.slotSerial.length < 4096) {
      this.slotSerial = new Float64Array(this.slotSerial.length * 4);
      this.slotId = new Int32Array(this.slotSerial.length);
    }
    const to = slot & (this.slotSerial.length - 1);
    this.slotSerial[to] = serial;
    this.slotId[to] = id;
    return id;
  }

  /**
   * Compact: start afresh with only the resolvers still held. `held` re-ids what its owner keeps
   * (names by old id in, new ids from this table), then every buffered row is re-id'd.
   */
  rebuild(rows: Iterable<TickRows>, held: (names: readonly string[]) => void): void {
    const names = this.names.slice();
    this.reset();
    held(names);
    for (const r of rows) for (let i = 0; i < r.n; i++) r.rid[i] = this.id(names[r.rid[i]!]!);
  }

  /** Forget every id (the caller re-ids what it still holds). */
  reset(): void {
    this.ids.clear();
    this.names.length = 0;
    this.batchSeq = -1;
    this.slotSerial.fill(0);
  }
}

/**
 * A Map<number, number> for small non-negative integer keys, as an array: what SpaceSaving needs
 * of its index (get, set, delete, clear) without hashing.
 */
export class IdIndex {
  private at = new Int32Array(256).fill(-1);

  get(key: number): number | undefined {
    const v = key < this.at.length ? this.at[key]! : -1;
    return v >= 0 ? v : undefined;
  }

  set(key: number, value: number): void {
    if (key >= this.at.length) {
      const next = new Int32Array(Math.max(key + 1, this.at.length * 2)).fill(-1);
      next.set(this.at);
      this.at = next;
    }
    this.at[key] = value;
  }

  delete(key: number): void {
    if (key < this.at.length) this.at[key] = -1;
  }

  clear(): void {
    this.at.fill(-1);
  }
}
