import {
  type Alert,
  type BlocklistEntry,
  type EnrichedOffender,
  type ZoneStats,
} from '@sluice/contracts';
import { type AttackReport } from '@sluice/enrichment';
import { AttackBoard, type AttackUpdate, type AttackView, type ReportView } from './attack-board';
import {
  type BlocklistPage,
  type BlocklistQuery,
  type BlocklistSummary,
  BlocklistTable,
} from './blocklist-table';
import { EntryStops, type StopFigures } from './entry-stops';
import { type StageHealth } from './stage-health';
import { type ZoneUpdate, type ZoneView, ZoneTimelines } from './zone-timelines';

export type { AttackView, ReportView } from './attack-board';
export type { PhaseMark, TimelinePoint, ZoneView } from './zone-timelines';

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

export type ConsoleUpdate =
  | ZoneUpdate
  | AttackUpdate
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

/**
 * The console's bounded, in-memory picture of the low-volume topics. Pure: records in, view and
 * coalesced updates out; the caller supplies the wall clock (`now`) for report throttling only.
 * Every timestamp shown is event time from the records, so a replay looks like the real thing.
 * Zones' timelines are `zone-timelines.ts`, attacks and their reports `attack-board.ts`, the
 * blocklist `blocklist-table.ts` with what each entry stopped (`entry-stops.ts`).
 */
export class ConsoleView {
  private readonly zones: ZoneTimelines;
  private readonly attacks: AttackBoard;
  readonly blocklist: BlocklistTable;
  readonly stops = new EntryStops();
  private health: StageHealth[] = [];
  /** Zones and attacks evicted since the last update, in the order they went. */
  private removed: Array<{ kind: 'zone' | 'attack'; id: string }> = [];
  private blocklistDirty = false;
  private stopsPushed = 0;
  private healthDirty = false;

  constructor(options: ConsoleViewOptions) {
    this.zones = new ZoneTimelines(options.maxZones, options.timelinePoints, (id) =>
      this.removed.push({ kind: 'zone', id }),
    );
    this.attacks = new AttackBoard(options, (id) => this.removed.push({ kind: 'attack', id }));
    this.blocklist = new BlocklistTable(options.maxBlocklist);
  }

  applyZoneStats(s: ZoneStats): void {
    this.zones.applyStats(s);
    this.stops.advance(s.windowEnd);
  }

  applyAlert(a: Alert): void {
    const phase = this.attacks.applyAlert(a);
    this.zones.applyAlert(a, phase);
    // After the zone's: a zone evicted for this alert is reported removed before an attack.
    this.attacks.evict();
  }

  applyOffender(o: EnrichedOffender): void {
    // Only a record the attack counted: a redelivered one must not count twice.
    if (this.attacks.applyOffender(o) && this.stops.apply(o).length) this.blocklist.touchStops();
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
    const out: ConsoleUpdate[] = this.removed.map((r) => ({ type: 'removed', ...r }));
    this.removed = [];
    out.push(...this.zones.takeUpdates(), ...this.attacks.takeUpdates(now));
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
    const reports = this.attacks.reports(now);
    return {
      zones: this.zones.views(),
      attacks: this.attacks.views(),
      reports,
      blocklist: this.blocklist.summary(),
      health: this.health,
    };
  }

  attackViews(): AttackView[] {
    return this.attacks.views();
  }

  /** The full report of one attack (evidence included), built now. */
  report(alertId: string, now: number): AttackReport | null {
    return this.attacks.report(alertId, now);
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
    return this.attacks.evidence(alertId, asn, format, now);
  }
}
