import { type Evidence } from '@sluice/contracts';
import { FingerprintAcc, type FingerprintJson } from './fingerprint';
import { HyperLogLog } from './hyperloglog';

/** What one closed tick of a zone looked like: the counters every later stage reads. */
export class Tick {
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
  /**
   * Fresh queries whose name the vocabulary holds, and their same-name coincidences within the
   * tick (each query counts the earlier ones for its name): how flat the fresh names are asked.
   */
  freshTracked = 0;
  freshColl = 0;
  hll: HyperLogLog | null = null;
  /** Distinct fresh names (only kept while there are any). */
  freshHll: HyperLogLog | null = null;
  private fpAcc: FingerprintAcc | null = null;
  readonly samples: string[] = [];
  readonly evidence: Evidence[] = [];
  constructor(readonly start: number) {}

  /**
   * What the tick's never-seen names looked like, made on first use: most ticks of a quiet zone
   * have none, and an accumulator (three Maps and a 512-byte array) per tick and zone was ~1 % of
   * the detector.
   */
  get fp(): FingerprintAcc {
    return (this.fpAcc ??= new FingerprintAcc());
  }
}

/** NXDOMAIN answers to scored queries in a tick. */
export function nxOf(t: Tick): number {
  return t.fails - t.nodata - t.servfail - t.refused;
}

/** Several ticks' counters added up, their unique-name sketches merged (alerts, zone stats). */
export function sumTicks(ticks: readonly Tick[], hllPrecision: number) {
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

export interface TickJson {
  start: number;
  /** Counters in a fixed order; checkpoints from before a counter existed read it as 0. */
  counts: number[];
  hll: ReturnType<HyperLogLog['toJSON']> | null;
  /** Absent in checkpoints written before the surge test. */
  freshHll?: ReturnType<HyperLogLog['toJSON']> | null;
  fp: FingerprintJson;
  samples: string[];
  evidence: Evidence[];
}

export function tickToJson(t: Tick): TickJson {
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
      t.freshTracked,
      t.freshColl,
    ],
    hll: t.hll ? t.hll.toJSON() : null,
    freshHll: t.freshHll ? t.freshHll.toJSON() : null,
    fp: t.fp.toJSON(),
    samples: t.samples,
    evidence: t.evidence,
  };
}

export function tickFromJson(j: TickJson): Tick {
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
  t.freshTracked = at(16);
  t.freshColl = at(17);
  t.hll = j.hll ? HyperLogLog.fromJSON(j.hll) : null;
  t.freshHll = j.freshHll ? HyperLogLog.fromJSON(j.freshHll) : null;
  t.fp.merge(FingerprintAcc.fromJSON(j.fp));
  t.samples.push(...j.samples);
  t.evidence.push(...j.evidence);
  return t;
}
