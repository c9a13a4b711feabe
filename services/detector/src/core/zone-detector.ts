import { type QueryColumns, type QueryEvent } from '@sluice/contracts';
import { AttackLifecycle, type AlertTops } from './attack-lifecycle';
import { NameScoring } from './name-scoring';
import { ResolverIds } from './resolver-ids';
import { ResolverTop } from './resolver-top';
import { type DetectorSettings } from './settings';
import { Tick } from './tick';
import { NO_ROWS, TickRows, TickRowsPool } from './tick-rows';
import { upgradeZoneSnapshot, type ZoneSnapshot, type ZoneSnapshotV3 } from './zone-checkpoint';
import { type ZoneOutput } from './zone-output';
import { ZoneWindows } from './zone-windows';

export type { ZoneOutput } from './zone-output';
export type { ZoneSnapshot } from './zone-checkpoint';

/**
 * One zone's event-time detector. It owns the tick buffer (raw events held until the watermark
 * passes their tick, then processed in arrival order — so every result depends only on the
 * event sequence, never on batch boundaries); the stages own the rest: `NameScoring` (the
 * per-query pass: seen filter, name model, vocabulary), `AttackLifecycle` (baseline, anomaly
 * tests, the alert from start to end — shared with the hot-zone MergeStage) and `ZoneWindows`
 * (stats and offender windows). Checkpoints: zone-checkpoint.ts.
 */
export class ZoneDetector {
  /** Resolver ids a zone may hold beyond its windows' before it compacts (tests lower it). */
  static resolverSlack = 4096;
  /** Compactions so far, process-wide (tests). */
  static resolverCompactions = 0;
  /** Highest event time seen for this zone. */
  maxTs = -Infinity;
  /** Start (ms) of the next tick to close; null until the first event. */
  nextTick: number | null = null;
  private readonly pending = new Map<number, TickRows>();
  /** Closed ticks' buffers, reused by the next ones. */
  private readonly rowsPool: TickRowsPool;
  /** rowsFor's last answer (NaN: none; cleared when a tick closes, its rows recycled). */
  private lastTick = NaN;
  private lastRows: TickRows | null = null;
  /** The zone's resolver ids (its windows count by id; pending rows carry them). */
  private readonly ids = new ResolverIds();
  private names: NameScoring;
  private windows: ZoneWindows;
  private lifecycle: AttackLifecycle<ResolverTop>;

  constructor(
    readonly zone: string,
    private readonly s: DetectorSettings,
  ) {
    this.rowsPool = new TickRowsPool(zone);
    this.names = new NameScoring(zone, s);
    this.windows = new ZoneWindows(zone, s, this.ids);
    this.lifecycle = new AttackLifecycle(zone, s, this.tops);
  }

  /**
   * An alert's top resolvers, by this zone's resolver ids: seeded with the open offender
   * window's never-seen senders.
   */
  private readonly tops: AlertTops<ResolverTop> = {
    start: () => {
      const top = ResolverTop.empty(this.s.topK, this.ids);
      for (const [id, attack] of this.windows.attackers()) top.addId(id, attack);
      return top;
    },
    restore: (items) => ResolverTop.fromJSON(this.s.topK, items, this.ids),
  };

  get sensitivity(): number {
    return this.lifecycle.sensitivity;
  }

  get allowlistedZone(): boolean {
    return this.names.allowlistedZone;
  }

  get isActive(): boolean {
    return this.lifecycle.active !== null;
  }

  get alertId(): string | null {
    return this.lifecycle.alertId;
  }

  /**
   * Accept an event into the tick holding `at`: its own time, or — for a late event — the
   * watermark's (the caller decides; that tick is still open).
   */
  buffer(e: QueryEvent, at = e.ts): void {
    if (e.ts > this.maxTs) this.maxTs = e.ts;
    const rows = this.rowsFor(at);
    rows.pushEvent(e);
    rows.rid[rows.n - 1] = this.ids.id(e.resolver);
  }

  /** Row i of decoded batch columns, into its own tick (the consumer's path: no QueryEvent). */
  bufferColumns(c: QueryColumns, i: number, batch: number): void {
    const ts = c.ts[i]!;
    if (ts > this.maxTs) this.maxTs = ts;
    // rowsFor's fast path, inline (a time passed to a call that is not inlined is boxed).
    const tick = Math.floor(ts / this.s.tickMs) * this.s.tickMs;
    const rows = tick === this.lastTick ? this.lastRows! : this.rowsFor(ts);
    rows.pushColumns(c, i);
    rows.rid[rows.n - 1] = this.ids.ofColumns(c, i, batch);
  }

  /** Row i of decoded batch columns, late: into the tick holding `at`. */
  bufferColumnsAt(c: QueryColumns, i: number, at: number, batch: number): void {
    const ts = c.ts[i]!;
    if (ts > this.maxTs) this.maxTs = ts;
    const rows = this.rowsFor(at);
    rows.pushColumns(c, i);
    rows.rid[rows.n - 1] = this.ids.ofColumns(c, i, batch);
  }

  private rowsFor(ts: number): TickRows {
    const tick = Math.floor(ts / this.s.tickMs) * this.s.tickMs;
    // Consecutive queries mostly share a tick: one Map lookup per tick change, not per query.
    if (tick === this.lastTick) return this.lastRows!;
    if (this.nextTick === null)
      this.nextTick = Math.floor((ts - this.s.allowedLatenessMs) / this.s.tickMs) * this.s.tickMs;
    let rows = this.pending.get(tick);
    if (!rows) this.pending.set(tick, (rows = this.rowsPool.take()));
    this.lastTick = tick;
    this.lastRows = rows;
    return rows;
  }

  /** Close every tick that ends at or before `watermark`, appending outputs. */
  closeUpTo(watermark: number, out: ZoneOutput): void {
    if (this.nextTick === null) return;
    const tickMs = this.s.tickMs;
    let next: number = this.nextTick;
    while (next + tickMs <= watermark) {
      // A long silence: after enough empty ticks to end alerts and flush windows, jump to just
      // before the next buffered event (or the watermark). Bounded by the next event, not by
      // "nothing buffered": a zone that returns after days with its first events already
      // buffered would otherwise close every empty tick in between, one at a time, blocking the
      // event loop for minutes (the consumer then loses its group session).
      const limit = Math.min(watermark, this.firstPending());
      if (
        this.lifecycle.active === null &&
        this.windows.idle &&
        limit - next > (this.s.longHorizonTicks + 2) * tickMs
      ) {
        const target = Math.floor(limit / tickMs) * tickMs - this.s.longHorizonTicks * tickMs;
        if (target > next) {
          this.lifecycle.forgetRecent();
          next = target;
        }
      }
      const rows = this.pending.get(next);
      if (rows) {
        this.pending.delete(next);
        this.lastTick = NaN;
      }
      this.closeTick(next, rows ?? NO_ROWS, out);
      if (rows) this.rowsPool.give(rows);
      next += tickMs;
      this.nextTick = next;
    }
  }

  /** Start of the earliest buffered tick (Infinity if none); pending holds a few ticks at most. */
  private firstPending(): number {
    let first = Infinity;
    for (const t of this.pending.keys()) if (t < first) first = t;
    return first;
  }

  private closeTick(start: number, rows: TickRows, out: ZoneOutput): void {
    if (this.ids.size > 2 * (ZoneDetector.resolverSlack + this.windows.tracked))
      this.compactResolvers(rows);
    const t = new Tick(start);
    const lifecycle = this.lifecycle;
    const names = this.names;
    names.scoreTick(t, rows, this.windows, lifecycle.active?.top ?? null);
    const step = lifecycle.closeTick(t, names.repeatShare(), names.vocabulary.version, out);
    names.learn(rows, step.started);
    if (step.started) {
      const a = lifecycle.active!;
      names.alertStarted(a.onset);
      this.windows.alertStarted(a.alertId);
    }
    if (step.ended) names.alertEnded();
    if (step.namesDue) this.publishNames(out);
    this.windows.closeTick(t, lifecycle.alertId, lifecycle.baselineQps, out);
  }

  /**
   * The id table outgrew what the windows hold (resolvers come and go): start it afresh with the
   * resolvers still held — the windows' and every buffered row's, `closing` included.
   */
  private compactResolvers(closing: TickRows): void {
    ZoneDetector.resolverCompactions++;
    this.ids.rebuild([closing, ...this.pending.values()], (names) => {
      this.windows.reidentify(names);
      this.lifecycle.active?.top.reidentify(names, (name) => this.ids.id(name));
    });
  }

  /** The zone's known names for the active alert (the zone guard's allow list). */
  private publishNames(out: ZoneOutput): void {
    const a = this.lifecycle.active!;
    const vocabulary = this.names.vocabulary;
    const known = vocabulary.known(a.onset, this.s.knownNamesMax, this.s.knownNamesMaxBytes);
    this.lifecycle.namesSent(vocabulary.version);
    out.knownNames.push({
      v: 1,
      zone: this.zone,
      alertId: a.alertId,
      asOf: a.onset,
      names: known.names,
      truncated: known.truncated,
    });
  }

  /** Approximate bytes of sketch state (filters, HLLs), for memory accounting. */
  get sketchBytes(): number {
    return this.names.bytes + this.lifecycle.sketchBytes;
  }

  toJSON(): ZoneSnapshotV3 {
    return {
      v: 3,
      zone: this.zone,
      maxTs: Number.isFinite(this.maxTs) ? this.maxTs : null,
      nextTick: this.nextTick,
      pending: [...this.pending].map(([tick, rows]) => [tick, rows.toJSON()]),
      ...this.lifecycle.toJSON(),
      names: this.names.toJSON(),
      windows: this.windows.toJSON(),
    };
  }

  static fromJSON(s: DetectorSettings, stored: ZoneSnapshot): ZoneDetector {
    const j = upgradeZoneSnapshot(stored);
    const z = new ZoneDetector(j.zone, s);
    z.maxTs = j.maxTs ?? -Infinity;
    z.nextTick = j.nextTick;
    for (const [tick, stored] of j.pending) {
      const rows = new TickRows(j.zone);
      for (const row of stored) {
        rows.pushJSON(row);
        rows.rid[rows.n - 1] = z.ids.id(row[1]);
      }
      z.pending.set(tick, rows);
    }
    z.lifecycle = AttackLifecycle.fromJSON(j.zone, s, j, z.tops);
    z.names = NameScoring.fromJSON(j.zone, s, j.names, z.lifecycle.active !== null);
    z.windows = ZoneWindows.fromJSON(j.zone, s, j.windows, z.ids);
    return z;
  }
}
