import {
  type Alert,
  type AlertSignal,
  type Evidence,
  type KnownNames,
  type Offender,
  type QueryEvent,
  type ZoneStats,
} from '@sluice/contracts';
import { FingerprintAcc, round, type FingerprintJson } from './fingerprint';
import { hash2, type Hash2 } from './hash';
import { HyperLogLog } from './hyperloglog';
import { NgramModel, scoreSubname } from './label-score';
import { SeenFilter, type SeenFilterJson } from './seen-filter';
import { type DetectorSettings } from './settings';
import { SpaceSaving, type HeavyHitter } from './space-saving';
import { ZoneVocabulary, type VocabularyJson } from './zone-vocabulary';

/** What one closed tick of a zone looked like. */
class Tick {
  n = 0;
  /** Never-seen-before, not allowlisted. */
  ns = 0;
  nsRandom = 0;
  random = 0;
  scoreSum = 0;
  rc = 0;
  nx = 0;
  allow = 0;
  nsEntropy = 0;
  nsScore = 0;
  /** Responses to scored (not allowlisted) queries, and those that answered nothing. */
  rcs = 0;
  fails = 0;
  nodata = 0;
  servfail = 0;
  refused = 0;
  /** Scored queries for names the zone had not established before this surge. */
  fresh = 0;
  hll: HyperLogLog | null = null;
  /** Distinct fresh names (only kept while there are any). */
  freshHll: HyperLogLog | null = null;
  readonly fp = new FingerprintAcc();
  readonly samples: string[] = [];
  readonly evidence: Evidence[] = [];
  constructor(readonly start: number) {}
}

/** Several ticks' counters added up, their unique-name sketches merged (alerts, zone stats). */
function sumTicks(ticks: readonly Tick[], hllPrecision: number) {
  const sum = {
    n: 0,
    ns: 0,
    random: 0,
    rc: 0,
    nx: 0,
    allow: 0,
    scoreSum: 0,
    nsEntropy: 0,
    nsScore: 0,
    rcs: 0,
    fails: 0,
    nodata: 0,
    servfail: 0,
    refused: 0,
    hll: new HyperLogLog(hllPrecision),
  };
  for (const t of ticks) {
    sum.n += t.n;
    sum.ns += t.ns;
    sum.random += t.random;
    sum.rc += t.rc;
    sum.nx += t.nx;
    sum.allow += t.allow;
    sum.scoreSum += t.scoreSum;
    sum.nsEntropy += t.nsEntropy;
    sum.nsScore += t.nsScore;
    sum.rcs += t.rcs;
    sum.fails += t.fails;
    sum.nodata += t.nodata;
    sum.servfail += t.servfail;
    sum.refused += t.refused;
    if (t.hll) sum.hll.merge(t.hll);
  }
  return sum;
}

export interface ZoneOutput {
  alerts: Alert[];
  zoneStats: ZoneStats[];
  offenders: Offender[];
  /** The zone's established names, once per alert start (the zone guard's allow list). */
  knownNames: KnownNames[];
}

interface OffenderCount {
  attack: number;
  total: number;
  evidence: Evidence[];
}

interface ActiveAlert {
  alertId: string;
  onset: number;
  lastUpdateAt: number;
  quietTicks: number;
  firstQuietTick: number;
  fp: FingerprintAcc;
  top: SpaceSaving;
  samples: string[];
  evidence: Evidence[];
  /** Vocabulary version last published for this alert (absent in older checkpoints). */
  namesVersion?: number;
  /** Evidence that raised the alert and any that held since (absent in older checkpoints). */
  signals: Signal[];
  /** Longest pause (quiet ticks) after which the flood came back. */
  longestGap?: number;
}

interface Evaluation {
  n: number;
  ns: number;
  expected: number;
  excess: number;
  z: number;
  hot: boolean;
  cold: boolean;
  candidate: boolean;
  /** Responses that answered nothing (NXDOMAIN, NODATA, SERVFAIL, REFUSED) above the baseline. */
  failHot: boolean;
  failCold: boolean;
  failZ: number;
  /** Volume above the baseline, carried by many names the zone had not established. */
  surgeHot: boolean;
}

type Signal = AlertSignal;

const scratch: Hash2 = { h1: 0, h2: 0 };
const FLOOR_RANDOM = 1;
const FLOOR_FAILURES = 2;
const REPEAT_SAMPLE_PER_TICK = 200;

/**
 * One zone's event-time state: pending ticks (raw events held until the watermark passes
 * them, then processed in arrival order — so every result depends only on the event sequence,
 * never on batch boundaries), the seen filter, the zone's n-gram model, baselines, the
 * attack lifecycle and the stats/offender windows.
 */
export class ZoneDetector {
  /** Highest event time seen for this zone. */
  maxTs = -Infinity;
  /** Start (ms) of the next tick to close; null until the first event. */
  nextTick: number | null = null;
  private readonly pending = new Map<number, QueryEvent[]>();
  private readonly seen: SeenFilter;
  /**
   * Names first seen during the active alert. Kept apart from `seen` so the flood never fills
   * the zone's filter (its false positives would let flood names pass as known) and dropped
   * when the alert ends; it only lets the vocabulary confirm names that repeat during the attack.
   */
  private alertSeen: SeenFilter | null = null;
  private readonly model = new NgramModel();
  private vocabulary: ZoneVocabulary;
  private readonly ring: Tick[] = [];
  private ticksClosed = 0;
  private meanN = 0;
  private meanNs = 0;
  private varResid = 0;
  private varN = 0;
  /** Baseline of responses per tick, and of those that answered nothing. */
  private meanRc = 0;
  private meanFail = 0;
  private varFail = 0;
  /** Baseline of distinct not-yet-established names per tick. */
  private meanFreshD = 0;
  private candidateSince: number | null = null;
  /** Consecutive ticks above the cold-zone floors (only counted while in warm-up). */
  private coldRun = 0;
  private active: ActiveAlert | null = null;
  private lastAlertEnd: number | null = null;
  // zone-stats window
  private statsStart: number | null = null;
  private statsTicks: Tick[] = [];
  private statsTop: SpaceSaving;
  private statsHadAlert: string | null = null;
  // offender window
  private offStart: number | null = null;
  private offenders = new Map<string, OffenderCount>();
  private offAlertId: string | null = null;
  /**
   * A sample of recently never-seen names (hash → tick, repeated?). Attack names never come
   * back; a new CDN deployment or a renamed host is asked again within seconds. A burst of
   * new names that repeat is therefore not an attack, however many there are.
   */
  private recentNew = new Map<number, { tick: number; repeated: boolean }>();
  private readonly subtrees: string[];
  readonly allowlistedZone: boolean;
  readonly sensitivity: number;
  lateEvents = 0;
  lastRepeatShare = 0;

  constructor(
    readonly zone: string,
    private readonly s: DetectorSettings,
  ) {
    this.seen = new SeenFilter({
      capacity: s.seenCapacity,
      falsePositiveRate: s.seenFalsePositiveRate,
    });
    this.statsTop = new SpaceSaving(s.topK);
    this.vocabulary = new ZoneVocabulary({
      capacity: s.knownNamesCapacity,
      agingTicks: s.knownNamesAgingTicks,
    });
    this.allowlistedZone = s.allowlist.some((a) => zone === a || zone.endsWith(`.${a}`));
    this.subtrees = s.allowlist.filter((a) => a.endsWith(`.${zone}`));
    this.sensitivity = s.sensitivity[zone] ?? 1;
  }

  get isActive(): boolean {
    return this.active !== null;
  }

  get alertId(): string | null {
    return this.active?.alertId ?? null;
  }

  /** Accept an event whose lateness the caller has checked against the watermark. */
  buffer(e: QueryEvent): void {
    if (e.ts > this.maxTs) this.maxTs = e.ts;
    const tick = Math.floor(e.ts / this.s.tickMs) * this.s.tickMs;
    if (this.nextTick === null)
      this.nextTick = Math.floor((e.ts - this.s.allowedLatenessMs) / this.s.tickMs) * this.s.tickMs;
    let list = this.pending.get(tick);
    if (!list) this.pending.set(tick, (list = []));
    list.push(e);
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
        this.statsTicks.length === 0 &&
        this.offenders.size === 0 &&
        limit - next > (this.s.longHorizonTicks + 2) * tickMs
      ) {
        const target = Math.floor(limit / tickMs) * tickMs - this.s.longHorizonTicks * tickMs;
        if (target > next) {
          this.ring.length = 0;
          this.candidateSince = null;
          next = target;
        }
      }
      const events = this.pending.get(next);
      if (events) this.pending.delete(next);
      this.closeTick(next, events ?? [], out);
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

  private isAllowlisted(qname: string): boolean {
    if (this.allowlistedZone) return true;
    for (const sub of this.subtrees) if (qname === sub || qname.endsWith(`.${sub}`)) return true;
    return false;
  }

  private closeTick(start: number, events: readonly QueryEvent[], out: ZoneOutput): void {
    const s = this.s;
    const t = new Tick(start);
    const zoneSuffix = this.zone.length + 1;
    let trained = 0;
    let sampledNew = 0;
    const alerting = this.active !== null;
    // A name is established once the vocabulary has known it for surgeEstablishTicks: long
    // enough that names a surge brings do not qualify while it is being judged.
    const establishedBefore = start - s.surgeEstablishTicks * s.tickMs;
    for (const e of events) {
      t.n++;
      const q = e.qname;
      const sub = q.length > this.zone.length ? q.slice(0, q.length - zoneSuffix) : '';
      hash2(sub, scratch);
      if (t.hll === null) t.hll = new HyperLogLog(s.hllPrecision);
      t.hll.add(scratch.h1);
      this.statsTop.add(e.resolver);
      const rcode = e.rcode;
      if (rcode !== null) {
        t.rc++;
        if (rcode === 3) t.nx++;
      }
      const allow = this.isAllowlisted(q);
      if (allow) {
        t.allow++;
        this.countOffender(e, false);
        continue;
      }
      if (rcode !== null) {
        t.rcs++;
        if (rcode === 3) t.fails++;
        else if (rcode === 0) {
          if (e.ancount === 0) {
            t.fails++;
            t.nodata++;
          }
        } else if (rcode === 2) {
          t.fails++;
          t.servfail++;
        } else if (rcode === 5) {
          t.fails++;
          t.refused++;
        }
      }
      if (!this.vocabulary.established(scratch.h1, establishedBefore)) {
        t.fresh++;
        if (t.freshHll === null) t.freshHll = new HyperLogLog(s.hllPrecision);
        t.freshHll.add(scratch.h1);
      }
      const f = scoreSubname(sub, this.model);
      const random = f.score >= s.randomThreshold;
      t.scoreSum += f.score;
      if (random) t.random++;
      const seen = this.seen.has(scratch.h1, scratch.h2);
      const seenDuringAlert =
        !seen && this.alertSeen !== null && this.alertSeen.has(scratch.h1, scratch.h2);
      // During an alert only names seen before count: the guard must never learn the flood.
      if (!alerting) this.vocabulary.observe(scratch.h1, q, rcode, start, true);
      else if (seen || seenDuringAlert)
        this.vocabulary.observeDuringAlert(scratch.h1, q, rcode, start);
      if (seen) {
        const r = this.recentNew.get(scratch.h1);
        if (r !== undefined) r.repeated = true;
        // Names the zone keeps being asked for are its vocabulary: learn from those only, and
        // never during an alert, when the filter's false positives are flood names.
        if (!alerting && trained < s.trainPerTick) {
          this.model.train(sub);
          trained++;
          if (this.model.total > 2_000_000) this.model.decay();
        }
      } else {
        t.ns++;
        t.nsEntropy += f.entropy;
        t.nsScore += f.score;
        if (random) t.nsRandom++;
        if (sampledNew < REPEAT_SAMPLE_PER_TICK && !this.recentNew.has(scratch.h1)) {
          this.recentNew.set(scratch.h1, { tick: start, repeated: false });
          sampledNew++;
        }
        // During an attack no new name enters the zone's filter: the flood would push the real
        // vocabulary out and raise its false positives. Non-random ones go to the alert's own
        // filter (random ones cannot be a name the zone has).
        if (!alerting) this.seen.add(scratch.h1, scratch.h2);
        else if (!random && !seenDuringAlert) this.alertSeen?.add(scratch.h1, scratch.h2);
        t.fp.add(
          sub,
          f.firstLabelLength,
          f.labels,
          e.qtype,
          e.rd,
          e.ednsSize !== null,
          f.bitsPerChar,
          random,
        );
        if (t.samples.length < s.sampleNames) t.samples.push(q);
        if (t.evidence.length < s.sampleNames)
          t.evidence.push({ ts: e.ts, resolver: e.resolver, qname: q });
        this.active?.top.add(e.resolver);
      }
      this.countOffender(e, !seen);
    }
    const keepFrom = start - (s.shortHorizonTicks + 2) * s.tickMs;
    for (const [h, r] of this.recentNew) if (r.tick < keepFrom) this.recentNew.delete(h);
    this.ring.push(t);
    if (this.ring.length > Math.max(s.longHorizonTicks, s.shortHorizonTicks)) this.ring.shift();
    this.ticksClosed++;
    this.vocabulary.tick();
    this.evaluate(t, out);
    this.windowStats(t, out);
    this.windowOffenders(t, out);
  }

  private countOffender(e: QueryEvent, attackLike: boolean): void {
    let c = this.offenders.get(e.resolver);
    if (!c) {
      if (this.offenders.size >= this.s.maxTrackedResolvers) return;
      this.offenders.set(e.resolver, (c = { attack: 0, total: 0, evidence: [] }));
    }
    c.total++;
    if (attackLike) {
      c.attack++;
      if (c.evidence.length < 3)
        c.evidence.push({ ts: e.ts, resolver: e.resolver, qname: e.qname });
    }
  }

  private get share(): number {
    return this.meanN > 0 ? Math.min(1, this.meanNs / this.meanN) : 1;
  }

  private assess(h: number): Evaluation {
    const s = this.s;
    const from = Math.max(0, this.ring.length - h);
    let n = 0;
    let ns = 0;
    let rcs = 0;
    let fails = 0;
    let fresh = 0;
    for (let i = from; i < this.ring.length; i++) {
      const t = this.ring[i]!;
      n += t.n - t.allow;
      ns += t.ns;
      rcs += t.rcs;
      fails += t.fails;
      fresh += t.fresh;
    }
    const span = this.ring.length - from;
    const expected = this.share * n;
    const excess = ns - expected;
    const sd = Math.sqrt(span * this.varResid + expected + (0.25 * expected) ** 2 + 1);
    const z = excess / sd;
    const k = this.sensitivity;
    const minExcess = (s.minExcessQps * span * s.tickMs) / 1000;

    // Responses: the share that answered nothing, against the zone's own share.
    const failShare = this.meanRc > 0 ? Math.min(1, this.meanFail / this.meanRc) : 0;
    const failExpected = failShare * rcs;
    const failExcess = fails - failExpected;
    const failZ =
      failExcess / Math.sqrt(span * this.varFail + failExpected + (0.25 * failExpected) ** 2 + 1);
    // …and above the zone's usual count of them: a flash crowd that taught the baseline a low
    // share must not make the zone's ordinary mix look like a flood once it passes.
    const failHot =
      rcs >= s.minResponseShare * n &&
      fails - this.meanFail * span >= minExcess / k &&
      fails >= s.minRatio * this.meanFail * span &&
      failZ >= s.zStart / k &&
      failExcess >= minExcess / k &&
      fails >= s.minRatio * failExpected;

    // Query-only, for floods whose names repeat: volume far above the baseline, most of it for
    // names the zone had not established, and many distinct ones (a new deployment brings a
    // few hundred names; a dictionary or a replayed list thousands). Distinct names are only
    // counted when the volume already qualifies: merging sketches is not free.
    const nExpected = this.meanN * span;
    const nExcess = n - nExpected;
    const nZ = nExcess / Math.sqrt(span * this.varN + nExpected + (0.25 * nExpected) ** 2 + 1);
    let surgeHot = false;
    if (
      this.ticksClosed > s.warmupTicks &&
      n >= s.surgeMinRatio * nExpected &&
      nZ >= s.zStart / k &&
      nExcess >= minExcess / k &&
      fresh >= s.surgeFreshShare * nExcess
    ) {
      const distinct = new HyperLogLog(s.hllPrecision);
      for (let i = from; i < this.ring.length; i++) {
        const f = this.ring[i]!.freshHll;
        if (f) distinct.merge(f);
      }
      const d = distinct.count();
      surgeHot = d >= s.surgeMinNames / k && d >= s.minRatio * span * this.meanFreshD;
    }
    return {
      n,
      ns,
      expected,
      excess,
      z,
      hot: z >= s.zStart / k && excess >= minExcess / k && ns >= s.minRatio * expected,
      cold: z < s.zEnd || excess < minExcess / 2,
      candidate: z >= s.zEnd && excess > 0,
      failHot,
      failCold: rcs < s.minResponseShare * n || failZ < s.zEnd || failExcess < minExcess / 2,
      failZ,
      surgeHot,
    };
  }

  /** Share of recently sampled never-seen names that were asked for again. */
  private repeatShare(): number {
    let total = 0;
    let repeated = 0;
    for (const r of this.recentNew.values()) {
      total++;
      if (r.repeated) repeated++;
    }
    return total > 0 ? repeated / total : 0;
  }

  private evaluate(t: Tick, out: ZoneOutput): void {
    const s = this.s;
    const short = this.assess(s.shortHorizonTicks);
    const long = this.assess(s.longHorizonTicks);
    const mid = this.assess(Math.max(s.shortHorizonTicks, Math.ceil(s.longHorizonTicks / 2)));
    const repeats = this.repeatShare();
    this.lastRepeatShare = repeats;
    const warm = this.ticksClosed > s.warmupTicks;
    const tickEnd = t.start + s.tickMs;
    // No baseline yet: only overwhelming evidence counts — absolute floors for several ticks
    // running, or a lower floor held over the long horizon (low-and-slow). Random names that
    // are asked again are churn here too; responses that answered nothing are not.
    const floor = this.floorHot(t);
    const floorCounts =
      (floor & FLOOR_FAILURES) !== 0 || (floor !== 0 && repeats <= s.maxRepeatShare);
    this.coldRun = !warm && floorCounts ? this.coldRun + 1 : 0;
    const coldHot =
      !warm && (this.coldRun >= s.coldTicks || this.slowFloorHot(repeats <= s.maxRepeatShare));

    if (short.candidate || long.candidate) this.candidateSince ??= t.start;
    else if (this.active === null) this.candidateSince = null;

    if (short.failHot || long.failHot || short.surgeHot || long.surgeHot)
      this.candidateSince ??= t.start;
    if (this.active === null) {
      const signals: Signal[] = [];
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
        this.learn(t, unusual ? alpha / 4 : alpha);
      }
      return;
    }

    const a = this.active;
    // Quiet once the recent past is cold; the long horizon only has to stop looking like an
    // attack onset, so a flood that stops ends about endQuietTicks later, not long+end ticks.
    // A flood above the absolute floor is never quiet, even if a baseline learned during
    // warm-up (partly from the flood itself) makes the relative test look calm.
    if (
      short.cold &&
      short.failCold &&
      !short.surgeHot &&
      !mid.hot &&
      !mid.failHot &&
      !mid.surgeHot &&
      this.floorHot(t, 0.5) === 0 &&
      // An alert raised without a baseline has none to measure against: the floors carry it.
      !(a.signals.includes('cold-zone') && this.slowFloorHot(true))
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
      this.lastAlertEnd = tickEnd;
      this.active = null;
      this.alertSeen = null;
      this.candidateSince = null;
      return;
    }
    for (const sig of this.signalsNow(short, long, mid))
      if (!a.signals.includes(sig)) a.signals.push(sig);
    if (tickEnd - a.lastUpdateAt >= s.updateEveryMs) {
      a.lastUpdateAt = tickEnd;
      // Names that became known during the attack: the guard answers them from now on.
      if (this.vocabulary.version !== (a.namesVersion ?? 0)) this.publishNames(out);
      out.alerts.push(this.alert('updated', tickEnd, short, long, null));
    }
  }

  /** Evidence that holds now, during an alert (for the alert's `signals`). */
  private signalsNow(short: Evaluation, long: Evaluation, mid: Evaluation): Signal[] {
    const out: Signal[] = [];
    if (short.hot || mid.hot || long.hot) out.push('never-seen');
    if (short.failHot || mid.failHot || long.failHot) out.push('failures');
    if (short.surgeHot || mid.surgeHot || long.surgeHot) out.push('surge');
    return out;
  }

  /**
   * This tick reaches the cold-zone floor (× factor, ÷ sensitivity): enough random never-seen
   * names, or enough responses that answered nothing, making up most of their kind.
   */
  private floorHot(t: Tick, factor = 1): number {
    const s = this.s;
    const min = (factor * s.coldMinRandomQps * s.tickMs) / 1000 / this.sensitivity;
    let hot = 0;
    if (t.nsRandom >= min && t.nsRandom >= s.coldMinRandomShare * t.ns) hot |= FLOOR_RANDOM;
    // NXDOMAIN only: a zone the server does not serve (REFUSED) or a v4-only zone asked for
    // AAAA (NODATA) can fail most queries without anyone attacking it.
    const nx = nxOf(t);
    if (nx >= min && nx >= s.coldMinFailShare * t.rcs) hot |= FLOOR_FAILURES;
    return hot;
  }

  /**
   * The low-and-slow floor for a zone without a baseline: over the long horizon (at least
   * coldSlowTicks of it), random never-seen names or responses that answered nothing average
   * coldSlowQps (÷ sensitivity) and make up most of their kind.
   */
  private slowFloorHot(randomCounts: boolean): boolean {
    const s = this.s;
    const from = Math.max(0, this.ring.length - s.longHorizonTicks);
    const span = this.ring.length - from;
    if (span < s.coldSlowTicks) return false;
    let nsRandom = 0;
    let ns = 0;
    let nx = 0;
    let rcs = 0;
    for (let i = from; i < this.ring.length; i++) {
      const t = this.ring[i]!;
      nsRandom += t.nsRandom;
      ns += t.ns;
      nx += nxOf(t);
      rcs += t.rcs;
    }
    const min = (s.coldSlowQps * span * s.tickMs) / 1000 / this.sensitivity;
    // Names that come back are churn here too (a deleted host still asked for), not a flood.
    return (
      randomCounts &&
      ((nsRandom >= min && nsRandom >= s.coldMinRandomShare * ns) ||
        (nx >= min && nx >= s.coldMinFailShare * rcs))
    );
  }

  private learn(t: Tick, alpha: number): void {
    const n = t.n - t.allow;
    const nResid = n - this.meanN;
    this.meanN += alpha * nResid;
    this.varN += alpha * (nResid * nResid - this.varN);
    this.meanNs += alpha * (t.ns - this.meanNs);
    const resid = t.ns - this.share * n;
    this.varResid += alpha * (resid * resid - this.varResid);
    this.meanRc += alpha * (t.rcs - this.meanRc);
    this.meanFail += alpha * (t.fails - this.meanFail);
    const failShare = this.meanRc > 0 ? Math.min(1, this.meanFail / this.meanRc) : 0;
    const failResid = t.fails - failShare * t.rcs;
    this.varFail += alpha * (failResid * failResid - this.varFail);
    const freshD = t.freshHll ? t.freshHll.count() : 0;
    this.meanFreshD += alpha * (freshD - this.meanFreshD);
  }

  private start(
    t: Tick,
    short: Evaluation,
    long: Evaluation,
    tickEnd: number,
    signals: Signal[],
    out: ZoneOutput,
  ): void {
    const onset = Math.max(
      this.candidateSince ?? t.start,
      t.start - (this.s.longHorizonTicks - 1) * this.s.tickMs,
    );
    const fp = new FingerprintAcc();
    const top = new SpaceSaving(this.s.topK);
    const samples: string[] = [];
    const evidence: Evidence[] = [];
    for (const r of this.ring) {
      if (r.start < onset) continue;
      fp.merge(r.fp);
      for (const x of r.samples) if (samples.length < this.s.sampleNames) samples.push(x);
      for (const x of r.evidence) {
        if (evidence.length < this.s.sampleNames) evidence.push(x);
      }
    }
    // Resolvers that carried the onset ticks' never-seen names.
    for (const [resolver, c] of this.offenders) if (c.attack > 0) top.add(resolver, c.attack);
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
    this.alertSeen = new SeenFilter({
      capacity: this.s.seenCapacity,
      falsePositiveRate: this.s.seenFalsePositiveRate,
    });
    this.offAlertId = this.active.alertId;
    this.statsHadAlert = this.active.alertId;
    this.vocabulary.forgetSince(onset);
    this.publishNames(out);
    out.alerts.push(this.alert('started', tickEnd, short, long, null));
  }

  /** The zone's known names for the active alert (the zone guard's allow list). */
  private publishNames(out: ZoneOutput): void {
    const a = this.active!;
    const known = this.vocabulary.known(a.onset, this.s.knownNamesMax, this.s.knownNamesMaxBytes);
    a.namesVersion = this.vocabulary.version;
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
    const a = this.active!;
    const s = this.s;
    const ticks = this.ring.slice(-s.shortHorizonTicks);
    // Fold this evaluation's ticks into the alert's fingerprint and samples.
    if (phase !== 'started') {
      const last = ticks[ticks.length - 1];
      if (last) {
        a.fp.merge(last.fp);
        for (const x of last.samples) if (a.samples.length < s.sampleNames) a.samples.push(x);
      }
    }
    const {
      n,
      ns,
      random,
      rc,
      nx,
      nsEntropy,
      nsScore,
      hll,
      rcs,
      fails,
      nodata,
      servfail,
      refused,
    } = sumTicks(ticks, s.hllPrecision);
    const secs = (ticks.length * s.tickMs) / 1000 || 1;
    const best = short.z >= long.z ? short : long;
    const bestSecs =
      best === short
        ? secs
        : (Math.min(this.ring.length, s.longHorizonTicks) * s.tickMs) / 1000 || 1;
    const baselineQps = (this.meanN * 1000) / s.tickMs;
    const excessQps = best.excess / bestSecs;
    // Severity from the strongest evidence: never-seen names, failed answers or raw volume
    // above the baseline (a zone without one, or a flood whose names repeat, has no
    // never-seen excess to speak of).
    const failShare = this.meanRc > 0 ? Math.min(1, this.meanFail / this.meanRc) : 0;
    const floodQps = Math.max(excessQps, (fails - failShare * rcs) / secs, n / secs - baselineQps);
    return {
      v: 1,
      alertId: a.alertId,
      zone: this.zone,
      phase,
      severity: severity(floodQps, baselineQps),
      onset: a.onset,
      at,
      endedAt,
      qps: round(n / secs, 2),
      baselineQps: round(baselineQps, 2),
      uniqueRate: round(hll.count() / secs, 2),
      neverSeenRate: round(n > 0 ? ns / n : 0),
      randomShare: round(n > 0 ? random / n : 0),
      nxdomainShare: rc > 0 ? round(nx / rc) : null,
      meanEntropy: round(ns > 0 ? nsEntropy / ns : 0),
      sampleNames: [...a.samples],
      evidence: [...a.evidence],
      topResolvers: a.top.top(10).map((h: HeavyHitter) => ({ resolver: h.key, count: h.count })),
      fingerprint: a.fp.toFingerprint(),
      neverSeenQps: round(best.ns / bestSecs, 2),
      excessQps: round(excessQps, 2),
      zScore: round(best.z, 2),
      sensitivity: this.sensitivity,
      meanRandomScore: round(ns > 0 ? Math.min(1, nsScore / ns) : 0),
      signals: [...a.signals],
      failureShare: rcs > 0 ? round(fails / rcs) : null,
      baselineFailureShare:
        this.meanRc > 0 ? round(Math.min(1, this.meanFail / this.meanRc)) : null,
      nodataShare: rcs > 0 ? round(nodata / rcs) : null,
      servfailShare: rcs > 0 ? round(servfail / rcs) : null,
      refusedShare: rcs > 0 ? round(refused / rcs) : null,
    };
  }

  private windowStats(t: Tick, out: ZoneOutput): void {
    const s = this.s;
    this.statsStart ??= t.start;
    this.statsTicks.push(t);
    if (this.active) this.statsHadAlert = this.active.alertId;
    const tickIndex = Math.floor(t.start / s.tickMs);
    if ((tickIndex + 1) % s.statsEveryTicks !== 0) return;
    const { n, ns, random, rc, nx, allow, scoreSum, hll, rcs, fails } = sumTicks(
      this.statsTicks,
      s.hllPrecision,
    );
    const windowEnd = t.start + s.tickMs;
    if (n > 0 || this.statsHadAlert !== null) {
      const secs = (windowEnd - this.statsStart) / 1000;
      const scored = n - allow;
      out.zoneStats.push({
        v: 1,
        zone: this.zone,
        windowStart: this.statsStart,
        windowEnd,
        queries: n,
        qps: round(n / secs, 2),
        baselineQps:
          this.ticksClosed > s.warmupTicks ? round((this.meanN * 1000) / s.tickMs, 2) : null,
        uniqueSubnames: hll.count(),
        neverSeenRate: round(scored > 0 ? ns / scored : 0),
        randomShare: round(scored > 0 ? random / scored : 0),
        nxdomainShare: rc > 0 ? round(nx / rc) : null,
        failureShare: rcs > 0 ? round(fails / rcs) : null,
        topResolvers: this.statsTop.top(10).map((h) => ({ resolver: h.key, count: h.count })),
        allowlistedQueries: allow,
        meanRandomScore: round(scored > 0 ? Math.min(1, scoreSum / scored) : 0),
        alertId: this.statsHadAlert,
      });
    }
    this.statsStart = null;
    this.statsTicks = [];
    this.statsTop.clear();
    this.statsHadAlert = this.active?.alertId ?? null;
  }

  private windowOffenders(t: Tick, out: ZoneOutput): void {
    const s = this.s;
    this.offStart ??= t.start;
    if (this.active) this.offAlertId = this.active.alertId;
    const tickIndex = Math.floor(t.start / s.tickMs);
    if ((tickIndex + 1) % s.offenderWindowTicks !== 0) return;
    const windowEnd = t.start + s.tickMs;
    // Offender records only for windows that belong to an attack: outside one, never-seen
    // names are ordinary churn and naming resolvers for them would only feed noise downstream.
    if (this.offAlertId !== null) {
      // Every resolver that sent attack-like queries, not a top-N: a cap dropped the long tail
      // (thousands of resolvers at a few queries each) and biased shares toward big resolvers.
      // Memory and output stay bounded by maxTrackedResolvers per zone and window.
      const ranked = [...this.offenders]
        .filter(([, c]) => c.attack > 0)
        .sort((a, b) => b[1].attack - a[1].attack || (a[0] < b[0] ? -1 : 1));
      for (const [resolver, c] of ranked) {
        out.offenders.push({
          v: 1,
          zone: this.zone,
          resolver,
          windowStart: this.offStart,
          windowEnd,
          attackQueries: c.attack,
          totalQueries: c.total,
          alertId: this.offAlertId,
          evidence: c.evidence,
        });
      }
    }
    this.offStart = null;
    this.offenders = new Map();
    this.offAlertId = this.active?.alertId ?? null;
  }

  /** Approximate bytes of sketch state (filters, HLLs), for memory accounting. */
  get sketchBytes(): number {
    let b = this.seen.bytes + this.model.counts.byteLength + this.vocabulary.bytes;
    for (const t of this.ring) b += t.hll?.bytes ?? 0;
    return b;
  }

  toJSON(): ZoneSnapshot {
    return {
      zone: this.zone,
      maxTs: Number.isFinite(this.maxTs) ? this.maxTs : null,
      nextTick: this.nextTick,
      pending: [...this.pending],
      seen: this.seen.toJSON(),
      model: this.model.toJSON(),
      ring: this.ring.map(tickToJson),
      ticksClosed: this.ticksClosed,
      meanN: this.meanN,
      meanNs: this.meanNs,
      varResid: this.varResid,
      varN: this.varN,
      meanRc: this.meanRc,
      meanFail: this.meanFail,
      varFail: this.varFail,
      meanFreshD: this.meanFreshD,
      alertSeen: this.alertSeen ? this.alertSeen.toJSON() : null,
      candidateSince: this.candidateSince,
      coldRun: this.coldRun,
      active: this.active
        ? { ...this.active, fp: this.active.fp.toJSON(), top: this.active.top.toJSON() }
        : null,
      lastAlertEnd: this.lastAlertEnd,
      statsStart: this.statsStart,
      statsTicks: this.statsTicks.map(tickToJson),
      statsTop: this.statsTop.toJSON(),
      statsHadAlert: this.statsHadAlert,
      offStart: this.offStart,
      offenders: [...this.offenders],
      offAlertId: this.offAlertId,
      lateEvents: this.lateEvents,
      recentNew: [...this.recentNew],
      vocabulary: this.vocabulary.toJSON(),
      vocabularyVersion: this.vocabulary.version,
    };
  }

  static fromJSON(s: DetectorSettings, j: ZoneSnapshot): ZoneDetector {
    const z = new ZoneDetector(j.zone, s);
    z.maxTs = j.maxTs ?? -Infinity;
    z.nextTick = j.nextTick;
    for (const [k, v] of j.pending) z.pending.set(k, v);
    (z as unknown as { seen: SeenFilter }).seen = SeenFilter.fromJSON(
      { capacity: s.seenCapacity, falsePositiveRate: s.seenFalsePositiveRate },
      j.seen,
    );
    const model = NgramModel.fromJSON(j.model);
    z.model.counts.set(model.counts);
    z.model.rows.set(model.rows);
    z.model.total = model.total;
    z.ring.push(...j.ring.map(tickFromJson));
    z.ticksClosed = j.ticksClosed;
    z.meanN = j.meanN;
    z.meanNs = j.meanNs;
    z.varResid = j.varResid;
    z.varN = j.varN ?? 0;
    z.meanRc = j.meanRc ?? 0;
    z.meanFail = j.meanFail ?? 0;
    z.varFail = j.varFail ?? 0;
    z.meanFreshD = j.meanFreshD ?? 0;
    z.candidateSince = j.candidateSince;
    z.coldRun = j.coldRun ?? 0;
    z.active = j.active
      ? {
          ...j.active,
          fp: FingerprintAcc.fromJSON(j.active.fp),
          top: SpaceSaving.fromJSON(s.topK, j.active.top),
          signals: j.active.signals ?? ['never-seen'],
        }
      : null;
    if (z.active)
      z.alertSeen = SeenFilter.fromJSON(
        { capacity: s.seenCapacity, falsePositiveRate: s.seenFalsePositiveRate },
        j.alertSeen ?? new SeenFilter({ capacity: s.seenCapacity }).toJSON(),
      );
    z.lastAlertEnd = j.lastAlertEnd;
    z.statsStart = j.statsStart;
    z.statsTicks = j.statsTicks.map(tickFromJson);
    z.statsTop = SpaceSaving.fromJSON(s.topK, j.statsTop);
    z.statsHadAlert = j.statsHadAlert;
    z.offStart = j.offStart;
    z.offenders = new Map(j.offenders);
    z.offAlertId = j.offAlertId;
    z.lateEvents = j.lateEvents;
    z.recentNew = new Map(j.recentNew.map(([h, r]) => [h, { ...r }]));
    z.vocabulary = ZoneVocabulary.fromJSON(
      { capacity: s.knownNamesCapacity, agingTicks: s.knownNamesAgingTicks },
      j.vocabulary,
    );
    z.vocabulary.version = j.vocabularyVersion ?? 0;
    return z;
  }
}

/** NXDOMAIN answers to scored queries in a tick. */
function nxOf(t: Tick): number {
  return t.fails - t.nodata - t.servfail - t.refused;
}

function severity(excessQps: number, baselineQps: number): Alert['severity'] {
  const r = excessQps / Math.max(baselineQps, 1);
  if (r >= 10) return 'critical';
  if (r >= 3) return 'high';
  if (r >= 0.5) return 'medium';
  return 'low';
}

interface TickJson {
  start: number;
  counts: number[];
  hll: ReturnType<HyperLogLog['toJSON']> | null;
  /** Absent in checkpoints written before the surge test. */
  freshHll?: ReturnType<HyperLogLog['toJSON']> | null;
  fp: FingerprintJson;
  samples: string[];
  evidence: Evidence[];
}

function tickToJson(t: Tick): TickJson {
  return {
    start: t.start,
    counts: [
      t.n,
      t.ns,
      t.nsRandom,
      t.random,
      t.scoreSum,
      t.rc,
      t.nx,
      t.allow,
      t.nsEntropy,
      t.nsScore,
      t.rcs,
      t.fails,
      t.nodata,
      t.servfail,
      t.refused,
      t.fresh,
    ],
    freshHll: t.freshHll ? t.freshHll.toJSON() : null,
    hll: t.hll ? t.hll.toJSON() : null,
    fp: t.fp.toJSON(),
    samples: t.samples,
    evidence: t.evidence,
  };
}

function tickFromJson(j: TickJson): Tick {
  const t = new Tick(j.start);
  const c = j.counts;
  const at = (i: number) => c[i] ?? 0;
  t.n = at(0);
  t.ns = at(1);
  t.nsRandom = at(2);
  t.random = at(3);
  t.scoreSum = at(4);
  t.rc = at(5);
  t.nx = at(6);
  t.allow = at(7);
  t.nsEntropy = at(8);
  t.nsScore = at(9);
  t.rcs = at(10);
  t.fails = at(11);
  t.nodata = at(12);
  t.servfail = at(13);
  t.refused = at(14);
  t.fresh = at(15);
  t.freshHll = j.freshHll ? HyperLogLog.fromJSON(j.freshHll) : null;
  t.hll = j.hll ? HyperLogLog.fromJSON(j.hll) : null;
  t.fp.merge(FingerprintAcc.fromJSON(j.fp));
  t.samples.push(...j.samples);
  t.evidence.push(...j.evidence);
  return t;
}

export interface ZoneSnapshot {
  zone: string;
  maxTs: number | null;
  nextTick: number | null;
  pending: [number, QueryEvent[]][];
  seen: SeenFilterJson;
  model: { counts: number[]; total: number };
  ring: TickJson[];
  ticksClosed: number;
  meanN: number;
  meanNs: number;
  varResid: number;
  /** Absent in checkpoints written before response and surge evidence: relearned. */
  varN?: number;
  meanRc?: number;
  meanFail?: number;
  varFail?: number;
  meanFreshD?: number;
  alertSeen?: SeenFilterJson | null;
  candidateSince: number | null;
  /** Absent in checkpoints written before the cold-zone floors. */
  coldRun?: number;
  active:
    | (Omit<ActiveAlert, 'fp' | 'top' | 'signals'> & {
        fp: FingerprintJson;
        top: HeavyHitter[];
        signals?: Signal[];
      })
    | null;
  lastAlertEnd: number | null;
  statsStart: number | null;
  statsTicks: TickJson[];
  statsTop: HeavyHitter[];
  statsHadAlert: string | null;
  offStart: number | null;
  offenders: [string, OffenderCount][];
  offAlertId: string | null;
  lateEvents: number;
  recentNew: [number, { tick: number; repeated: boolean }][];
  /** Absent in checkpoints written before the zone guard: the zone relearns its names. */
  vocabulary?: VocabularyJson;
  vocabularyVersion?: number;
}
