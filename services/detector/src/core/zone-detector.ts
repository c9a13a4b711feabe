import {
  type Alert,
  type AlertSignal,
  type Evidence,
  type QueryColumns,
  type QueryEvent,
} from '@sluice/contracts';
import { alertMessage, type ActiveAlert } from './alert-message';
import { FingerprintAcc } from './fingerprint';
import { NameScoring } from './name-scoring';
import { type DetectorSettings } from './settings';
import { SpaceSaving } from './space-saving';
import { Tick, tickFromJson, tickToJson } from './tick';
import { ZoneBaseline } from './zone-baseline';
import { NO_ROWS, TickRows } from './tick-rows';
import { upgradeZoneSnapshot, type ZoneSnapshot, type ZoneSnapshotV3 } from './zone-checkpoint';
import { assess, floorHot, FLOOR_RANDOM, slowFloorHot, type Evaluation } from './zone-evidence';
import { type ZoneOutput } from './zone-output';
import { ZoneWindows } from './zone-windows';

export type { ZoneOutput } from './zone-output';
export type { ZoneSnapshot } from './zone-checkpoint';

/**
 * One zone's event-time detector. It owns the tick buffer (raw events held until the watermark
 * passes their tick, then processed in arrival order — so every result depends only on the
 * event sequence, never on batch boundaries) and the attack lifecycle; the stages own the rest:
 * `NameScoring` (the per-query pass: seen filter, name model, vocabulary), `ZoneBaseline`,
 * `assess`/floors in zone-evidence.ts (the anomaly tests), `ZoneWindows` (stats and offender
 * windows) and `alertMessage` (what an alert says). Checkpoints: zone-checkpoint.ts.
 */
export class ZoneDetector {
  /** Highest event time seen for this zone. */
  maxTs = -Infinity;
  /** Start (ms) of the next tick to close; null until the first event. */
  nextTick: number | null = null;
  private readonly pending = new Map<number, TickRows>();
  /** Closed ticks' rows, kept for reuse: a busy zone allocates its buffers once. */
  private spare: TickRows[] = [];
  private names: NameScoring;
  private baseline = new ZoneBaseline();
  private windows: ZoneWindows;
  private readonly ring: Tick[] = [];
  private ticksClosed = 0;
  private candidateSince: number | null = null;
  /** Consecutive ticks above the cold-zone floors (only counted while in warm-up). */
  private coldRun = 0;
  private active: ActiveAlert | null = null;
  readonly sensitivity: number;

  constructor(
    readonly zone: string,
    private readonly s: DetectorSettings,
  ) {
    this.names = new NameScoring(zone, s);
    this.windows = new ZoneWindows(zone, s);
    this.sensitivity = s.sensitivity[zone] ?? 1;
  }

  get allowlistedZone(): boolean {
    return this.names.allowlistedZone;
  }

  get isActive(): boolean {
    return this.active !== null;
  }

  get alertId(): string | null {
    return this.active?.alertId ?? null;
  }

  /**
   * Accept an event into the tick holding `at`: its own time, or — for a late event — the
   * watermark's (the caller decides; that tick is still open).
   */
  buffer(e: QueryEvent, at = e.ts): void {
    if (e.ts > this.maxTs) this.maxTs = e.ts;
    this.rowsFor(at).pushEvent(e);
  }

  /** Row i of decoded batch columns, likewise (the consumer's path: no QueryEvent). */
  bufferColumns(c: QueryColumns, i: number, at = c.ts[i]!): void {
    const ts = c.ts[i]!;
    if (ts > this.maxTs) this.maxTs = ts;
    this.rowsFor(at).pushColumns(c, i);
  }

  private rowsFor(ts: number): TickRows {
    const tick = Math.floor(ts / this.s.tickMs) * this.s.tickMs;
    if (this.nextTick === null)
      this.nextTick = Math.floor((ts - this.s.allowedLatenessMs) / this.s.tickMs) * this.s.tickMs;
    let rows = this.pending.get(tick);
    if (!rows) this.pending.set(tick, (rows = this.spare.pop() ?? new TickRows(this.zone)));
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
        this.active === null &&
        this.windows.idle &&
        limit - next > (this.s.longHorizonTicks + 2) * tickMs
      ) {
        const target = Math.floor(limit / tickMs) * tickMs - this.s.longHorizonTicks * tickMs;
        if (target > next) {
          this.ring.length = 0;
          this.candidateSince = null;
          next = target;
        }
      }
      const rows = this.pending.get(next);
      if (rows) this.pending.delete(next);
      this.closeTick(next, rows ?? NO_ROWS, out);
      if (rows && this.spare.length < 2) {
        rows.clear();
        this.spare.push(rows);
      }
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
    const s = this.s;
    const t = new Tick(start);
    this.names.scoreTick(t, rows, this.windows, this.active?.top ?? null);
    this.ring.push(t);
    if (this.ring.length > Math.max(s.longHorizonTicks, s.shortHorizonTicks)) this.ring.shift();
    this.ticksClosed++;
    this.evaluate(t, out);
    const warm = this.ticksClosed > s.warmupTicks;
    const baselineQps = warm ? (this.baseline.meanN * 1000) / s.tickMs : null;
    this.windows.closeTick(t, this.active?.alertId ?? null, baselineQps, out);
  }

  private assess(h: number, warm: boolean): Evaluation {
    return assess(this.ring, h, this.baseline, this.s, this.sensitivity, warm);
  }

  private evaluate(t: Tick, out: ZoneOutput): void {
    const s = this.s;
    const k = this.sensitivity;
    const warm = this.ticksClosed > s.warmupTicks;
    const short = this.assess(s.shortHorizonTicks, warm);
    const long = this.assess(s.longHorizonTicks, warm);
    const mid = this.assess(Math.max(s.shortHorizonTicks, Math.ceil(s.longHorizonTicks / 2)), warm);
    const repeats = this.names.repeatShare();
    const tickEnd = t.start + s.tickMs;
    // No baseline yet: only overwhelming evidence counts — absolute floors for several ticks
    // running, or a lower floor held over the long horizon (low-and-slow). Random names that
    // are asked again are churn here too; NXDOMAIN answers are not.
    const floor = floorHot(t, s, k, 1, !warm);
    const floorCounts =
      (floor & ~FLOOR_RANDOM) !== 0 || (floor !== 0 && repeats <= s.maxRepeatShare);
    this.coldRun = !warm && floorCounts ? this.coldRun + 1 : 0;
    const coldHot =
      !warm &&
      (this.coldRun >= s.coldTicks || slowFloorHot(this.ring, s, k, repeats <= s.maxRepeatShare));

    if (short.candidate || long.candidate) this.candidateSince ??= t.start;
    else if (this.active === null) this.candidateSince = null;
    if (short.failHot || long.failHot || short.surgeHot || long.surgeHot)
      this.candidateSince ??= t.start;

    if (this.active === null) {
      const signals: AlertSignal[] = [];
      // New names that are asked again are churn (a deployment), not a flood — unless the
      // responses say they do not exist, or the surge test (which expects repeats) holds.
      if (warm && (short.hot || long.hot) && repeats <= s.maxRepeatShare)
        signals.push('never-seen');
      if (warm && (short.failHot || long.failHot)) signals.push('failures');
      if (short.surgeHot || long.surgeHot) signals.push('surge');
      if (coldHot) signals.push('cold-zone');
      if (!this.allowlistedZone && signals.length > 0) {
        if (coldHot) this.candidateSince ??= t.start - (s.coldTicks - 1) * s.tickMs;
        this.start(t, short, long, tickEnd, signals, out);
      } else {
        // Learn the baseline only from ordinary ticks; candidates move it slowly so a
        // genuine level shift is eventually accepted rather than frozen out.
        const alpha = warm ? s.baselineAlpha : s.warmupAlpha;
        const unusual = short.candidate || long.candidate || this.candidateSince !== null;
        this.baseline.learn(t, unusual ? alpha / 4 : alpha);
      }
      return;
    }

    const a = this.active;
    // Quiet once the recent past is cold on every signal; the long horizon only has to stop
    // looking like an attack onset, so a flood that stops ends about endQuietTicks later.
    // A flood above the absolute floor is never quiet, even if a baseline learned during
    // warm-up (partly from the flood itself) makes the relative test look calm.
    if (
      short.cold &&
      short.failCold &&
      !short.surgeHot &&
      !mid.hot &&
      !mid.failHot &&
      !mid.surgeHot &&
      floorHot(t, s, k, 0.5, a.signals.includes('cold-zone')) === 0 &&
      // An alert raised without a baseline has none to measure against: the floors carry it.
      !(a.signals.includes('cold-zone') && slowFloorHot(this.ring, s, k, true))
    ) {
      if (a.quietTicks === 0) a.firstQuietTick = t.start;
      a.quietTicks++;
    } else {
      // A flood that pauses and comes back (pulses): the next pause must last twice the
      // longest one seen before the attack counts as over.
      if (a.quietTicks >= s.shortHorizonTicks)
        a.longestGap = Math.max(a.longestGap ?? 0, a.quietTicks);
      a.quietTicks = 0;
    }
    const quietNeeded = Math.min(
      s.maxEndQuietTicks,
      Math.max(s.endQuietTicks, 2 * (a.longestGap ?? 0)),
    );
    if (a.quietTicks >= quietNeeded) {
      out.alerts.push(this.alert('ended', tickEnd, short, long, a.firstQuietTick));
      this.active = null;
      this.names.alertEnded();
      this.candidateSince = null;
      return;
    }
    for (const sig of signalsNow(short, long, mid))
      if (!a.signals.includes(sig)) a.signals.push(sig);
    if (tickEnd - a.lastUpdateAt >= s.updateEveryMs) {
      a.lastUpdateAt = tickEnd;
      // Names that became known during the attack: the guard answers them from now on.
      if (this.names.vocabulary.version !== (a.namesVersion ?? 0)) this.publishNames(out);
      out.alerts.push(this.alert('updated', tickEnd, short, long, null));
    }
  }

  private start(
    t: Tick,
    short: Evaluation,
    long: Evaluation,
    tickEnd: number,
    signals: AlertSignal[],
    out: ZoneOutput,
  ): void {
    const s = this.s;
    const onset = Math.max(
      this.candidateSince ?? t.start,
      t.start - (s.longHorizonTicks - 1) * s.tickMs,
    );
    const fp = new FingerprintAcc();
    const top = new SpaceSaving(s.topK);
    const samples: string[] = [];
    const evidence: Evidence[] = [];
    for (const r of this.ring) {
      if (r.start < onset) continue;
      fp.merge(r.fp);
      for (const x of r.samples) if (samples.length < s.sampleNames) samples.push(x);
      for (const x of r.evidence) if (evidence.length < s.sampleNames) evidence.push(x);
    }
    // Resolvers that carried the onset ticks' never-seen names.
    for (const [resolver, attack] of this.windows.attackers()) top.add(resolver, attack);
    this.active = {
      alertId: `${this.zone}@${onset}`,
      onset,
      lastUpdateAt: tickEnd,
      quietTicks: 0,
      firstQuietTick: tickEnd,
      fp,
      top,
      samples,
      evidence,
      signals,
    };
    this.names.alertStarted(onset);
    this.windows.alertStarted(this.active.alertId);
    this.publishNames(out);
    out.alerts.push(this.alert('started', tickEnd, short, long, null));
  }

  /** The zone's known names for the active alert (the zone guard's allow list). */
  private publishNames(out: ZoneOutput): void {
    const a = this.active!;
    const vocabulary = this.names.vocabulary;
    const known = vocabulary.known(a.onset, this.s.knownNamesMax, this.s.knownNamesMaxBytes);
    a.namesVersion = vocabulary.version;
    out.knownNames.push({
      v: 1,
      zone: this.zone,
      alertId: a.alertId,
      asOf: a.onset,
      names: known.names,
      truncated: known.truncated,
    });
  }

  private alert(
    phase: Alert['phase'],
    at: number,
    short: Evaluation,
    long: Evaluation,
    endedAt: number | null,
  ): Alert {
    return alertMessage(this.active!, phase, at, endedAt, {
      zone: this.zone,
      settings: this.s,
      sensitivity: this.sensitivity,
      ring: this.ring,
      baseline: this.baseline,
      short,
      long,
    });
  }

  /** Approximate bytes of sketch state (filters, HLLs), for memory accounting. */
  get sketchBytes(): number {
    let b = this.names.bytes;
    for (const t of this.ring) b += t.hll?.bytes ?? 0;
    return b;
  }

  toJSON(): ZoneSnapshotV3 {
    return {
      v: 3,
      zone: this.zone,
      maxTs: Number.isFinite(this.maxTs) ? this.maxTs : null,
      nextTick: this.nextTick,
      pending: [...this.pending].map(([tick, rows]) => [tick, rows.toJSON()]),
      ring: this.ring.map(tickToJson),
      ticksClosed: this.ticksClosed,
      candidateSince: this.candidateSince,
      coldRun: this.coldRun,
      active: this.active
        ? { ...this.active, fp: this.active.fp.toJSON(), top: this.active.top.toJSON() }
        : null,
      baseline: this.baseline.toJSON(),
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
      for (const row of stored) rows.pushJSON(row);
      z.pending.set(tick, rows);
    }
    z.ring.push(...j.ring.map(tickFromJson));
    z.ticksClosed = j.ticksClosed;
    z.candidateSince = j.candidateSince;
    z.coldRun = j.coldRun;
    z.active = j.active
      ? {
          ...j.active,
          fp: FingerprintAcc.fromJSON(j.active.fp),
          top: SpaceSaving.fromJSON(s.topK, j.active.top),
          signals: j.active.signals ?? ['never-seen'],
        }
      : null;
    z.baseline = ZoneBaseline.fromJSON(j.baseline);
    z.names = NameScoring.fromJSON(j.zone, s, j.names, z.active !== null);
    z.windows = ZoneWindows.fromJSON(j.zone, s, j.windows);
    return z;
  }
}

/** Evidence that holds now, during an alert (for the alert's `signals`). */
function signalsNow(short: Evaluation, long: Evaluation, mid: Evaluation): AlertSignal[] {
  const out: AlertSignal[] = [];
  if (short.hot || mid.hot || long.hot) out.push('never-seen');
  if (short.failHot || mid.failHot || long.failHot) out.push('failures');
  if (short.surgeHot || mid.surgeHot || long.surgeHot) out.push('surge');
  return out;
}
