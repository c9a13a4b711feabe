import { type Alert, type AlertSignal, type Evidence } from '@sluice/contracts';
import { round, type FingerprintAcc, type FingerprintJson } from './fingerprint';
import { type DetectorSettings } from './settings';
import { type HeavyHitter, type TopResolvers } from './space-saving';
import { sumTicks, type Tick } from './tick';
import { type ZoneBaseline } from './zone-baseline';
import { type Evaluation } from './zone-evidence';

/** An attack in progress on one zone (`top`: its resolvers, keyed as its owner counts them). */
export interface ActiveAlert<T extends TopResolvers = TopResolvers> {
  alertId: string;
  onset: number;
  lastUpdateAt: number;
  quietTicks: number;
  firstQuietTick: number;
  fp: FingerprintAcc;
  top: T;
  samples: string[];
  evidence: Evidence[];
  /** Vocabulary version last published for this alert (absent in older checkpoints). */
  namesVersion?: number;
  /** Evidence that raised the alert and any that held since. */
  signals: AlertSignal[];
  /** Longest pause (quiet ticks) after which the flood came back. */
  longestGap?: number;
}

export type ActiveAlertJson = Omit<ActiveAlert, 'fp' | 'top' | 'signals'> & {
  fp: FingerprintJson;
  top: HeavyHitter[];
  /** Absent in checkpoints written before alerts named their signals. */
  signals?: AlertSignal[];
};

export interface AlertContext {
  zone: string;
  settings: DetectorSettings;
  sensitivity: number;
  ring: readonly Tick[];
  baseline: ZoneBaseline;
  short: Evaluation;
  long: Evaluation;
}

/**
 * The alert message for `a` at `at`. Except at the start, the newest tick's fingerprint and
 * samples are folded into the alert's first (so `updated` describes the whole attack so far).
 */
export function alertMessage(
  a: ActiveAlert,
  phase: Alert['phase'],
  at: number,
  endedAt: number | null,
  c: AlertContext,
): Alert {
  const s = c.settings;
  const ticks = c.ring.slice(-s.shortHorizonTicks);
  if (phase !== 'started') {
    const last = ticks[ticks.length - 1];
    if (last) {
      a.fp.merge(last.fp);
      for (const x of last.samples) if (a.samples.length < s.sampleNames) a.samples.push(x);
    }
  }
  const { n, ns, random, rc, nx, nsEntropy, nsScore, hll, rcs, fails, nodata, servfail, refused } =
    sumTicks(ticks, s.hllPrecision);
  const secs = (ticks.length * s.tickMs) / 1000 || 1;
  const { short, long, baseline } = c;
  const best = short.z >= long.z ? short : long;
  const bestSecs =
    best === short ? secs : (Math.min(c.ring.length, s.longHorizonTicks) * s.tickMs) / 1000 || 1;
  const baselineQps = (baseline.meanN * 1000) / s.tickMs;
  const excessQps = best.excess / bestSecs;
  // Severity from the strongest evidence: never-seen names, failed answers or raw volume
  // above the baseline (a zone without one, or a flood whose names repeat, has no
  // never-seen excess to speak of).
  const floodQps = Math.max(
    excessQps,
    (fails - baseline.failShare * rcs) / secs,
    n / secs - baselineQps,
  );
  return {
    v: 1,
    alertId: a.alertId,
    zone: c.zone,
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
    topResolvers: a.top.top(10).map((h) => ({ resolver: h.key, count: h.count })),
    fingerprint: a.fp.toFingerprint(),
    neverSeenQps: round(best.ns / bestSecs, 2),
    excessQps: round(excessQps, 2),
    zScore: round(best.z, 2),
    sensitivity: c.sensitivity,
    meanRandomScore: round(ns > 0 ? Math.min(1, nsScore / ns) : 0),
    signals: [...a.signals],
    failureShare: rcs > 0 ? round(fails / rcs) : null,
    baselineFailureShare: baseline.meanRc > 0 ? round(baseline.failShare) : null,
    nodataShare: rcs > 0 ? round(nodata / rcs) : null,
    servfailShare: rcs > 0 ? round(servfail / rcs) : null,
    refusedShare: rcs > 0 ? round(refused / rcs) : null,
  };
}

function severity(excessQps: number, baselineQps: number): Alert['severity'] {
  const r = excessQps / Math.max(baselineQps, 1);
  if (r >= 10) return 'critical';
  if (r >= 3) return 'high';
  if (r >= 0.5) return 'medium';
  return 'low';
}
