import {
  type Alert,
  type AlertPhase,
  type EnrichedOffender,
  type Severity,
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

export type AttackUpdate =
  { type: 'attack'; attack: AttackView } | { type: 'report'; alertId: string; report: ReportView };

export interface AttackBoardOptions {
  maxAttacks: number;
  maxResolversPerAttack: number;
  evidencePerResolver: number;
  /** A report is rebuilt at most this often per attack (buildReport is O(resolvers log resolvers)). */
  reportIntervalMs: number;
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

const MAX_SAMPLE_NAMES = 10;

/**
 * The attacks: each alert's latest state and its offenders aggregated per resolver, the rows the
 * enrichment service's report is built from (`buildReport`), so the console and `sluice report`
 * say the same of the same attack. At most `maxAttacks`, ended ones evicted first.
 */
export class AttackBoard {
  private readonly attacks = new Map<string, AttackState>();
  private dirty = new Set<string>();

  constructor(
    private readonly options: AttackBoardOptions,
    /** An attack evicted to stay within `maxAttacks` (the view reports it as removed). */
    private readonly onEvicted: (alertId: string) => void,
  ) {}

  /** Returns the attack's phase afterwards (an ended attack stays ended); `evict()` follows. */
  applyAlert(a: Alert): AttackView['phase'] {
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
    this.dirty.add(a.alertId);
    state.reportDirty = true;
    return v.phase;
  }

  /**
   * Adds the record to its resolver's row. False when it does not count: no alert, or a window
   * of that resolver already counted (a redelivery). True also when the resolver was not kept
   * because the attack has `maxResolversPerAttack` rows.
   */
  applyOffender(o: EnrichedOffender): boolean {
    if (o.alertId === null) return false;
    const state = this.attack(o.alertId, o.zone, o.windowStart);
    const last = state.lastWindow.get(o.resolver);
    if (last !== undefined && o.windowStart <= last) return false;
    const windowMs = Math.max(1, o.windowEnd - o.windowStart);
    const evidence = o.evidence
      .filter((e) => e.resolver === o.resolver)
      .slice(0, this.options.evidencePerResolver);
    const row = state.rows.get(o.resolver);
    if (!row) {
      if (state.rows.size >= this.options.maxResolversPerAttack) {
        state.view.resolversDropped++;
        return true;
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
    this.dirty.add(o.alertId);
    return true;
  }

  /**
   * Each attack changed since the last call; its report too, unless rebuilt less than
   * `reportIntervalMs` ago (then it stays due for a later call).
   */
  takeUpdates(now: number): AttackUpdate[] {
    const out: AttackUpdate[] = [];
    const still = new Set<string>();
    for (const id of this.dirty) {
      const a = this.attacks.get(id);
      if (!a) continue;
      out.push({ type: 'attack', attack: { ...a.view } });
      if (a.reportDirty) {
        if (now - a.reportBuiltAt >= this.options.reportIntervalMs) {
          out.push({ type: 'report', alertId: id, report: this.buildReportView(a, now) });
        } else still.add(id);
      }
    }
    this.dirty = still;
    return out;
  }

  /** The last report of every attack with resolvers (built now where there is none yet). */
  reports(now: number): Array<{ alertId: string; report: ReportView }> {
    const reports: Array<{ alertId: string; report: ReportView }> = [];
    for (const [alertId, a] of this.attacks) {
      if (a.rows.size === 0) continue;
      if (!a.report) a.report = this.buildReportView(a, now);
      reports.push({ alertId, report: a.report });
    }
    return reports;
  }

  /** Active attacks first, then the newest onset first. */
  views(): AttackView[] {
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

  /** See ConsoleView.evidence. */
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

  /** Oldest ended attacks go first; active ones stay even past the limit. */
  evict(): void {
    if (this.attacks.size <= this.options.maxAttacks) return;
    const ended = [...this.attacks.values()]
      .filter((a) => a.view.phase === 'ended')
      .sort((x, y) => (x.view.endedAt ?? x.view.at) - (y.view.endedAt ?? y.view.at));
    for (const a of ended) {
      if (this.attacks.size <= this.options.maxAttacks) break;
      this.attacks.delete(a.view.alertId);
      this.dirty.delete(a.view.alertId);
      this.onEvicted(a.view.alertId);
    }
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
}
