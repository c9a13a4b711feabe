import { type Alert, type AlertSignal, type Evidence } from '@sluice/contracts';
import { alertMessage, type ActiveAlert, type ActiveAlertJson } from './alert-message';
import { FingerprintAcc } from './fingerprint';
import { type DetectorSettings } from './settings';
import { type HeavyHitter, type TopResolvers } from './space-saving';
import { type Tick, tickFromJson, tickToJson, type TickJson } from './tick';
import { zoneAllowlisted } from './zone-allowlist';
import { ZoneBaseline, type BaselineJson } from './zone-baseline';
import { assess, floorHot, FLOOR_RANDOM, slowFloorHot, type Evaluation } from './zone-evidence';
import { type ZoneOutput } from './zone-output';

/** The lifecycle's fields of a checkpoint (ZoneSnapshotV3 and MergeSnapshot hold them as is). */
export interface LifecycleJson {
  ring: TickJson[];
  ticksClosed: number;
  candidateSince: number | null;
  coldRun: number;
  active: ActiveAlertJson | null;
  baseline: BaselineJson;
}

/**
 * What a closed tick did to the alert. The stage that owns the zone's names acts on it: the
 * single detector scores and publishes names itself, the merge stage asks its shards.
 */
export interface LifecycleStep {
  readonly started: boolean;
  readonly ended: boolean;
  /** The alert's known names are due: at its start, and on an update once the vocabulary moved. */
  readonly namesDue: boolean;
}

/** How the lifecycle's owner keeps an alert's top resolvers (by name, or by its resolver ids). */
export interface AlertTops<T extends TopResolvers> {
  /** A starting alert's top: the open offender window's never-seen senders already in. */
  start(): T;
  /** The active alert's top from a checkpoint (by name, oldest first). */
  restore(items: readonly HeavyHitter[]): T;
}

const NOTHING: LifecycleStep = { started: false, ended: false, namesDue: false };
const STARTED: LifecycleStep = { started: true, ended: false, namesDue: true };
const ENDED: LifecycleStep = { started: false, ended: true, namesDue: false };
const NAMES_DUE: LifecycleStep = { started: false, ended: false, namesDue: true };

/**
 * One zone's attack lifecycle over closed ticks, shared by ZoneDetector (ticks it scored) and the
 * hot-zone MergeStage (ticks summed from its shards): the ring the anomaly tests look back over,
 * the baseline and when it learns, candidate tracking, cold-zone runs, and the active alert —
 * its start, quiet/end with pulse hysteresis, updates and messages. It never sees a query name:
 * what it needs from the names arrives with each tick (repeat share, vocabulary version) and
 * what the names must do comes back as a `LifecycleStep`.
 */
export class AttackLifecycle<T extends TopResolvers = TopResolvers> {
  private readonly ring: Tick[] = [];
  private ticksClosed = 0;
  private candidateSince: number | null = null;
  /** Consecutive ticks above the cold-zone floors (only counted while in warm-up). */
  private coldRun = 0;
  private alert: ActiveAlert<T> | null = null;
  private baseline = new ZoneBaseline();
  readonly sensitivity: number;
  private readonly allowlistedZone: boolean;

  constructor(
    readonly zone: string,
    private readonly s: DetectorSettings,
    private readonly tops: AlertTops<T>,
  ) {
    this.sensitivity = s.sensitivity[zone] ?? 1;
    this.allowlistedZone = zoneAllowlisted(s.allowlist, zone);
  }

  get active(): ActiveAlert<T> | null {
    return this.alert;
  }

  get alertId(): string | null {
    return this.alert?.alertId ?? null;
  }

  /** The baseline's rate for the stats windows; null during warm-up. */
  get baselineQps(): number | null {
    return this.ticksClosed > this.s.warmupTicks
      ? (this.baseline.meanN * 1000) / this.s.tickMs
      : null;
  }

  /** Approximate bytes of the ring's sketches (HLLs). */
  get sketchBytes(): number {
    let b = 0;
    for (const t of this.ring) b += t.hll?.bytes ?? 0;
    return b;
  }

  /** A long silence skipped: the ticks before it say nothing about what comes next. */
  forgetRecent(): void {
    this.ring.length = 0;
    this.candidateSince = null;
  }

  /** The alert's known names went out (or were asked for) as of vocabulary `version`. */
  namesSent(version: number): void {
    this.alert!.namesVersion = version;
  }

  /**
   * Tick `t` closed. `repeats` is the share of recent new names asked again; `namesVersion` the
   * zone vocabulary's version (it moves when a name becomes known).
   */
  closeTick(t: Tick, repeats: number, namesVersion: number, out: ZoneOutput): LifecycleStep {
    const s = this.s;
    this.ring.push(t);
    if (this.ring.length > Math.max(s.longHorizonTicks, s.shortHorizonTicks)) this.ring.shift();
    this.ticksClosed++;
    return this.evaluate(t, repeats, namesVersion, out);
  }

  private assess(h: number, warm: boolean): Evaluation {
    return assess(this.ring, h, this.baseline, this.s, this.sensitivity, warm);
  }

  private evaluate(t: Tick, repeats: number, namesVersion: number, out: ZoneOutput): LifecycleStep {
    const s = this.s;
    const k = this.sensitivity;
    const warm = this.ticksClosed > s.warmupTicks;
    const short = this.assess(s.shortHorizonTicks, warm);
    const long = this.assess(s.longHorizonTicks, warm);
    const mid = this.assess(Math.max(s.shortHorizonTicks, Math.ceil(s.longHorizonTicks / 2)), warm);
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
    else if (this.alert === null) this.candidateSince = null;
    if (short.failHot || long.failHot || short.surgeHot || long.surgeHot)
      this.candidateSince ??= t.start;

    if (this.alert === null) {
      const signals: AlertSignal[] = [];
      // New names that are asked again are churn (a deployment), not a flood — unless the
      // responses say they do not exist, or the surge test (which expects repeats) holds.
      // New names the zone answers, not random-looking, are hosts going live (a deployment
      // ramping up before its names are asked again): cached per TTL, not a flood.
      if (
        warm &&
        (short.hot || long.hot) &&
        repeats <= s.maxRepeatShare &&
        !(short.answeredPlain && long.answeredPlain)
      )
        signals.push('never-seen');
      if (warm && (short.failHot || long.failHot)) signals.push('failures');
      if (short.surgeHot || long.surgeHot) signals.push('surge');
      if (coldHot) signals.push('cold-zone');
      if (!this.allowlistedZone && signals.length > 0) {
        if (coldHot) this.candidateSince ??= t.start - (s.coldTicks - 1) * s.tickMs;
        this.start(t, short, long, tickEnd, signals, out);
        return STARTED;
      }
      // Learn the baseline only from ordinary ticks; candidates move it slowly so a
      // genuine level shift is eventually accepted rather than frozen out.
      const alpha = warm ? s.baselineAlpha : s.warmupAlpha;
      const unusual = short.candidate || long.candidate || this.candidateSince !== null;
      // Until the zone has been seen for surgeEstablishTicks no name can be established: every
      // name is fresh, which says nothing about how many fresh names the zone usually has. The
      // mean then learns at the warm-up rate for warmupTicks, as the zone's names establish.
      const rate = unusual ? alpha / 4 : alpha;
      const sinceEstablishing = this.ticksClosed - s.surgeEstablishTicks;
      const freshRate =
        sinceEstablishing <= 0
          ? 0
          : sinceEstablishing <= s.warmupTicks
            ? unusual
              ? s.warmupAlpha / 4
              : s.warmupAlpha
            : rate;
      this.baseline.learn(t, rate, freshRate);
      return NOTHING;
    }

    const a = this.alert;
    // Quiet once the recent past is cold on every signal; the long horizon only has to stop
    // looking like an attack onset, so a flood that stops ends about endQuietTicks later.
    // A flood above the absolute floor is never quiet, even if a baseline learned during
    // warm-up (partly from the flood itself) makes the relative test look calm.
    if (
      short.cold &&
      short.failCold &&
      !short.surgeHeld &&
      !mid.hot &&
      !mid.failHot &&
      !mid.surgeHeld &&
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
      out.alerts.push(this.message('ended', tickEnd, short, long, a.firstQuietTick));
      this.alert = null;
      this.candidateSince = null;
      return ENDED;
    }
    for (const sig of signalsNow(short, long, mid))
      if (!a.signals.includes(sig)) a.signals.push(sig);
    if (tickEnd - a.lastUpdateAt < s.updateEveryMs) return NOTHING;
    a.lastUpdateAt = tickEnd;
    out.alerts.push(this.message('updated', tickEnd, short, long, null));
    // Names that became known during the attack: the guard answers them from now on.
    return namesVersion !== (a.namesVersion ?? 0) ? NAMES_DUE : NOTHING;
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
    const samples: string[] = [];
    const evidence: Evidence[] = [];
    for (const r of this.ring) {
      if (r.start < onset) continue;
      fp.merge(r.fp);
      for (const x of r.samples) if (samples.length < s.sampleNames) samples.push(x);
      for (const x of r.evidence) if (evidence.length < s.sampleNames) evidence.push(x);
    }
    // Seeded with the resolvers that carried the onset ticks' never-seen names.
    const top = this.tops.start();
    this.alert = {
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
    out.alerts.push(this.message('started', tickEnd, short, long, null));
  }

  private message(
    phase: Alert['phase'],
    at: number,
    short: Evaluation,
    long: Evaluation,
    endedAt: number | null,
  ): Alert {
    return alertMessage(this.alert!, phase, at, endedAt, {
      zone: this.zone,
      settings: this.s,
      sensitivity: this.sensitivity,
      ring: this.ring,
      baseline: this.baseline,
      short,
      long,
    });
  }

  toJSON(): LifecycleJson {
    const a = this.alert;
    return {
      ring: this.ring.map(tickToJson),
      ticksClosed: this.ticksClosed,
      candidateSince: this.candidateSince,
      coldRun: this.coldRun,
      active: a ? { ...a, fp: a.fp.toJSON(), top: a.top.toJSON() } : null,
      baseline: this.baseline.toJSON(),
    };
  }

  static fromJSON<T extends TopResolvers>(
    zone: string,
    s: DetectorSettings,
    j: LifecycleJson,
    tops: AlertTops<T>,
  ): AttackLifecycle<T> {
    const l = new AttackLifecycle(zone, s, tops);
    l.ring.push(...j.ring.map(tickFromJson));
    l.ticksClosed = j.ticksClosed;
    l.candidateSince = j.candidateSince;
    l.coldRun = j.coldRun;
    l.alert = j.active
      ? {
          ...j.active,
          fp: FingerprintAcc.fromJSON(j.active.fp),
          top: tops.restore(j.active.top),
          signals: j.active.signals ?? ['never-seen'],
        }
      : null;
    l.baseline = ZoneBaseline.fromJSON(j.baseline);
    return l;
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
