import { type Tick } from './tick';

export interface BaselineJson {
  meanN: number;
  meanNs: number;
  varResid: number;
  /** Absent in checkpoints written before response and surge evidence: relearned. */
  varN?: number;
  meanRc?: number;
  meanFail?: number;
  varFail?: number;
  meanFreshD?: number;
}

/**
 * What a tick of this zone usually looks like: EWMAs of its volume, never-seen names, responses
 * and those that answered nothing, and distinct not-yet-established names, with the variances
 * the anomaly tests need. Learned from ordinary ticks only (the caller decides which).
 */
export class ZoneBaseline {
  meanN = 0;
  meanNs = 0;
  varResid = 0;
  varN = 0;
  meanRc = 0;
  meanFail = 0;
  varFail = 0;
  meanFreshD = 0;

  /** The zone's usual never-seen share of its scored queries (1 before anything was learned). */
  get share(): number {
    return this.meanN > 0 ? Math.min(1, this.meanNs / this.meanN) : 1;
  }

  /** The zone's usual share of responses that answered nothing. */
  get failShare(): number {
    return this.meanRc > 0 ? Math.min(1, this.meanFail / this.meanRc) : 0;
  }

  /** `freshAlpha`: the fresh-name mean's rate (0: this tick's fresh names say nothing). */
  learn(t: Tick, alpha: number, freshAlpha = alpha): void {
    const n = t.n - t.allow;
    const nResid = n - this.meanN;
    this.meanN += alpha * nResid;
    this.varN += alpha * (nResid * nResid - this.varN);
    this.meanNs += alpha * (t.ns - this.meanNs);
    const resid = t.ns - this.share * n;
    this.varResid += alpha * (resid * resid - this.varResid);
    this.meanRc += alpha * (t.rcs - this.meanRc);
    this.meanFail += alpha * (t.fails - this.meanFail);
    const failResid = t.fails - this.failShare * t.rcs;
    this.varFail += alpha * (failResid * failResid - this.varFail);
    if (freshAlpha <= 0) return;
    const freshD = t.freshHll ? t.freshHll.count() : 0;
    this.meanFreshD += freshAlpha * (freshD - this.meanFreshD);
  }

  toJSON(): Required<BaselineJson> {
    return {
      meanN: this.meanN,
      meanNs: this.meanNs,
      varResid: this.varResid,
      varN: this.varN,
      meanRc: this.meanRc,
      meanFail: this.meanFail,
      varFail: this.varFail,
      meanFreshD: this.meanFreshD,
    };
  }

  static fromJSON(j: BaselineJson): ZoneBaseline {
    const b = new ZoneBaseline();
    b.meanN = j.meanN;
    b.meanNs = j.meanNs;
    b.varResid = j.varResid;
    b.varN = j.varN ?? 0;
    b.meanRc = j.meanRc ?? 0;
    b.meanFail = j.meanFail ?? 0;
    b.varFail = j.varFail ?? 0;
    b.meanFreshD = j.meanFreshD ?? 0;
    return b;
  }
}
