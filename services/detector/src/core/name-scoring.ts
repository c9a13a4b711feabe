import { HyperLogLog } from './hyperloglog';
import { labelFeatures, NgramModel, scoreSubnameBytes } from './label-score';
import { type ResolverTop } from './resolver-top';
import { SeenFilter, type SeenFilterJson } from './seen-filter';
import { type DetectorSettings } from './settings';
import { type Tick } from './tick';
import { ROW_EDNS, ROW_RD, type TickRows } from './tick-rows';
import { countAnswer, ZoneAllowlist } from './zone-allowlist';
import {
  ZoneVocabulary,
  type NameEntry,
  type VocabularyJson,
  type VocabularySettings,
} from './zone-vocabulary';
import { type ZoneWindows } from './zone-windows';

const f = labelFeatures();
const REPEAT_SAMPLE_PER_TICK = 200;

export interface NamesJson {
  seen: SeenFilterJson;
  model: { counts: number[]; total: number };
  recentNew: [number, { tick: number; repeated: boolean }][];
  /** Absent in checkpoints written before the zone guard: the zone relearns its names. */
  vocabulary?: VocabularyJson;
  vocabularyVersion?: number;
  /** Absent in checkpoints written before the per-alert filter. */
  alertSeen?: SeenFilterJson | null;
}

/**
 * What the zone knows about names, and the per-query pass that fills a tick: the seen filter,
 * the zone's n-gram model, its vocabulary (the guard's allow list) and a sample of recently new
 * names. Learning follows one rule — never from a flood: during an alert the model does not
 * train, no name enters the zone's filter (non-random new ones go to the alert's own filter,
 * dropped at its end) and the vocabulary only counts names seen before.
 */
export class NameScoring {
  private seen: SeenFilter;
  private alertSeen: SeenFilter | null = null;
  private model = new NgramModel();
  vocabulary: ZoneVocabulary;
  /**
   * A sample of recently never-seen names (hash as int32 → tick, repeated?). Attack names never come
   * back; a new CDN deployment or a renamed host is asked again within seconds. A burst of
   * new names that repeat is therefore not an attack, however many there are.
   */
  private recentNew = new Map<number, { tick: number; repeated: boolean }>();
  private readonly allowlist: ZoneAllowlist;
  /** Distinct names in the last tick and its fresh ones: the next tick's sketches start that big. */
  private lastDistinct = 0;
  private lastFresh = 0;
  /** Rows of the tick the model learns from once the tick is judged, and how many (reused). */
  private toTrain = new Int32Array(0);
  private trainPending = 0;
  /** Counts the model's changes (learn): a score kept on a vocabulary entry holds within one. */
  private modelEpoch = 0;

  constructor(
    zone: string,
    private readonly s: DetectorSettings,
  ) {
    this.seen = new SeenFilter({
      capacity: s.seenCapacity,
      falsePositiveRate: s.seenFalsePositiveRate,
    });
    this.vocabulary = new ZoneVocabulary(vocabularySettings(s));
    this.allowlist = new ZoneAllowlist(s.allowlist, zone);
  }

  get allowlistedZone(): boolean {
    return this.allowlist.zone;
  }

  /**
   * Every event of the tick starting at `t.start`, in arrival order: counts into `t`, resolvers
   * into the windows, never-seen senders into the alert's top resolvers (`alertTop`, null when
   * no alert is active). One loop: this is the detector's per-query cost.
   */
  scoreTick(t: Tick, rows: TickRows, windows: ZoneWindows, alertTop: ResolverTop | null): void {
    const s = this.s;
    const start = t.start;
    let trained = 0;
    let sampledNew = 0;
    const alerting = alertTop !== null;
    // A name is established once the vocabulary has known it for surgeEstablishTicks: long
    // enough that names a surge brings do not qualify while it is being judged.
    const establishedBefore = start - s.surgeEstablishTicks * s.tickMs;
    const vocabulary = this.vocabulary;
    const b = rows.arena;
    const toTrain =
      this.toTrain.length >= s.trainPerTick
        ? this.toTrain
        : (this.toTrain = new Int32Array(s.trainPerTick));
    for (let i = 0; i < rows.n; i++) {
      t.n++;
      const from = rows.subStart[i]!;
      const to = rows.subEnd[i]!;
      const resolver = rows.resolver[i]!;
      // As a signed 32-bit integer: every use below reads the same bits, and unlike an unsigned
      // hash ≥ 2^31 it is a small integer, not a number boxed at each call it crosses.
      const h1 = rows.h1[i]! | 0;
      const h2 = rows.h2[i]!;
      if (t.hll === null) t.hll = new HyperLogLog(s.hllPrecision, this.lastDistinct);
      t.hll.add(h1);
      const rid = rows.rid[i]!;
      windows.seenResolver(rid);
      const rcode = rows.rcode[i]!;
      if (rcode >= 0) {
        t.rc++;
        if (rcode === 3) t.nx++;
      }
      if (this.allowlist.has(rows, i)) {
        t.allow++;
        windows.countOffender(rid, false);
        continue;
      }
      countAnswer(t, rcode, rows.ancount[i]!);
      const known = vocabulary.lookup(h1);
      const fresh = !ZoneVocabulary.established(known, establishedBefore);
      if (fresh) {
        t.fresh++;
        if (t.freshHll === null) t.freshHll = new HyperLogLog(s.hllPrecision, this.lastFresh);
        t.freshHll.add(h1);
      }
      const seen = this.seen.has(h1, h2);
      // A name asked again under the same model has the same score: a known name's is kept on
      // its entry (with its second hash, so two names sharing the entry's key are told apart).
      // Only the score: a never-seen name is scored in full, for its fingerprint.
      let score: number;
      if (
        seen &&
        known !== undefined &&
        known.scoredAt === this.modelEpoch &&
        known.scoredH2 === h2
      )
        score = known.score;
      else {
        scoreSubnameBytes(b, from, to, this.model, f);
        score = f.score;
        if (known !== undefined) this.keepScore(known, score, h2);
      }
      const random = score >= s.randomThreshold;
      t.scoreSum += score;
      if (random) t.random++;
      const seenDuringAlert = !seen && this.alertSeen !== null && this.alertSeen.has(h1, h2);
      // During an alert only names seen before count: the guard must never learn the flood.
      // (The name's text is made only for a name the vocabulary takes in.)
      let entry = known;
      if (!alerting) {
        if (known !== undefined) vocabulary.count(known, rcode);
        else if (!vocabulary.full) entry = vocabulary.admit(h1, rows.qname(i), rcode, start);
      } else if (seen || seenDuringAlert) {
        if (known !== undefined) vocabulary.countDuringAlert(known, rcode);
        else if (!vocabulary.full)
          entry = vocabulary.admitDuringAlert(h1, rows.qname(i), rcode, start);
      }
      if (entry !== known && entry !== undefined) this.keepScore(entry, score, h2);
      if (fresh && entry !== undefined) {
        t.freshTracked++;
        t.freshColl += ZoneVocabulary.askedInTick(entry, start);
      }
      if (seen) {
        const r = this.recentNew.get(h1);
        if (r !== undefined) r.repeated = true;
        // Names the zone keeps being asked for are its vocabulary: learn from those only (once
        // the tick is judged, in learn), never during an alert, when the filter's false
        // positives are flood names.
        if (!alerting && trained < s.trainPerTick) toTrain[trained++] = i;
      } else {
        t.ns++;
        t.nsEntropy += f.entropy;
        t.nsScore += score;
        if (random) t.nsRandom++;
        if (sampledNew < REPEAT_SAMPLE_PER_TICK && !this.recentNew.has(h1)) {
          this.recentNew.set(h1, { tick: start, repeated: false });
          sampledNew++;
        }
        // During an attack no new name enters the zone's filter: the flood would push the real
        // vocabulary out and raise its false positives. Non-random ones go to the alert's own
        // filter (random ones cannot be a name the zone has).
        if (!alerting) this.seen.add(h1, h2);
        else if (!random && !seenDuringAlert) this.alertSeen?.add(h1, h2);
        const flags = rows.flags[i]!;
        t.fp.addBytes(
          b,
          from,
          to,
          f.firstLabelLength,
          f.labels,
          rows.qtype[i]!,
          (flags & ROW_RD) !== 0,
          (flags & ROW_EDNS) !== 0,
          f.bitsPerChar,
          random,
        );
        if (t.samples.length < s.sampleNames || t.evidence.length < s.sampleNames) {
          const qname = rows.qname(i);
          if (t.samples.length < s.sampleNames) t.samples.push(qname);
          if (t.evidence.length < s.sampleNames)
            t.evidence.push({ ts: rows.ts[i]!, resolver, qname });
        }
        alertTop?.addId(rid);
      }
      const wantsEvidence = windows.countOffender(rid, !seen);
      if (wantsEvidence !== null)
        wantsEvidence.push({ ts: rows.ts[i]!, resolver, qname: rows.qname(i) });
    }
    this.trainPending = trained;
    this.lastDistinct = t.hll?.sparseSize ?? 0;
    this.lastFresh = t.freshHll?.sparseSize ?? 0;
    const keepFrom = start - (s.shortHorizonTicks + 2) * s.tickMs;
    // forEach, not for…of: no [key, value] array per entry, every tick (up to 200 new per tick).
    const recentNew = this.recentNew;
    recentNew.forEach((r, h) => {
      if (r.tick < keepFrom) recentNew.delete(h);
    });
    this.vocabulary.tick(this.alertSeen === null);
  }

  /**
   * After the tick's verdict: the model learns from the seen names scoreTick picked, unless the
   * tick started an alert — its names are the flood's as much as anyone's (a big flood's filter
   * false positives are "seen" names too). Till now every name of the tick was scored by the
   * model as the tick began (as a hot zone's shards score them), which also keeps the model's
   * surprise cache valid through the tick.
   */
  learn(rows: TickRows, alertStarted: boolean): void {
    const n = this.trainPending;
    this.trainPending = 0;
    if (alertStarted) return;
    if (n > 0) this.modelEpoch++;
    const toTrain = this.toTrain;
    for (let k = 0; k < n; k++) {
      const i = toTrain[k]!;
      this.model.trainBytes(rows.arena, rows.subStart[i]!, rows.subEnd[i]!);
      if (this.model.total > 2_000_000) this.model.decay();
    }
  }

  private keepScore(e: NameEntry, score: number, h2: number): void {
    e.score = score;
    e.scoredAt = this.modelEpoch;
    e.scoredH2 = h2;
  }

  /** Share of recently sampled never-seen names that were asked for again. */
  repeatShare(): number {
    let total = 0;
    let repeated = 0;
    for (const r of this.recentNew.values()) {
      total++;
      if (r.repeated) repeated++;
    }
    return total > 0 ? repeated / total : 0;
  }

  /** An alert started at `onset`: names since then are the flood's as much as anyone's. */
  alertStarted(onset: number): void {
    this.alertSeen = new SeenFilter({
      capacity: this.s.seenCapacity,
      falsePositiveRate: this.s.seenFalsePositiveRate,
    });
    this.vocabulary.forgetSince(onset);
  }

  alertEnded(): void {
    this.alertSeen = null;
  }

  get bytes(): number {
    return (
      this.seen.bytes + (this.alertSeen?.bytes ?? 0) + this.model.bytes + this.vocabulary.bytes
    );
  }

  toJSON(): Required<NamesJson> {
    return {
      seen: this.seen.toJSON(),
      model: this.model.toJSON(),
      recentNew: [...this.recentNew].map(([h, r]) => [h >>> 0, r]),
      vocabulary: this.vocabulary.toJSON(),
      vocabularyVersion: this.vocabulary.version,
      alertSeen: this.alertSeen ? this.alertSeen.toJSON() : null,
    };
  }

  static fromJSON(
    zone: string,
    s: DetectorSettings,
    j: NamesJson,
    alertActive: boolean,
  ): NameScoring {
    const n = new NameScoring(zone, s);
    const filter = { capacity: s.seenCapacity, falsePositiveRate: s.seenFalsePositiveRate };
    n.seen = SeenFilter.fromJSON(filter, j.seen);
    n.model = NgramModel.fromJSON(j.model);
    n.recentNew = new Map(j.recentNew.map(([h, r]) => [h | 0, { ...r }]));
    n.vocabulary = ZoneVocabulary.fromJSON(vocabularySettings(s), j.vocabulary);
    n.vocabulary.version = j.vocabularyVersion ?? 0;
    // An alert restored from a checkpoint older than the per-alert filter starts an empty one.
    if (alertActive)
      n.alertSeen = j.alertSeen ? SeenFilter.fromJSON(filter, j.alertSeen) : new SeenFilter(filter);
    return n;
  }
}

/** The vocabulary's bounds from the detector's settings (retention in agings). */
export function vocabularySettings(s: DetectorSettings): VocabularySettings {
  const agingMs = s.knownNamesAgingTicks * s.tickMs;
  return {
    capacity: s.knownNamesCapacity,
    agingTicks: s.knownNamesAgingTicks,
    retentionAgings: Math.max(1, Math.ceil(s.knownNamesRetentionMs / agingMs)),
  };
}
