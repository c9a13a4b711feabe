import { Outcome, type QueryLog } from './sender';
import { QueryClass, isFlood, type Resolver } from './traffic';

export interface Share {
  /** Queries counted. */
  n: number;
  /** Of which refused, rewritten or dropped. */
  stopped: number;
  /** Of which timed out (part of `stopped`). */
  timeouts: number;
  /** stopped / n, or null without queries. */
  pct: number | null;
}

function share(n: number, stopped: number, timeouts: number): Share {
  return { n, stopped, timeouts, pct: n > 0 ? (100 * stopped) / n : null };
}

export interface Measurements {
  queries: number;
  legitQueries: number;
  floodQueries: number;
  /** Wall-clock offsets (s from the run's start) of flood onset / end as sent. */
  onsetS: number | null;
  floodEndS: number | null;
  /** Seconds from onset to the first flood query stopped by mitigation; null if never. */
  mitigationLatencyS: number | null;
  /** Share of flood queries sent after mitigation started that the authoritative did NOT answer. */
  floodStoppedAfterMitigation: Share;
  /** Share of flood queries that reached the authoritative after mitigation started (100 − stopped). */
  floodReachedAfterMitigationPct: number | null;
  floodStoppedOverall: Share;
  /** Legitimate queries refused, rewritten or dropped. */
  legitAttackedZoneDuringAttack: Share;
  legitAttackedZoneOverall: Share;
  /** The same without typos (a typo gets NXDOMAIN anyway: REFUSED costs its user nothing). */
  legitAttackedZoneDuringAttackNoTypos: Share;
  legitAttackedZoneOverallNoTypos: Share;
  legitOtherZonesDuringAttack: Share;
  legitOtherZones: Share;
  legitOverall: Share;
  /** Before the flood: load-only losses (the timeout calibration of this run). */
  legitBeforeOnset: Share;
  /** Legitimate queries to names introduced during the run (a guard learning from traffic misses them). */
  legitLateNames: Share;
  legitLatencyP50Ms: number | null;
  legitLatencyP99Ms: number | null;
  /**
   * Public resolvers whose legitimate queries to an attacked zone were mostly (≥ 50 %) refused or
   * dropped during the attack: "a public resolver refused a whole zone".
   */
  publicZoneRefusals: { resolver: string; zone: string; stoppedPct: number; n: number }[];
  /** Legitimate resolvers that lost ≥ 50 % of their queries to zones that were NOT attacked. */
  legitResolversBlockedOutright: { resolver: string; stoppedPct: number; n: number }[];
  /** Outcome counts per query class (ground truth × what the resolver saw). */
  outcomes: Record<string, Record<string, number>>;
  /** Per second after onset: flood sent / reached the authoritative; legit (attacked zone) stopped. */
  timeline: {
    s: number;
    flood: number;
    floodReached: number;
    legit: number;
    legitStopped: number;
  }[];
}

export interface MeasureOptions {
  log: QueryLog;
  resolvers: readonly Resolver[];
  zones: readonly string[];
  attacked: readonly number[];
  /**
   * A timeout counts as a mitigation drop (for the latency) only inside a second in which at least
   * this share of the flood went unanswered: load-induced timeouts do not start "mitigation".
   */
  dropShareForMitigation?: number;
}

const stoppedOutcome = (o: number) =>
  o === Outcome.refused ||
  o === Outcome.policy ||
  o === Outcome.policyNxdomain ||
  o === Outcome.timeout;
/**
 * A legitimate query that did not get the answer the authoritative would have given: stopped,
 * except a typo answered NXDOMAIN by the enforcer (a guard that has the zone's own data) — the
 * user got the same answer.
 */
const harmed = (cls: number, o: number) =>
  stoppedOutcome(o) && !(cls === QueryClass.legitTypo && o === Outcome.policyNxdomain);
const answeredByAuth = (o: number) => o === Outcome.noerror || o === Outcome.nxdomain;

function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export function measure(m: MeasureOptions): Measurements {
  const { log } = m;
  const attacked = new Set(m.attacked);
  const n = log.size;
  let onset = Infinity;
  let floodEnd = -Infinity;
  for (let i = 0; i < n; i++) {
    if (!isFlood(log.cls[i]!)) continue;
    onset = Math.min(onset, log.sentAt[i]!);
    floodEnd = Math.max(floodEnd, log.sentAt[i]!);
  }
  const hasFlood = Number.isFinite(onset);

  // Per-second flood drop share, to tell mitigation drops from load drops.
  const secFlood = new Map<number, { n: number; timeouts: number }>();
  for (let i = 0; i < n; i++) {
    if (!isFlood(log.cls[i]!)) continue;
    const s = Math.floor(log.sentAt[i]! / 1000);
    const b = secFlood.get(s) ?? { n: 0, timeouts: 0 };
    b.n++;
    if (log.outcome[i] === Outcome.timeout) b.timeouts++;
    secFlood.set(s, b);
  }
  const dropShare = m.dropShareForMitigation ?? 0.2;
  const mitigationStop = (i: number) => {
    const o = log.outcome[i]!;
    if (o === Outcome.refused || o === Outcome.policy || o === Outcome.policyNxdomain) return true;
    if (o !== Outcome.timeout) return false;
    const b = secFlood.get(Math.floor(log.sentAt[i]! / 1000));
    return b !== undefined && b.timeouts / b.n >= dropShare;
  };
  let mitigationAt: number | null = null;
  for (let i = 0; i < n && hasFlood; i++) {
    if (isFlood(log.cls[i]!) && mitigationStop(i)) {
      mitigationAt = log.sentAt[i]!;
      break;
    }
  }

  const acc = () => ({ n: 0, stopped: 0, timeouts: 0 });
  const c = {
    floodAfter: acc(),
    floodAll: acc(),
    legitAttDuring: acc(),
    legitAtt: acc(),
    legitAttNoTypo: acc(),
    legitAttDuringNoTypo: acc(),
    legitOtherDuring: acc(),
    legitOther: acc(),
    legitAll: acc(),
    legitBefore: acc(),
    legitLate: acc(),
  };
  const add = (a: { n: number; stopped: number; timeouts: number }, o: number, cls: number) => {
    a.n++;
    if (isFlood(cls) ? stoppedOutcome(o) : harmed(cls, o)) a.stopped++;
    if (o === Outcome.timeout) a.timeouts++;
  };
  const pubZone = new Map<string, { n: number; stopped: number }>();
  const outright = new Map<number, { n: number; stopped: number }>();
  const latencies: number[] = [];
  const timeline = new Map<
    number,
    { s: number; flood: number; floodReached: number; legit: number; legitStopped: number }
  >();
  const outcomes: Record<string, Record<string, number>> = {};
  const clsNames = Object.fromEntries(Object.entries(QueryClass).map(([k, v]) => [v, k]));
  const outNames = Object.fromEntries(Object.entries(Outcome).map(([k, v]) => [v, k]));
  let legitN = 0;
  let floodN = 0;
  for (let i = 0; i < n; i++) {
    const cls = log.cls[i]!;
    const o = log.outcome[i]!;
    const t = log.sentAt[i]!;
    const z = log.zone[i]!;
    const during = hasFlood && t >= onset && t <= floodEnd;
    const sec = hasFlood ? Math.floor((t - onset) / 1000) : 0;
    const byCls = (outcomes[clsNames[cls]!] ??= {});
    byCls[outNames[o]!] = (byCls[outNames[o]!] ?? 0) + 1;
    const tl =
      hasFlood && t >= onset - 10_000
        ? (timeline.get(sec) ??
          timeline
            .set(sec, { s: sec, flood: 0, floodReached: 0, legit: 0, legitStopped: 0 })
            .get(sec)!)
        : null;
    if (isFlood(cls)) {
      floodN++;
      add(c.floodAll, o, cls);
      if (mitigationAt !== null && t >= mitigationAt) add(c.floodAfter, o, cls);
      if (tl) {
        tl.flood++;
        if (answeredByAuth(o)) tl.floodReached++;
      }
      continue;
    }
    legitN++;
    add(c.legitAll, o, cls);
    if (!Number.isNaN(log.latency[i]!)) latencies.push(log.latency[i]!);
    if (!hasFlood || t < onset) add(c.legitBefore, o, cls);
    if (cls === QueryClass.legitLate) add(c.legitLate, o, cls);
    const r = m.resolvers[log.resolver[i]!]!;
    if (attacked.has(z)) {
      add(c.legitAtt, o, cls);
      if (during) add(c.legitAttDuring, o, cls);
      if (cls !== QueryClass.legitTypo) {
        add(c.legitAttNoTypo, o, cls);
        if (during) add(c.legitAttDuringNoTypo, o, cls);
      }
      if (tl) {
        tl.legit++;
        if (harmed(cls, o)) tl.legitStopped++;
      }
      if (during && r.kind === 'public' && cls !== QueryClass.legitTypo) {
        const key = `${r.address} ${m.zones[z]}`;
        const b = pubZone.get(key) ?? { n: 0, stopped: 0 };
        b.n++;
        if (harmed(cls, o)) b.stopped++;
        pubZone.set(key, b);
      }
    } else {
      add(c.legitOther, o, cls);
      if (during) add(c.legitOtherDuring, o, cls);
      const b = outright.get(log.resolver[i]!) ?? { n: 0, stopped: 0 };
      b.n++;
      if (harmed(cls, o)) b.stopped++;
      outright.set(log.resolver[i]!, b);
    }
  }
  latencies.sort((a, b) => a - b);
  const sh = (a: { n: number; stopped: number; timeouts: number }) =>
    share(a.n, a.stopped, a.timeouts);
  const floodAfter = sh(c.floodAfter);
  return {
    queries: n,
    legitQueries: legitN,
    floodQueries: floodN,
    onsetS: hasFlood ? onset / 1000 : null,
    floodEndS: hasFlood ? floodEnd / 1000 : null,
    mitigationLatencyS: mitigationAt === null ? null : (mitigationAt - onset) / 1000,
    floodStoppedAfterMitigation: floodAfter,
    floodReachedAfterMitigationPct: floodAfter.pct === null ? null : 100 - floodAfter.pct,
    floodStoppedOverall: sh(c.floodAll),
    legitAttackedZoneDuringAttack: sh(c.legitAttDuring),
    legitAttackedZoneOverall: sh(c.legitAtt),
    legitAttackedZoneDuringAttackNoTypos: sh(c.legitAttDuringNoTypo),
    legitAttackedZoneOverallNoTypos: sh(c.legitAttNoTypo),
    legitOtherZonesDuringAttack: sh(c.legitOtherDuring),
    legitOtherZones: sh(c.legitOther),
    legitOverall: sh(c.legitAll),
    legitBeforeOnset: sh(c.legitBefore),
    legitLateNames: sh(c.legitLate),
    legitLatencyP50Ms: percentile(latencies, 50),
    legitLatencyP99Ms: percentile(latencies, 99),
    publicZoneRefusals: [...pubZone]
      .filter(([, b]) => b.n >= 5 && b.stopped / b.n >= 0.5)
      .map(([key, b]) => {
        const [resolver, zone] = key.split(' ') as [string, string];
        return { resolver, zone, stoppedPct: (100 * b.stopped) / b.n, n: b.n };
      }),
    legitResolversBlockedOutright: [...outright]
      .filter(([, b]) => b.n >= 5 && b.stopped / b.n >= 0.5)
      .map(([ri, b]) => ({
        resolver: m.resolvers[ri]!.address,
        stoppedPct: (100 * b.stopped) / b.n,
        n: b.n,
      })),
    outcomes,
    timeline: [...timeline.values()].sort((a, b) => a.s - b.s),
  };
}
