import { type Evidence } from '@sluice/contracts';
import { round } from './fingerprint';
import { type DetectorSettings } from './settings';
import { SpaceSaving, type HeavyHitter } from './space-saving';
import { sumTicks, tickFromJson, tickToJson, type Tick, type TickJson } from './tick';
import { type ZoneOutput } from './zone-output';

export interface OffenderCount {
  attack: number;
  total: number;
  evidence: Evidence[];
}

export interface WindowsJson {
  statsStart: number | null;
  statsTicks: TickJson[];
  statsTop: HeavyHitter[];
  statsHadAlert: string | null;
  offStart: number | null;
  offenders: [string, OffenderCount][];
  offAlertId: string | null;
}

/**
 * The zone's two output windows: zone stats every statsEveryTicks (volume, shares, top
 * resolvers) and, while an attack is on, every resolver that sent attack-like queries per
 * offenderWindowTicks. Windows are aligned to tick indexes, so every instance cuts them alike.
 */
export class ZoneWindows {
  private statsStart: number | null = null;
  private statsTicks: Tick[] = [];
  private statsTop: SpaceSaving;
  private statsHadAlert: string | null = null;
  private offStart: number | null = null;
  private offenders = new Map<string, OffenderCount>();
  private offAlertId: string | null = null;

  constructor(
    private readonly zone: string,
    private readonly s: DetectorSettings,
  ) {
    this.statsTop = new SpaceSaving(s.topK);
  }

  /** Nothing held: no open stats window, no offenders counted. */
  get idle(): boolean {
    return this.statsTicks.length === 0 && this.offenders.size === 0;
  }

  /** One query's resolver, for the stats window's top resolvers. */
  seenResolver(resolver: string): void {
    this.statsTop.add(resolver);
  }

  /**
   * One query's resolver in the offender window. Returns the resolver's count when an
   * attack-like query still wants evidence (the caller adds it: it holds the name), else null.
   */
  countOffender(resolver: string, attackLike: boolean): OffenderCount | null {
    let c = this.offenders.get(resolver);
    if (!c) {
      if (this.offenders.size >= this.s.maxTrackedResolvers) return null;
      this.offenders.set(resolver, (c = { attack: 0, total: 0, evidence: [] }));
    }
    c.total++;
    if (!attackLike) return null;
    c.attack++;
    return c.evidence.length < 3 ? c : null;
  }

  /** Resolvers with attack-like queries in the open offender window (an alert's onset). */
  *attackers(): Generator<[string, number]> {
    for (const [resolver, c] of this.offenders) if (c.attack > 0) yield [resolver, c.attack];
  }

  /** An alert started: the open windows belong to it. */
  alertStarted(alertId: string): void {
    this.offAlertId = alertId;
    this.statsHadAlert = alertId;
  }

  /** A closed tick: closes whichever window ends with it. `baselineQps` is null in warm-up. */
  closeTick(t: Tick, alertId: string | null, baselineQps: number | null, out: ZoneOutput): void {
    this.stats(t, alertId, baselineQps, out);
    this.offenderWindow(t, alertId, out);
  }

  private stats(t: Tick, alertId: string | null, baselineQps: number | null, out: ZoneOutput) {
    const s = this.s;
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
        topResolvers: this.statsTop.top(10).map((h) => ({ resolver: h.key, count: h.count })),
        allowlistedQueries: allow,
        meanRandomScore: round(scored > 0 ? Math.min(1, scoreSum / scored) : 0),
        alertId: this.statsHadAlert,
      });
    }
    this.statsStart = null;
    this.statsTicks = [];
    this.statsTop.clear();
    this.statsHadAlert = alertId;
  }

  private offenderWindow(t: Tick, alertId: string | null, out: ZoneOutput): void {
    const s = this.s;
    this.offStart ??= t.start;
    if (alertId) this.offAlertId = alertId;
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
    this.offAlertId = alertId;
  }

  toJSON(): WindowsJson {
    return {
      statsStart: this.statsStart,
      statsTicks: this.statsTicks.map(tickToJson),
      statsTop: this.statsTop.toJSON(),
      statsHadAlert: this.statsHadAlert,
      offStart: this.offStart,
      offenders: [...this.offenders],
      offAlertId: this.offAlertId,
    };
  }

  static fromJSON(zone: string, s: DetectorSettings, j: WindowsJson): ZoneWindows {
    const w = new ZoneWindows(zone, s);
    w.statsStart = j.statsStart;
    w.statsTicks = j.statsTicks.map(tickFromJson);
    w.statsTop = SpaceSaving.fromJSON(s.topK, j.statsTop);
    w.statsHadAlert = j.statsHadAlert;
    w.offStart = j.offStart;
    w.offenders = new Map(j.offenders);
    w.offAlertId = j.offAlertId;
    return w;
  }
}
