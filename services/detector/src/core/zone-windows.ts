import { type Evidence } from '@sluice/contracts';
import { round } from './fingerprint';
import { type DetectorSettings } from './settings';
import { ResolverCounts } from './resolver-counts';
import { ResolverIds } from './resolver-ids';
import { type HeavyHitter } from './space-saving';
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
  /**
   * The stats window's queries per resolver, exact (a space-saving top cost ~8 % of the
   * detector, and its counts were upper bounds). Bounded like the offender window, by
   * maxTrackedResolvers per window (a resolver first seen past that is not ranked).
   */
  private readonly statsCounts: ResolverCounts;
  private statsHadAlert: string | null = null;
  private offStart: number | null = null;
  /**
   * The offender window's counts by resolver id (total 0: not tracked), and the ids in the order
   * they came. Typed arrays, not an object per resolver and window: every query passes here.
   */
  private offTotal = new Int32Array(64);
  private offAttack = new Int32Array(64);
  /** Evidence by resolver id, made only for resolvers with attack-like queries. */
  private offEvidence: (Evidence[] | undefined)[] = [];
  private offenderIds: number[] = [];
  private offAlertId: string | null = null;

  constructor(
    private readonly zone: string,
    private readonly s: DetectorSettings,
    readonly ids: ResolverIds = new ResolverIds(),
  ) {
    this.statsCounts = new ResolverCounts(s.maxTrackedResolvers);
  }

  /** Nothing held: no open stats window, no offenders counted. */
  get idle(): boolean {
    return this.statsTicks.length === 0 && this.offenderIds.length === 0;
  }

  /** Resolvers the windows hold (ids in use). */
  get tracked(): number {
    return this.statsCounts.size + this.offenderIds.length;
  }

  /** One query's resolver (its id), for the stats window's top resolvers. */
  seenResolver(id: number): void {
    this.statsCounts.add(id);
  }

  /**
   * One query's resolver (its id) in the offender window. Returns the resolver's evidence when an
   * attack-like query still wants some (the caller adds it: it holds the name), else null.
   */
  countOffender(id: number, attackLike: boolean): Evidence[] | null {
    if (id >= this.offTotal.length) this.widenOffenders(id);
    const total = this.offTotal[id]!;
    if (total === 0) {
      if (this.offenderIds.length >= this.s.maxTrackedResolvers) return null;
      this.offenderIds.push(id);
    }
    this.offTotal[id] = total + 1;
    if (!attackLike) return null;
    this.offAttack[id]!++;
    let evidence = this.offEvidence[id];
    if (evidence === undefined) {
      // Grown one by one: an array written far past its end turns into a slow dictionary.
      while (this.offEvidence.length <= id) this.offEvidence.push(undefined);
      this.offEvidence[id] = evidence = [];
    }
    return evidence.length < 3 ? evidence : null;
  }

  /**
   * Resolvers (by id) with attack-like queries in the open offender window, in the order they
   * came, and how many: an alert's onset seeds its top with them.
   */
  *attackers(): Generator<[id: number, attack: number]> {
    for (const id of this.offenderIds) {
      const attack = this.offAttack[id]!;
      if (attack > 0) yield [id, attack];
    }
  }

  /** The offender window's counts by name, in the order the resolvers came. */
  private offenderList(): [string, OffenderCount][] {
    return this.offenderIds.map((id) => [this.ids.names[id]!, this.offenderCount(id)]);
  }

  private offenderCount(id: number): OffenderCount {
    const evidence = id < this.offEvidence.length ? this.offEvidence[id] : undefined;
    return { attack: this.offAttack[id]!, total: this.offTotal[id]!, evidence: evidence ?? [] };
  }

  private widenOffenders(id: number): void {
    this.offTotal = widened(this.offTotal, id);
    this.offAttack = widened(this.offAttack, id);
  }

  private track(id: number, c: OffenderCount): void {
    if (id >= this.offTotal.length) this.widenOffenders(id);
    this.offTotal[id] = c.total;
    this.offAttack[id] = c.attack;
    if (c.evidence.length > 0 || c.attack > 0) {
      while (this.offEvidence.length <= id) this.offEvidence.push(undefined);
      this.offEvidence[id] = c.evidence;
    }
    this.offenderIds.push(id);
  }

  private clearOffenders(): void {
    for (const id of this.offenderIds) {
      this.offTotal[id] = 0;
      this.offAttack[id] = 0;
      if (id < this.offEvidence.length) this.offEvidence[id] = undefined;
    }
    this.offenderIds = [];
  }

  /**
   * Re-id what the windows hold after `ids` was reset (the zone compacts its table): names in,
   * new ids out, same order — the counters and their tie-breaks are untouched.
   */
  reidentify(names: readonly string[]): void {
    this.statsCounts.reidentify(names, (name) => this.ids.id(name));
    const offenders = this.offenderIds.map((id) => [names[id]!, this.offenderCount(id)] as const);
    this.clearOffenders();
    this.offEvidence = [];
    for (const [name, c] of offenders) this.track(this.ids.id(name), c);
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
        topResolvers: this.statsCounts
          .top(10, this.ids.names)
          .map((h) => ({ resolver: h.key, count: h.count })),
        allowlistedQueries: allow,
        meanRandomScore: round(scored > 0 ? Math.min(1, scoreSum / scored) : 0),
        alertId: this.statsHadAlert,
      });
    }
    this.statsStart = null;
    this.statsTicks = [];
    this.statsCounts.clear();
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
      const ranked = this.offenderList()
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
    this.clearOffenders();
    this.offAlertId = alertId;
  }

  toJSON(): WindowsJson {
    return {
      statsStart: this.statsStart,
      statsTicks: this.statsTicks.map(tickToJson),
      statsTop: this.statsCounts.list(this.ids.names),
      statsHadAlert: this.statsHadAlert,
      offStart: this.offStart,
      offenders: this.offenderList(),
      offAlertId: this.offAlertId,
    };
  }

  static fromJSON(
    zone: string,
    s: DetectorSettings,
    j: WindowsJson,
    ids: ResolverIds = new ResolverIds(),
  ): ZoneWindows {
    const w = new ZoneWindows(zone, s, ids);
    w.statsStart = j.statsStart;
    w.statsTicks = j.statsTicks.map(tickFromJson);
    // A checkpoint from the space-saving top holds its counters (upper bounds): taken as counts.
    for (const h of j.statsTop) w.statsCounts.add(ids.id(h.key), h.count);
    w.statsHadAlert = j.statsHadAlert;
    w.offStart = j.offStart;
    for (const [resolver, c] of j.offenders) w.track(ids.id(resolver), c);
    w.offAlertId = j.offAlertId;
    return w;
  }
}

/** A copy of `a` with room for index `id` (doubling). */
function widened(a: Int32Array, id: number) {
  const next = new Int32Array(Math.max(id + 1, a.length * 2));
  next.set(a);
  return next;
}
