import {
  type Alert,
  type AlertPhase,
  type BlocklistEntry,
  type EnrichedOffender,
  type Severity,
  type ZoneStats,
} from '@sluice/contracts';
import {
  type AlertSummary,
  type AttackReport,
  buildReport,
  forAsn,
  renderCsv,
  type ResolverAggregate,
  sectionData,
} from '@sluice/enrichment';
import {
  type BlocklistPage,
  type BlocklistQuery,
  type BlocklistSummary,
  BlocklistTable,
} from './blocklist-table';
import { EntryStops, type StopFigures } from './entry-stops';
import { type StageHealth } from './stage-health';

export interface ConsoleViewOptions {
  maxZones: number;
  timelinePoints: number;
  maxAttacks: number;
  maxResolversPerAttack: number;
  evidencePerResolver: number;
  maxBlocklist: number;
  /** A report is rebuilt at most this often per attack (buildReport is O(resolvers log resolvers)). */
  reportIntervalMs: number;
}

/** One detector window of a zone: what the timeline plots. */
export interface TimelinePoint {
  t: number;
  qps: number;
  baseline: number | null;
  neverSeen: number;
  nxdomain: number | null;
  failure: number | null;
  random: number;
  alertId: string | null;
}

export interface PhaseMark {
  t: number;
  phase: AlertPhase;
  alertId: string;
  severity: Severity;
}

export interface ZoneView {
  zone: string;
  points: TimelinePoint[];
  phases: PhaseMark[];
  activeAlertId: string | null;
  /** Event time of the latest window or alert. */
  updatedAt: number;
}

export interface AttackView {
  alertId: string;
  zone: string;
  /** `pending`: offenders arrived before the alert itself. */
  phase: AlertPhase | 'pending';
  severity: Severity | null;
  onset: number;
  at: number;
  endedAt: number | null;
  qps: number;
  peakQps: number;
  baselineQps: number;
  neverSeenRate: number;
  nxdomainShare: number | null;
  failureShare: number | null;
  randomShare: number;
  generator: string;
  alphabet: string;
  signals: string[];
  sampleNames: string[];
  resolvers: number;
  /** Resolvers not aggregated because the attack reached CONSOLE_MAX_RESOLVERS_PER_ATTACK. */
  resolversDropped: number;
}

/** The report as pushed to browsers: evidence stays on the server (exported per ASN on demand). */
export type ReportView = Omit<AttackReport, 'evidence'>;

export type ConsoleUpdate =
  | { type: 'zone'; zone: ZoneView }
  | {
      type: 'points';
      zone: string;
      points: TimelinePoint[];
      phases: PhaseMark[];
      activeAlertId: string | null;
    }
  | { type: 'attack'; attack: AttackView }
  | { type: 'report'; alertId: string; report: ReportView }
  | { type: 'blocklist'; summary: BlocklistSummary }
  | { type: 'health'; stages: StageHealth[] }
  | { type: 'removed'; kind: 'zone' | 'attack'; id: string };

/** A blocklist page as served: each row with what it stopped (see entry-stops.ts). */
export type BlocklistPageView = Omit<BlocklistPage, 'rows'> & {
  rows: Array<BlocklistPage['rows'][number] & { stopped: StopFigures }>;
  /** The event time "recent" is measured back from. */
  clock: number | null;
};

export interface ConsoleSnapshot {
  zones: ZoneView[];
  attacks: AttackView[];
  reports: Array<{ alertId: string; report: ReportView }>;
  blocklist: BlocklistSummary;
  health: StageHealth[];
}

interface ZoneState extends ZoneView {
  pending: TimelinePoint[];
  pendingPhases: PhaseMark[];
  /** An out-of-order window or a first push: send the whole zone, not an append. */
  resync: boolean;
}

interface AttackState {
  view: AttackView;
  rows: Map<string, ResolverAggregate>;
  /** Latest window start per resolver: a redelivered offender record is not counted twice. */
  lastWindow: Map<string, number>;
  reportDirty: boolean;
  reportBuiltAt: number;
  report: ReportView | null;
}

const MAX_PHASES = 200;
const MAX_SAMPLE_NAMES = 10;

/**
 * The console's bounded, in-memory picture of the low-volume topics. Pure: records in, view and
 * coalesced updates out; the caller supplies the wall clock (`now`) for report throttling only.
 * Every timestamp shown is event time from the records, so a replay looks like the real thing.
 */
export class ConsoleView {
  private readonly zones = new Map<string, ZoneState>();
  private readonly attacks = new Map<string, AttackState>();
  readonly blocklist: BlocklistTable;
  readonly stops = new EntryStops();
  private health: StageHealth[] = [];
  private dirtyZones = new Set<string>();
  private dirtyAttacks = new Set<string>();
  private removed: Array<{ kind: 'zone' | 'attack'; id: string }> = [];
  private blocklistDirty = false;
  private stopsPushed = 0;
  private healthDirty = false;

  constructor(private readonly options: ConsoleViewOptions) {
    this.blocklist = new BlocklistTable(options.maxBlocklist);
  }

  applyZoneStats(s: ZoneStats): void {
    const zone = this.zone(s.zone);
    const point: TimelinePoint = {
      t: s.windowStart,
      qps: s.qps,
      baseline: s.baselineQps,
      neverSeen: s.neverSeenRate,
      nxdomain: s.nxdomainShare,
      failure: s.failureShare ?? null,
      random: s.randomShare,
      alertId: s.alertId ?? null,
    };
    const last = zone.points[zone.points.length - 1];
    if (!last || last.t < point.t) {
      zone.points.push(point);
      zone.pending.push(point);
    } else {
      // Redelivered or late window: replace or insert in order, and resend the zone whole.
      const i = zone.points.findIndex((p) => p.t >= point.t);
      if (zone.points[i]?.t === point.t) zone.points[i] = point;
      else zone.points.splice(i, 0, point);
      zone.resync = true;
    }
    if (zone.points.length > this.options.timelinePoints)
      zone.points.splice(0, zone.points.length - this.options.timelinePoints);
    zone.updatedAt = Math.max(zone.updatedAt, s.windowEnd);
    this.dirtyZones.add(zone.zone);
    this.stops.advance(s.windowEnd);
  }

  applyAlert(a: Alert): void {
    const state = this.attack(a.alertId, a.zone, a.onset);
    const v = state.view;
    const newer = v.phase === 'pending' || a.at >= v.at;
    if (newer) {
      // An `updated` after `ended` (redelivery) must not reopen the attack.
      const phase = v.phase === 'ended' && a.phase !== 'ended' ? 'ended' : a.phase;
      Object.assign(v, {
        phase,
        severity: a.severity,
        onset: a.onset,
        at: a.at,
        endedAt: a.endedAt ?? v.endedAt,
        qps: a.qps,
        baselineQps: a.baselineQps,
        neverSeenRate: a.neverSeenRate,
        nxdomainShare: a.nxdomainShare,
        failureShare: a.failureShare ?? null,
        randomShare: a.randomShare,
        generator: a.fingerprint.generator,
        alphabet: a.fingerprint.alphabet,
        signals: a.signals ?? [],
      });
      if (a.sampleNames.length) v.sampleNames = a.sampleNames.slice(0, MAX_SAMPLE_NAMES);
    }
    v.peakQps = Math.max(v.peakQps, a.qps);
    this.dirtyAttacks.add(a.alertId);
    state.reportDirty = true;

    const zone = this.zone(a.zone);
    const prev = zone.phases.filter((p) => p.alertId === a.alertId).at(-1);
    const mark =
      !zone.phases.some((p) => p.alertId === a.alertId && p.phase === a.phase && p.t === a.at) &&
      (a.phase !== 'updated' || prev?.severity !== a.severity);
    if (mark) {
      const m: PhaseMark = { t: a.at, phase: a.phase, alertId: a.alertId, severity: a.severity };
      zone.phases.push(m);
      zone.phases.sort((x, y) => x.t - y.t);
      if (zone.phases.length > MAX_PHASES) zone.phases.shift();
      zone.pendingPhases.push(m);
    }
    if (a.phase === 'ended') {
      if (zone.activeAlertId === a.alertId) zone.activeAlertId = null;
    } else if (v.phase !== 'ended') zone.activeAlertId = a.alertId;
    zone.updatedAt = Math.max(zone.updatedAt, a.at);
    this.dirtyZones.add(zone.zone);
    this.evictAttacks();
  }

  applyOffender(o: EnrichedOffender): void {
    if (o.alertId === null) return;
    const state = this.attack(o.alertId, o.zone, o.windowStart);
    const last = state.lastWindow.get(o.resolver);
    if (last !== undefined && o.windowStart <= last) return;
    // After the de-duplication: a redelivered record must not count twice.
    if (this.stops.apply(o).length) this.blocklist.touchStops();
    const windowMs = Math.max(1, o.windowEnd - o.windowStart);
    const evidence = o.evidence
      .filter((e) => e.resolver === o.resolver)
      .slice(0, this.options.evidencePerResolver);
    const row = state.rows.get(o.resolver);
    if (!row) {
      if (state.rows.size >= this.options.maxResolversPerAttack) {
        state.view.resolversDropped++;
        return;
      }
      state.rows.set(o.resolver, {
        resolver: o.resolver,
        attackQueries: o.attackQueries,
        totalQueries: o.totalQueries,
        activeMs: windowMs,
        firstSeen: o.windowStart,
        lastSeen: o.windowEnd,
        peakQps: o.attackQueries / (windowMs / 1000),
        enrichment: o.enrichment,
        evidence,
      });
    } else {
      row.attackQueries += o.attackQueries;
      row.totalQueries += o.totalQueries;
      row.activeMs += windowMs;
      row.firstSeen = Math.min(row.firstSeen, o.windowStart);
      row.lastSeen = Math.max(row.lastSeen, o.windowEnd);
      row.peakQps = Math.max(row.peakQps, o.attackQueries / (windowMs / 1000));
      row.enrichment = o.enrichment;
      if (row.evidence.length < this.options.evidencePerResolver && evidence.length)
        row.evidence = [...row.evidence, ...evidence].slice(0, this.options.evidencePerResolver);
    }
    state.lastWindow.set(o.resolver, o.windowStart);
    state.view.resolvers = state.rows.size;
    state.reportDirty = true;
    this.dirtyAttacks.add(o.alertId);
  }

  applyBlocklist(id: string, entry: BlocklistEntry | null): void {
    if (this.blocklist.apply(id, entry)) this.blocklistDirty = true;
    if (entry !== null && this.blocklist.has(id)) this.stops.set(id, entry);
    else this.stops.delete(id);
  }

  /** One page of the blocklist with each row's stop figures. */
  blocklistPage(query: BlocklistQuery): BlocklistPageView {
    const page = this.blocklist.page(query);
    const clock = Number.isFinite(this.stops.clock) ? this.stops.clock : null;
    return {
      ...page,
      clock,
      rows: page.rows.map((r) => ({ ...r, stopped: this.stops.figures(r.id) })),
    };
  }

  setHealth(stages: StageHealth[]): void {
    this.health = stages;
    this.healthDirty = true;
  }

  /** What changed since the last call, coalesced: one message per zone/attack however many records. */
  takeUpdates(now: number): ConsoleUpdate[] {
    const out: ConsoleUpdate[] = [];
    for (const r of this.removed) out.push({ type: 'removed', ...r });
    this.removed = [];
    for (const name of this.dirtyZones) {
      const z = this.zones.get(name);
      if (!z) continue;
      if (z.resync) out.push({ type: 'zone', zone: zoneView(z) });
      else
        out.push({
          type: 'points',
          zone: z.zone,
          points: z.pending,
          phases: z.pendingPhases,
          activeAlertId: z.activeAlertId,
        });
      z.pending = [];
      z.pendingPhases = [];
      z.resync = false;
    }
    this.dirtyZones.clear();
    const still = new Set<string>();
    for (const id of this.dirtyAttacks) {
      const a = this.attacks.get(id);
      if (!a) continue;
      out.push({ type: 'attack', attack: { ...a.view } });
      if (a.reportDirty) {
        if (now - a.reportBuiltAt >= this.options.reportIntervalMs) {
          out.push({ type: 'report', alertId: id, report: this.buildReportView(a, now) });
        } else still.add(id);
      }
    }
    this.dirtyAttacks = still;
    const stopsVersion = this.blocklist.currentStopsVersion;
    if (this.blocklistDirty || stopsVersion !== this.stopsPushed)
      out.push({ type: 'blocklist', summary: this.blocklist.summary() });
    this.blocklistDirty = false;
    this.stopsPushed = stopsVersion;
    if (this.healthDirty) out.push({ type: 'health', stages: this.health });
    this.healthDirty = false;
    return out;
  }

  /** Everything a newly connected browser needs; later changes come from takeUpdates(). */
  snapshot(now: number): ConsoleSnapshot {
    const reports: ConsoleSnapshot['reports'] = [];
    for (const [alertId, a] of this.attacks) {
      if (a.rows.size === 0) continue;
      if (!a.report) a.report = this.buildReportView(a, now);
      reports.push({ alertId, report: a.report });
    }
    return {
      zones: [...this.zones.values()].map(zoneView),
      attacks: this.attackViews(),
      reports,
      blocklist: this.blocklist.summary(),
      health: this.health,
    };
  }

  attackViews(): AttackView[] {
    return [...this.attacks.values()]
      .map((a) => ({ ...a.view }))
      .sort(
        (x, y) => Number(x.phase === 'ended') - Number(y.phase === 'ended') || y.onset - x.onset,
      );
  }

  /** The full report of one attack (evidence included), built now. */
  report(alertId: string, now: number): AttackReport | null {
    const a = this.attacks.get(alertId);
    return a ? this.build(a, [...a.rows.values()], now, 20) : null;
  }

  /**
   * Abuse-desk evidence of one network in one attack, every resolver and every kept sample:
   * "at time X resolver Y asked for name Z". The CSV and JSON are the enrichment report's own
   * evidence section (`sluice report --section evidence --asn N`), so both tools agree.
   */
  evidence(
    alertId: string,
    asn: number | null,
    format: 'csv' | 'json',
    now: number,
  ): string | null {
    const a = this.attacks.get(alertId);
    if (!a) return null;
    const rows = [...a.rows.values()].filter((r) => (r.enrichment.asn ?? null) === asn);
    const report = this.build(a, rows, now, Number.MAX_SAFE_INTEGER);
    const one =
      asn === null
        ? { ...report, evidence: report.evidence.filter((g) => g.asn === null) }
        : forAsn(report, asn);
    return format === 'csv'
      ? renderCsv(one, 'evidence')
      : JSON.stringify(sectionData(one, 'evidence'), null, 2);
  }

  private buildReportView(a: AttackState, now: number): ReportView {
    const { evidence: _evidence, ...view } = this.build(a, [...a.rows.values()], now, 0);
    a.report = view;
    a.reportBuiltAt = now;
    a.reportDirty = false;
    return view;
  }

  private build(
    a: AttackState,
    rows: ResolverAggregate[],
    now: number,
    evidencePerAsn: number,
  ): AttackReport {
    const v = a.view;
    const alert: AlertSummary | null =
      v.phase === 'pending'
        ? null
        : {
            alertId: v.alertId,
            zone: v.zone,
            phase: v.phase,
            severity: v.severity ?? 'low',
            onset: v.onset,
            endedAt: v.endedAt,
            peakQps: v.peakQps,
            generator: v.generator,
          };
    return buildReport(rows, {
      scope: { kind: 'alert', alertId: v.alertId, zone: v.zone },
      alert,
      now,
      evidencePerAsn,
    });
  }

  private zone(name: string): ZoneState {
    let z = this.zones.get(name);
    if (!z) {
      z = {
        zone: name,
        points: [],
        phases: [],
        activeAlertId: null,
        updatedAt: 0,
        pending: [],
        pendingPhases: [],
        resync: true,
      };
      this.zones.set(name, z);
      this.evictZones(name);
    }
    return z;
  }

  private attack(alertId: string, zone: string, onset: number): AttackState {
    let a = this.attacks.get(alertId);
    if (!a) {
      a = {
        view: {
          alertId,
          zone,
          phase: 'pending',
          severity: null,
          onset,
          at: onset,
          endedAt: null,
          qps: 0,
          peakQps: 0,
          baselineQps: 0,
          neverSeenRate: 0,
          nxdomainShare: null,
          failureShare: null,
          randomShare: 0,
          generator: 'unknown',
          alphabet: '',
          signals: [],
          sampleNames: [],
          resolvers: 0,
          resolversDropped: 0,
        },
        rows: new Map(),
        lastWindow: new Map(),
        reportDirty: false,
        reportBuiltAt: Number.NEGATIVE_INFINITY,
        report: null,
      };
      this.attacks.set(alertId, a);
    }
    return a;
  }

  /** Oldest ended attacks go first; active ones stay even past the limit. */
  private evictAttacks(): void {
    if (this.attacks.size <= this.options.maxAttacks) return;
    const ended = [...this.attacks.values()]
      .filter((a) => a.view.phase === 'ended')
      .sort((x, y) => (x.view.endedAt ?? x.view.at) - (y.view.endedAt ?? y.view.at));
    for (const a of ended) {
      if (this.attacks.size <= this.options.maxAttacks) break;
      this.attacks.delete(a.view.alertId);
      this.dirtyAttacks.delete(a.view.alertId);
      this.removed.push({ kind: 'attack', id: a.view.alertId });
    }
  }

  /** Least recently updated zones without an active attack go first. */
  private evictZones(keep: string): void {
    if (this.zones.size <= this.options.maxZones) return;
    const quiet = [...this.zones.values()]
      .filter((z) => z.activeAlertId === null && z.zone !== keep)
      .sort((x, y) => x.updatedAt - y.updatedAt);
    for (const z of quiet) {
      if (this.zones.size <= this.options.maxZones) break;
      this.zones.delete(z.zone);
      this.dirtyZones.delete(z.zone);
      this.removed.push({ kind: 'zone', id: z.zone });
    }
  }
}

function zoneView(z: ZoneState): ZoneView {
  return {
    zone: z.zone,
    points: z.points,
    phases: z.phases,
    activeAlertId: z.activeAlertId,
    updatedAt: z.updatedAt,
  };
}
