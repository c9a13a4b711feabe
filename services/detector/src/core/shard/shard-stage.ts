import { type QueryColumns, type QueryEvent } from '@sluice/contracts';
import { HyperLogLog } from '../hyperloglog';
import { labelFeatures, NgramModel, scoreSubnameBytes } from '../label-score';
import { SeenFilter } from '../seen-filter';
import { type DetectorSettings } from '../settings';
import { ResolverCounts } from '../resolver-counts';
import { ResolverIds } from '../resolver-ids';
import { type HeavyHitter } from '../space-saving';
import { Tick, tickToJson } from '../tick';
import { ROW_EDNS, ROW_RD, TickRows, TickRowsPool, type PendingRow } from '../tick-rows';
import { countAnswer, ZoneAllowlist } from '../zone-allowlist';
import { ZoneDetector } from '../zone-detector';
import { byHitsThenName, firstKnown, ZoneVocabulary } from '../zone-vocabulary';
import { BottomK, byString } from './bottom-k';
import { blockFilter, NameBlock, type BlockJson } from './name-block';
import { ShardOffenders, type ShardOffendersJson } from './shard-offenders';
import { BLOCKS, blockOf, shardOfBlock } from './shard-routing';
import {
  type MergeDecision,
  type SampleRow,
  type ShardSummary,
  type TrainRow,
} from './shard-summary';

const f = labelFeatures();
/** New names sampled per block and tick for the repeat share (today's 200 per zone, over 64 blocks). */
const REPEAT_SAMPLE_PER_BLOCK = Math.ceil(200 / BLOCKS);
/** Never-seen senders sent per shard and tick: an alert lists 10. */
export const NS_TOP = 16;

/** The offender window's fields (offStart … offDone) sit after `statsTop`, as they always have. */
export interface ShardSnapshot extends ShardOffendersJson {
  v: 1;
  zone: string;
  shard: number;
  shards: number;
  maxTs: number | null;
  nextTick: number;
  decidedThrough: number | null;
  closedAny: boolean;
  pending: [number, PendingRow[]][];
  blocks: [number, BlockJson][];
  model: { counts: number[]; total: number };
  alert: { alertId: string; onset: number } | null;
  trainBelow: number;
  statsTop: HeavyHitter[];
  namesDue: ShardSummary['knownNames'];
}

const bySample = (a: SampleRow, b: SampleRow): number =>
  a[0] - b[0] || a[1] - b[1] || byString(a[2], b[2]) || byString(a[3], b[3]);
const byTrain = (a: TrainRow, b: TrainRow): number => a[0] - b[0] || byString(a[1], b[1]);

/**
 * The shard stage of a hot zone: the per-query pass over the names of its blocks. It owns
 * every name's state (seen filters, vocabulary, repeat sample) and a copy of the zone's name
 * model, and turns each closed tick into a `ShardSummary`. It closes tick t only once the
 * merge stage's decision on tick t−1 has been applied (`applyDecision`): whether an alert is
 * open decides how tick t learns, exactly as in the single-instance detector, and the model
 * trains between ticks on the names the merge stage chose from every shard's offer.
 */
export class ShardStage {
  maxTs = -Infinity;
  /** Start of the next tick to close. */
  nextTick: number;
  /** Start of the last tick whose decision was applied (null: none closed yet). */
  private decidedThrough: number | null = null;
  private readonly pending = new Map<number, TickRows>();
  /** Closed ticks' buffers, reused by the next ones. */
  private readonly rowsPool: TickRowsPool;
  private readonly blocks: (NameBlock | undefined)[] = [];
  private model = new NgramModel();
  private alert: { alertId: string; onset: number } | null = null;
  private trainBelow = 2 ** 32;
  /**
   * The zone's resolvers as small integers (as ZoneDetector's): rows carry an id, so the
   * per-query counts below are array writes, not string-keyed lookups.
   */
  private readonly ids = new ResolverIds();
  /** The decoded batch whose dictionary `ids` last mapped (each decode makes a new one). */
  private dictionary: readonly string[] | null = null;
  private batchSeq = 0;
  /** The stats window's queries per resolver, exact. */
  private readonly stats: ResolverCounts;
  /** This tick's never-seen queries per resolver (the alert's top resolvers). */
  private readonly neverSeen: ResolverCounts;
  private offenders: ShardOffenders;
  private namesDue: ShardSummary['knownNames'] = null;
  private readonly allowlist: ZoneAllowlist;

  constructor(
    readonly zone: string,
    readonly shard: number,
    readonly shards: number,
    private readonly s: DetectorSettings,
    /** The zone's first tick (the merge stage's, the same for every shard). */
    origin: number,
  ) {
    if (!(shards >= 1 && shards <= BLOCKS && shard >= 0 && shard < shards))
      throw new RangeError(`shard ${shard} of ${shards}: shards must be 1..${BLOCKS}`);
    this.nextTick = origin;
    this.rowsPool = new TickRowsPool(zone);
    for (let b = 0; b < BLOCKS; b++)
      this.blocks.push(shardOfBlock(b, shards) === shard ? new NameBlock(s) : undefined);
    this.stats = new ResolverCounts(s.maxTrackedResolvers);
    this.neverSeen = new ResolverCounts(s.maxTrackedResolvers);
    this.offenders = new ShardOffenders(s);
    this.allowlist = new ZoneAllowlist(s.allowlist, zone);
  }

  /**
   * Accept an event of this shard into the tick holding `at`: its own time, or — for a late
   * event — the shard's watermark (the caller decides, as DetectorCore does; that tick is open).
   */
  buffer(e: QueryEvent, at = e.ts): void {
    if (e.ts > this.maxTs) this.maxTs = e.ts;
    const rows = this.rowsFor(at);
    rows.pushEvent(e);
    rows.rid[rows.n - 1] = this.ids.id(e.resolver);
  }

  bufferColumns(c: QueryColumns, i: number, at = c.ts[i]!): void {
    const ts = c.ts[i]!;
    if (ts > this.maxTs) this.maxTs = ts;
    const rows = this.rowsFor(at);
    rows.pushColumns(c, i);
    if (c.resolvers !== this.dictionary) {
      this.dictionary = c.resolvers;
      this.batchSeq = (this.batchSeq + 1) | 0;
    }
    rows.rid[rows.n - 1] = this.ids.ofColumns(c, i, this.batchSeq);
  }

  private rowsFor(ts: number): TickRows {
    const tick = Math.floor(ts / this.s.tickMs) * this.s.tickMs;
    let rows = this.pending.get(tick);
    if (!rows) this.pending.set(tick, (rows = this.rowsPool.take()));
    return rows;
  }

  /**
   * Start at the zone's first tick, as the merge stage fixed it (the first shard it heard of).
   * Only before any tick closed; queries buffered for earlier ticks are dropped (returned).
   */
  rebase(origin: number): number {
    if (this.closedAny)
      throw new Error(`${this.zone} shard ${this.shard}: rebased after closing a tick`);
    this.nextTick = origin;
    let dropped = 0;
    for (const [tick, rows] of this.pending)
      if (tick < origin) {
        dropped += rows.n;
        this.pending.delete(tick);
      }
    return dropped;
  }

  /** The decision on the previous tick has been applied: the next tick may close. */
  get ready(): boolean {
    return (
      this.decidedThrough === this.nextTick - this.s.tickMs ||
      (this.decidedThrough === null && !this.closedAny)
    );
  }

  private closedAny = false;

  /** Start of the last tick closed, whose decision is awaited or applied (null: none). */
  get lastClosed(): number | null {
    return this.closedAny ? this.nextTick - this.s.tickMs : null;
  }

  /** Close `nextTick`: score its queries and summarise them. Call only when `ready`. */
  closeTick(): ShardSummary {
    if (!this.ready)
      throw new Error(
        `${this.zone} shard ${this.shard}: tick ${this.nextTick} closed before the decision on the one before`,
      );
    const s = this.s;
    const start = this.nextTick;
    const rows = this.pending.get(start);
    if (rows) this.pending.delete(start);
    if (this.ids.size > 2 * (ZoneDetector.resolverSlack + this.stats.size))
      this.compactResolvers(rows);
    const summary = this.score(start, rows);
    if (rows) this.rowsPool.give(rows);
    this.closedAny = true;
    this.nextTick = start + s.tickMs;
    return summary;
  }

  /**
   * The id table outgrew the stats window (resolvers come and go): start it afresh with the
   * resolvers still held — the window's and every buffered row's, `closing` included.
   */
  private compactResolvers(closing: TickRows | undefined): void {
    ShardStage.resolverCompactions++;
    const rows = closing ? [closing, ...this.pending.values()] : this.pending.values();
    this.ids.rebuild(rows, (names) => {
      this.stats.reidentify(names, (name) => this.ids.id(name));
      this.offenders.idsReset();
    });
  }

  /** Compactions of any stage's id table (tests). */
  static resolverCompactions = 0;

  /** The merge stage's verdict on the last closed tick. */
  applyDecision(d: MergeDecision): void {
    const last = this.nextTick - this.s.tickMs;
    if (d.tick !== last || !this.closedAny)
      throw new Error(
        `${this.zone} shard ${this.shard}: decision for ${d.tick}, last closed ${last}`,
      );
    for (const name of d.train) {
      const b = Buffer.from(name, 'latin1');
      this.model.trainBytes(b, 0, b.length);
      if (this.model.total > 2_000_000) this.model.decay();
    }
    if (d.started && d.alert) {
      for (const b of this.blocks) {
        if (!b) continue;
        b.alertSeen = new SeenFilter(blockFilter(this.s));
        b.vocabulary.forgetSince(d.alert.onset);
      }
    }
    if (d.ended) for (const b of this.blocks) if (b) b.alertSeen = null;
    this.alert = d.alert;
    this.trainBelow = d.trainBelow;
    if (d.wantNames) this.namesDue = this.knownNames(d.wantNames.asOf);
    this.offenders.decided(d.alert);
    this.decidedThrough = d.tick;
  }

  private knownNames(asOf: number): NonNullable<ShardSummary['knownNames']> {
    const picked: [string, number][] = [];
    for (const b of this.blocks) if (b) picked.push(...b.vocabulary.candidates(asOf));
    picked.sort(byHitsThenName);
    return {
      names: firstKnown(picked, this.s.knownNamesMax, this.s.knownNamesMaxBytes),
      picked: picked.length,
    };
  }

  /**
   * The per-query pass (NameScoring.scoreTick, per block): the same counts, with the state each
   * query reads and writes in its name's block, and the zone-wide choices (model training,
   * samples) made by hash so that they do not depend on how the blocks are split.
   */
  private score(start: number, rows: TickRows | undefined): ShardSummary {
    const s = this.s;
    const t = new Tick(start);
    const floats = new Float64Array(BLOCKS * 4);
    const samples = new BottomK<SampleRow>(s.sampleNames, bySample);
    const alerting = this.alert !== null;
    const train = new BottomK<TrainRow>(alerting ? 0 : s.trainPerTick, byTrain);
    const establishedBefore = start - s.surgeEstablishTicks * s.tickMs;
    const model = this.model;
    const n = rows?.n ?? 0;
    const b = rows?.arena;
    for (let i = 0; i < n; i++) {
      const r = rows!;
      t.n++;
      const from = r.subStart[i]!;
      const to = r.subEnd[i]!;
      const resolver = r.resolver[i]!;
      const rid = r.rid[i]!;
      const h1 = r.h1[i]!;
      const h2 = r.h2[i]!;
      const blockIndex = blockOf(h2);
      const block = this.blocks[blockIndex];
      if (block === undefined)
        throw new Error(
          `${this.zone} shard ${this.shard}: a name of block ${blockIndex} (shard ${shardOfBlock(blockIndex, this.shards)})`,
        );
      if (t.hll === null) t.hll = new HyperLogLog(s.hllPrecision);
      t.hll.add(h1);
      this.stats.add(rid);
      const rcode = r.rcode[i]!;
      if (rcode >= 0) {
        t.rc++;
        if (rcode === 3) t.nx++;
      }
      if (this.allowlist.has(r, i)) {
        t.allow++;
        this.offenders.count(r, i, resolver, false);
        continue;
      }
      countAnswer(t, rcode, r.ancount[i]!);
      const vocabulary = block.vocabulary;
      const known = vocabulary.lookup(h1);
      const fresh = !ZoneVocabulary.established(known, establishedBefore);
      if (fresh) {
        t.fresh++;
        if (t.freshHll === null) t.freshHll = new HyperLogLog(s.hllPrecision);
        t.freshHll.add(h1);
      }
      scoreSubnameBytes(b!, from, to, model, f);
      const random = f.score >= s.randomThreshold;
      const fl = blockIndex * 4;
      floats[fl]! += f.score;
      if (random) t.random++;
      const seen = block.seen.has(h1, h2);
      const seenDuringAlert = !seen && block.alertSeen !== null && block.alertSeen.has(h1, h2);
      let entry = known;
      if (!alerting) {
        if (known !== undefined) vocabulary.count(known, rcode);
        else if (!vocabulary.full) entry = vocabulary.admit(h1, r.qname(i), rcode, start);
      } else if (seen || seenDuringAlert) {
        if (known !== undefined) vocabulary.countDuringAlert(known, rcode);
        else if (!vocabulary.full)
          entry = vocabulary.admitDuringAlert(h1, r.qname(i), rcode, start);
      }
      // A name lives in one block, so its coincidences are counted whole by one shard.
      if (fresh && entry !== undefined) {
        t.freshTracked++;
        t.freshColl += ZoneVocabulary.askedInTick(entry, start);
      }
      if (seen) {
        const rn = block.recentNew.get(h1);
        if (rn !== undefined) rn.repeated = true;
        if (h1 < this.trainBelow && train.admits(h1))
          train.offer([h1, b!.toString('latin1', from, to)]);
      } else {
        t.ns++;
        floats[fl + 1]! += f.entropy;
        floats[fl + 2]! += f.score;
        floats[fl + 3]! += f.bitsPerChar;
        if (random) t.nsRandom++;
        if (block.sampledThisTick < REPEAT_SAMPLE_PER_BLOCK && !block.recentNew.has(h1)) {
          block.recentNew.set(h1, { tick: start, repeated: false });
          block.sampledThisTick++;
        }
        if (!alerting) block.seen.add(h1, h2);
        else if (!random && !seenDuringAlert) block.alertSeen?.add(h1, h2);
        const flags = r.flags[i]!;
        t.fp.addBytes(
          b!,
          from,
          to,
          f.firstLabelLength,
          f.labels,
          r.qtype[i]!,
          (flags & ROW_RD) !== 0,
          (flags & ROW_EDNS) !== 0,
          f.bitsPerChar,
          random,
        );
        if (samples.admits(h1)) samples.offer([h1, r.ts[i]!, resolver, r.qname(i)]);
        this.neverSeen.add(rid);
      }
      this.offenders.count(r, i, resolver, !seen);
    }
    const keepFrom = start - (s.shortHorizonTicks + 2) * s.tickMs;
    let sampled = 0;
    let repeated = 0;
    let vocabularyVersion = 0;
    for (const block of this.blocks) {
      if (!block) continue;
      // forEach: no [key, value] array per entry, every tick (as NameScoring.scoreTick).
      const recentNew = block.recentNew;
      recentNew.forEach((rn, h) => {
        if (rn.tick < keepFrom) recentNew.delete(h);
        else {
          sampled++;
          if (rn.repeated) repeated++;
        }
      });
      block.sampledThisTick = 0;
      block.vocabulary.tick(!alerting);
      vocabularyVersion += block.vocabulary.version;
    }
    const tickIndex = Math.floor(start / s.tickMs);
    let statsTop: HeavyHitter[] | null = null;
    if ((tickIndex + 1) % s.statsEveryTicks === 0) {
      statsTop = this.stats.top(s.topK, this.ids.names);
      this.stats.clear();
    }
    const nsTop = this.neverSeen.top(NS_TOP, this.ids.names);
    this.neverSeen.clear();
    this.offenders.closeTick(start);
    const blockFloats: ShardSummary['floats'] = [];
    for (let k = 0; k < BLOCKS; k++) {
      const at = k * 4;
      if (floats[at] !== 0 || floats[at + 1] !== 0 || floats[at + 2] !== 0 || floats[at + 3] !== 0)
        blockFloats.push([k, floats[at]!, floats[at + 1]!, floats[at + 2]!, floats[at + 3]!]);
    }
    const counts = tickToJson(t).counts;
    const summary: ShardSummary = {
      v: 1,
      zone: this.zone,
      shard: this.shard,
      shards: this.shards,
      tick: start,
      counts,
      floats: blockFloats,
      hll: t.hll ? t.hll.toJSON() : null,
      freshHll: t.freshHll ? t.freshHll.toJSON() : null,
      fp: t.fp.toJSON(),
      samples: samples.take(),
      nsTop,
      repeat: [sampled, repeated],
      vocabularyVersion,
      train: train.take(),
      statsTop,
      offenders: this.offenders.take(),
      knownNames: this.namesDue,
    };
    this.namesDue = null;
    return summary;
  }

  /** Sketch bytes held (filters, vocabulary), for benchmarks. */
  get bytes(): number {
    let n = this.model.bytes;
    for (const b of this.blocks)
      if (b) n += b.seen.bytes + (b.alertSeen?.bytes ?? 0) + b.vocabulary.bytes;
    return n;
  }

  toJSON(): ShardSnapshot {
    return {
      v: 1,
      zone: this.zone,
      shard: this.shard,
      shards: this.shards,
      maxTs: Number.isFinite(this.maxTs) ? this.maxTs : null,
      nextTick: this.nextTick,
      decidedThrough: this.decidedThrough,
      closedAny: this.closedAny,
      pending: [...this.pending].map(([tick, rows]) => [tick, rows.toJSON()]),
      blocks: this.blocks.flatMap((b, i): [number, BlockJson][] => (b ? [[i, b.toJSON()]] : [])),
      model: this.model.toJSON(),
      alert: this.alert,
      trainBelow: this.trainBelow,
      statsTop: this.stats.list(this.ids.names),
      ...this.offenders.toJSON(),
      namesDue: this.namesDue,
    };
  }

  static fromJSON(s: DetectorSettings, j: ShardSnapshot): ShardStage {
    const z = new ShardStage(j.zone, j.shard, j.shards, s, j.nextTick);
    z.maxTs = j.maxTs ?? -Infinity;
    z.closedAny = j.closedAny;
    z.decidedThrough = j.decidedThrough;
    for (const [tick, stored] of j.pending) {
      const rows = new TickRows(j.zone);
      for (const row of stored) {
        rows.pushJSON(row);
        rows.rid[rows.n - 1] = z.ids.id(row[1]);
      }
      z.pending.set(tick, rows);
    }
    for (const [i, b] of j.blocks) z.blocks[i] = NameBlock.fromJSON(s, b);
    z.model = NgramModel.fromJSON(j.model);
    z.alert = j.alert;
    z.trainBelow = j.trainBelow;
    // Exact counts (a space-saving summary's, in checkpoints written before: upper bounds).
    for (const h of j.statsTop) z.stats.add(z.ids.id(h.key), h.count);
    z.offenders = ShardOffenders.fromJSON(s, j);
    z.namesDue = j.namesDue;
    return z;
  }
}
