import { type Evidence } from '@sluice/contracts';
import { AttackLifecycle, type AlertTops, type LifecycleJson } from '../attack-lifecycle';
import { FingerprintAcc, round } from '../fingerprint';
import { HyperLogLog } from '../hyperloglog';
import { NgramModel } from '../label-score';
import { type DetectorSettings } from '../settings';
import { SpaceSaving, type HeavyHitter } from '../space-saving';
import { sumTicks, type Tick, tickFromJson, tickToJson, type TickJson } from '../tick';
import { type ZoneOutput } from '../zone-output';
import { byHitsThenName, firstKnown } from '../zone-vocabulary';
import { byString, smallest } from './bottom-k';
import { BLOCKS } from './shard-routing';
import { byEvidence } from './shard-offenders';
import {
  type MergeDecision,
  type SampleRow,
  type ShardSummary,
  type TrainRow,
} from './shard-summary';

const FLOAT_SLOTS = [4, 8, 9] as const;
/** Tick's counters (a summary from before the flatness counts has 16: the rest read 0). */
const TICK_COUNTS = 18;
const bySample = (a: SampleRow, b: SampleRow): number =>
  a[0] - b[0] || a[1] - b[1] || byString(a[2], b[2]) || byString(a[3], b[3]);
const byTrain = (a: TrainRow, b: TrainRow): number => a[0] - b[0] || byString(a[1], b[1]);

/** The lifecycle's fields (ring … baseline) sit after `waiting`, as they always have. */
export interface MergeSnapshot extends LifecycleJson {
  v: 1;
  zone: string;
  shards: number;
  nextTick: number;
  waiting: ShardSummary[];
  model: { counts: number[]; total: number };
  trainBelow: number;
  statsStart: number | null;
  statsTicks: TickJson[];
  statsHadAlert: string | null;
  offStart: number | null;
  offAlertId: string | null;
  offClosed: { alertId: string | null } | null;
  windowNsTop: HeavyHitter[];
  namesFor: { alertId: string; asOf: number } | null;
}

export interface MergeResult {
  decision: MergeDecision;
  out: ZoneOutput;
}

/**
 * The merge stage of a hot zone: sums the K shards' summaries of a tick into the Tick the
 * single-instance detector would have filled, then runs what ZoneDetector runs on it — the
 * same `AttackLifecycle` (baseline, anomaly tests, the alert), the stats and offender windows —
 * and answers with a `MergeDecision` that every shard applies before closing the next tick.
 * What differs is who holds the names: the shards, so known names are asked for, not listed.
 */
export class MergeStage {
  nextTick: number;
  private waiting = new Map<number, ShardSummary>();
  private lifecycle: AttackLifecycle<SpaceSaving>;
  /** The zone's name model, trained as the shards' copies are (the decision carries the names). */
  private model = new NgramModel();
  private trainBelow = 2 ** 32;
  private statsStart: number | null = null;
  private statsTicks: Tick[] = [];
  private statsHadAlert: string | null = null;
  private offStart: number | null = null;
  private offAlertId: string | null = null;
  /** The offender window that closed with the last tick; its rows come with the next summaries. */
  private offClosed: { alertId: string | null } | null = null;
  /** Resolvers of never-seen queries in the open offender window (an alert's first top). */
  private windowNsTop: SpaceSaving;
  /** Known names asked of the shards, to publish when their lists arrive. */
  private namesFor: { alertId: string; asOf: number } | null = null;

  constructor(
    readonly zone: string,
    readonly shards: number,
    private readonly s: DetectorSettings,
    origin: number,
  ) {
    this.nextTick = origin;
    this.windowNsTop = new SpaceSaving(s.topK);
    this.lifecycle = new AttackLifecycle(zone, s, this.tops);
  }

  /**
   * An alert's top resolvers, by name: seeded with the open window's never-seen senders
   * (ZoneDetector reads its offender counts there).
   */
  private readonly tops: AlertTops<SpaceSaving> = {
    start: () => {
      const top = new SpaceSaving(this.s.topK);
      for (const h of this.windowNsTop.top(this.s.topK)) top.add(h.key, h.count);
      return top;
    },
    restore: (items) => SpaceSaving.fromJSON(this.s.topK, items),
  };

  get sensitivity(): number {
    return this.lifecycle.sensitivity;
  }

  get isActive(): boolean {
    return this.lifecycle.active !== null;
  }

  get alertId(): string | null {
    return this.lifecycle.alertId;
  }

  /**
   * One shard's summary. Returns the results of every tick that became complete (normally one:
   * a shard cannot close tick t+1 before the decision on t).
   */
  accept(summary: ShardSummary): MergeResult[] {
    if (summary.zone !== this.zone || summary.shards !== this.shards)
      throw new Error(
        `merge ${this.zone}/${this.shards}: summary of ${summary.zone}/${summary.shards}`,
      );
    if (summary.tick < this.nextTick) return []; // a redelivery of a tick already merged
    this.waiting.set(summary.tick * BLOCKS + summary.shard, summary);
    const results: MergeResult[] = [];
    for (;;) {
      const parts: ShardSummary[] = [];
      for (let i = 0; i < this.shards; i++) {
        const p = this.waiting.get(this.nextTick * BLOCKS + i);
        if (p) parts.push(p);
      }
      if (parts.length < this.shards) return results;
      for (let i = 0; i < this.shards; i++) this.waiting.delete(this.nextTick * BLOCKS + i);
      results.push(this.closeTick(parts));
      this.nextTick += this.s.tickMs;
    }
  }

  private closeTick(parts: ShardSummary[]): MergeResult {
    const s = this.s;
    const out: ZoneOutput = { alerts: [], zoneStats: [], offenders: [], knownNames: [] };
    const t = this.mergeTick(parts);
    const lifecycle = this.lifecycle;
    const wasActive = lifecycle.active !== null;
    let repeatTotal = 0;
    let repeated = 0;
    let version = 0;
    const nsTop = new SpaceSaving(s.topK);
    for (const p of parts) {
      repeatTotal += p.repeat[0];
      repeated += p.repeat[1];
      version += p.vocabularyVersion;
      for (const h of p.nsTop) nsTop.add(h.key, h.count);
    }
    this.publishKnownNames(parts, out);
    this.publishOffenders(parts, out);
    for (const h of nsTop.top(s.topK)) this.windowNsTop.add(h.key, h.count);
    // During an alert the never-seen senders are its top resolvers (as alertTop in the pass).
    const active = lifecycle.active;
    if (active) for (const h of nsTop.top(s.topK)) active.top.add(h.key, h.count);

    const repeatShare = repeatTotal > 0 ? repeated / repeatTotal : 0;
    const step = lifecycle.closeTick(t, repeatShare, version, out);
    if (step.started) {
      // The open windows belong to the new alert (as ZoneWindows.alertStarted).
      this.offAlertId = lifecycle.alertId;
      this.statsHadAlert = lifecycle.alertId;
    }
    const wantNames = step.namesDue ? this.askNames(version) : null;
    this.statsWindow(t, parts, lifecycle.baselineQps, out);
    this.offenderWindow(t);

    // Training: the zone's trainPerTick seen names with the smallest hashes, from every shard;
    // none from the tick that started an alert (NameScoring.learn).
    let train: string[] = [];
    if (!wasActive && !step.started) {
      const picked = smallest(
        parts.map((p) => p.train),
        s.trainPerTick,
        byTrain,
      );
      // Next tick's offers: up to 1.5× the hash that filled this tick's quota (twice the bound
      // when the quota was not filled), so shards send ~trainPerTick names between them.
      this.trainBelow =
        picked.length >= s.trainPerTick
          ? Math.min(2 ** 32, Math.ceil(picked[picked.length - 1]![0] * 1.5) + 1)
          : Math.min(2 ** 32, this.trainBelow * 2);
      train = picked.map((r) => r[1]);
      for (const name of train) {
        const b = Buffer.from(name, 'latin1');
        this.model.trainBytes(b, 0, b.length);
        if (this.model.total > 2_000_000) this.model.decay();
      }
    }
    return {
      out,
      decision: {
        v: 1,
        zone: this.zone,
        tick: t.start,
        alert: lifecycle.active
          ? { alertId: lifecycle.active.alertId, onset: lifecycle.active.onset }
          : null,
        started: step.started,
        ended: step.ended,
        train,
        trainBelow: this.trainBelow,
        wantNames,
      },
    };
  }

  /** The K summaries as one Tick: counters summed, sketches merged, floats summed per block. */
  private mergeTick(parts: ShardSummary[]): Tick {
    const s = this.s;
    const counts = new Array<number>(TICK_COUNTS).fill(0);
    const blocks = new Float64Array(BLOCKS * 4);
    const fp = new FingerprintAcc();
    let hll: HyperLogLog | null = null;
    let freshHll: HyperLogLog | null = null;
    for (const p of parts) {
      for (let i = 0; i < TICK_COUNTS; i++) counts[i]! += p.counts[i] ?? 0;
      for (const [b, score, entropy, nsScore, bpc] of p.floats) {
        blocks[b * 4] = score;
        blocks[b * 4 + 1] = entropy;
        blocks[b * 4 + 2] = nsScore;
        blocks[b * 4 + 3] = bpc;
      }
      if (p.hll) (hll ??= new HyperLogLog(s.hllPrecision)).merge(HyperLogLog.fromJSON(p.hll));
      if (p.freshHll)
        (freshHll ??= new HyperLogLog(s.hllPrecision)).merge(HyperLogLog.fromJSON(p.freshHll));
      fp.merge(FingerprintAcc.fromJSON(p.fp));
    }
    // Block by block in block order: the same additions, so the same bits, for any K.
    const sums = [0, 0, 0, 0];
    for (let b = 0; b < BLOCKS; b++) for (let k = 0; k < 4; k++) sums[k]! += blocks[b * 4 + k]!;
    counts[FLOAT_SLOTS[0]] = sums[0]!;
    counts[FLOAT_SLOTS[1]] = sums[1]!;
    counts[FLOAT_SLOTS[2]] = sums[2]!;
    fp.bpcSum = sums[3]!;
    const picked = smallest(
      parts.map((p) => p.samples),
      s.sampleNames,
      bySample,
    );
    const t = tickFromJson({
      start: parts[0]!.tick,
      counts,
      hll: null,
      freshHll: null,
      fp: fp.toJSON(),
      samples: picked.map((r) => r[3]),
      evidence: picked.map(([, ts, resolver, qname]) => ({ ts, resolver, qname })),
    });
    t.hll = hll;
    t.freshHll = freshHll;
    return t;
  }

  /** Known names the last decision asked for: one message, merged as one vocabulary would list them. */
  private publishKnownNames(parts: ShardSummary[], out: ZoneOutput): void {
    const want = this.namesFor;
    if (!want) return;
    this.namesFor = null;
    const all: [string, number][] = [];
    let picked = 0;
    for (const p of parts) {
      if (!p.knownNames) return;
      all.push(...p.knownNames.names);
      picked += p.knownNames.picked;
    }
    all.sort(byHitsThenName);
    const names = firstKnown(all, this.s.knownNamesMax, this.s.knownNamesMaxBytes).map(([n]) => n);
    out.knownNames.push({
      v: 1,
      zone: this.zone,
      alertId: want.alertId,
      asOf: want.asOf,
      names,
      truncated: names.length < picked,
    });
  }

  /** The offender window closed with the previous tick, if an alert owned it: summed per resolver. */
  private publishOffenders(parts: ShardSummary[], out: ZoneOutput): void {
    const closed = this.offClosed;
    this.offClosed = null;
    if (!closed || closed.alertId === null) return;
    const merged = new Map<string, { attack: number; total: number; evidence: Evidence[] }>();
    let window: { windowStart: number; windowEnd: number } | null = null;
    for (const p of parts) {
      if (!p.offenders) continue;
      window = p.offenders;
      for (const [resolver, attack, total, evidence] of p.offenders.rows) {
        const c = merged.get(resolver);
        if (!c) {
          if (merged.size < this.s.maxTrackedResolvers)
            merged.set(resolver, { attack, total, evidence: [...evidence] });
          continue;
        }
        c.attack += attack;
        c.total += total;
        c.evidence = [...c.evidence, ...evidence].sort(byEvidence).slice(0, 3);
      }
    }
    if (!window) return;
    const ranked = [...merged]
      .filter(([, c]) => c.attack > 0)
      .sort((a, b) => b[1].attack - a[1].attack || (a[0] < b[0] ? -1 : 1));
    for (const [resolver, c] of ranked)
      out.offenders.push({
        v: 1,
        zone: this.zone,
        resolver,
        windowStart: window.windowStart,
        windowEnd: window.windowEnd,
        attackQueries: c.attack,
        totalQueries: c.total,
        alertId: closed.alertId,
        evidence: c.evidence,
      });
  }

  private statsWindow(
    t: Tick,
    parts: ShardSummary[],
    baselineQps: number | null,
    out: ZoneOutput,
  ): void {
    const s = this.s;
    const alertId = this.lifecycle.alertId;
    this.statsStart ??= t.start;
    this.statsTicks.push(t);
    if (alertId) this.statsHadAlert = alertId;
    const tickIndex = Math.floor(t.start / s.tickMs);
    if ((tickIndex + 1) % s.statsEveryTicks !== 0) return;
    const { n, ns, random, rc, nx, allow, scoreSum, hll, rcs, fails } = sumTicks(
      this.statsTicks,
      s.hllPrecision,
    );
    const windowEnd = t.start + s.tickMs;
    if (n > 0 || this.statsHadAlert !== null) {
      // Top resolvers: the shards' exact tops added up (at K > 1 an approximation: see docs).
      const top = new SpaceSaving(s.topK);
      for (const p of parts) for (const h of p.statsTop ?? []) top.add(h.key, h.count);
      const secs = (windowEnd - this.statsStart) / 1000;
      const scored = n - allow;
      out.zoneStats.push({
        v: 1,
        zone: this.zone,
        windowStart: this.statsStart,
        windowEnd,
        queries: n,
        qps: round(n / secs, 2),
        baselineQps: baselineQps === null ? null : round(baselineQps, 2),
        uniqueSubnames: hll.count(),
        neverSeenRate: round(scored > 0 ? ns / scored : 0),
        randomShare: round(scored > 0 ? random / scored : 0),
        nxdomainShare: rc > 0 ? round(nx / rc) : null,
        failureShare: rcs > 0 ? round(fails / rcs) : null,
        topResolvers: top.top(10).map((h) => ({ resolver: h.key, count: h.count })),
        allowlistedQueries: allow,
        meanRandomScore: round(scored > 0 ? Math.min(1, scoreSum / scored) : 0),
        alertId: this.statsHadAlert,
      });
    }
    this.statsStart = null;
    this.statsTicks = [];
    this.statsHadAlert = alertId;
  }

  private offenderWindow(t: Tick): void {
    const s = this.s;
    const alertId = this.lifecycle.alertId;
    this.offStart ??= t.start;
    if (alertId) this.offAlertId = alertId;
    const tickIndex = Math.floor(t.start / s.tickMs);
    if ((tickIndex + 1) % s.offenderWindowTicks !== 0) return;
    this.offClosed = { alertId: this.offAlertId };
    this.offStart = null;
    this.offAlertId = alertId;
    this.windowNsTop.clear();
  }

  /**
   * Known names come from the shards' vocabularies: asked for with this decision, published with
   * the next tick (one tick after ZoneDetector publishes them; the same for every K).
   */
  private askNames(version: number): { asOf: number } {
    const a = this.lifecycle.active!;
    this.lifecycle.namesSent(version);
    this.namesFor = { alertId: a.alertId, asOf: a.onset };
    return { asOf: a.onset };
  }

  toJSON(): MergeSnapshot {
    return {
      v: 1,
      zone: this.zone,
      shards: this.shards,
      nextTick: this.nextTick,
      waiting: [...this.waiting.values()],
      ...this.lifecycle.toJSON(),
      model: this.model.toJSON(),
      trainBelow: this.trainBelow,
      statsStart: this.statsStart,
      statsTicks: this.statsTicks.map(tickToJson),
      statsHadAlert: this.statsHadAlert,
      offStart: this.offStart,
      offAlertId: this.offAlertId,
      offClosed: this.offClosed,
      windowNsTop: this.windowNsTop.toJSON(),
      namesFor: this.namesFor,
    };
  }

  static fromJSON(s: DetectorSettings, j: MergeSnapshot): MergeStage {
    const m = new MergeStage(j.zone, j.shards, s, j.nextTick);
    for (const w of j.waiting) m.waiting.set(w.tick * BLOCKS + w.shard, w);
    m.lifecycle = AttackLifecycle.fromJSON(j.zone, s, j, m.tops);
    m.model = NgramModel.fromJSON(j.model);
    m.trainBelow = j.trainBelow;
    m.statsStart = j.statsStart;
    m.statsTicks = j.statsTicks.map(tickFromJson);
    m.statsHadAlert = j.statsHadAlert;
    m.offStart = j.offStart;
    m.offAlertId = j.offAlertId;
    m.offClosed = j.offClosed;
    m.windowNsTop = SpaceSaving.fromJSON(s.topK, j.windowNsTop);
    m.namesFor = j.namesFor;
    return m;
  }
}
