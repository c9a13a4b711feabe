import { type BlocklistEntry, type EnrichedOffender } from '@sluice/contracts';
import { type BlockPolicy, entryId, needsWrite, type Evaluation } from './core/policy';
import { maskBytes, parseIp, formatIp } from './core/ip';
import { type SubjectKind } from './core/scoring';
import { type BlocklistRepository } from './redis/blocklist.repository';
import { type ReputationRepository } from './redis/reputation.repository';

/** Something that follows the blocklist: Kafka (per change), RPZ and dnsdist (whole list). */
export interface BlocklistSink {
  readonly name: string;
  /** Per-change sinks get the changed entries and the removed ids. */
  changed?(upserts: readonly BlocklistEntry[], removed: readonly string[]): Promise<void>;
  /** Whole-list sinks get the complete current list (debounced). */
  refresh?(entries: readonly BlocklistEntry[]): Promise<void>;
}

export type ClockMode = 'wall' | 'event';

export interface PipelineSettings {
  clock: ClockMode;
  refreshStepMs: number;
  prefixFallbackV4: number;
  prefixFallbackV6: number;
  /** Debounce for whole-list sinks. */
  refreshDebounceMs: number;
  onError?: (error: unknown, where: string) => void;
}

export interface PipelineStats {
  records: number;
  duplicates: number;
  skipped: Record<string, number>;
  upserts: number;
  removed: number;
}

/**
 * Orchestrates one batch: fold into Redis → score → policy → blocklist store → sinks. No Nest
 * here, so the benchmark and the CLI can drive it directly.
 */
export class ReputationPipeline {
  private watermark = 0;
  private refreshTimer: NodeJS.Timeout | null = null;
  private refreshing: Promise<void> = Promise.resolve();
  readonly stats: PipelineStats = {
    records: 0,
    duplicates: 0,
    skipped: {},
    upserts: 0,
    removed: 0,
  };

  constructor(
    private readonly reputation: ReputationRepository,
    private readonly blocklist: BlocklistRepository,
    readonly policy: BlockPolicy,
    private readonly sinks: readonly BlocklistSink[],
    private readonly settings: PipelineSettings,
  ) {}

  /**
   * Policy time. Scores decay in event time (the records' windowEnd); blocks expire in policy
   * time: the wall clock by default (enforcement is real time, and blocks must lapse when records
   * stop coming), or the event watermark for replays and simulations (`clock=event`).
   */
  now(): number {
    return this.settings.clock === 'event' ? this.watermark : Math.max(Date.now(), this.watermark);
  }

  prefixOf(r: EnrichedOffender): string | null {
    if (r.enrichment.prefix !== null) return r.enrichment.prefix;
    // Per-subnet counting even without enrichment: the resolver's /24 (IPv4) or /48 (IPv6).
    try {
      const b = parseIp(r.resolver);
      const len = b.length === 4 ? this.settings.prefixFallbackV4 : this.settings.prefixFallbackV6;
      return `${formatIp(maskBytes(b, len))}/${len}`;
    } catch {
      return null;
    }
  }

  async ingest(input: readonly EnrichedOffender[]): Promise<void> {
    const records = input.filter((r) => {
      if (this.policy.isZoneAllowed(r.zone)) {
        this.skip('zone-allowlisted');
        return false;
      }
      return true;
    });
    if (records.length === 0) return;
    for (const r of records) if (r.windowEnd > this.watermark) this.watermark = r.windowEnd;
    const results = await this.reputation.fold(
      records,
      (r) => this.prefixOf(r),
      (r) => this.policy.isResolverProtected(this.contextOf(r, null)),
    );
    this.stats.records += records.length;
    // The latest evaluation per subject wins within a batch.
    const evals = new Map<string, Evaluation>();
    results.forEach((res, i) => {
      if (res.duplicate) this.stats.duplicates++;
      const r = records[i]!;
      const context = this.contextOf(r, res.prefix);
      for (const [kind, state] of Object.entries(res.states) as Array<
        [SubjectKind, (typeof res.states)[SubjectKind]]
      >) {
        if (!state) continue;
        const scope = this.policy.scopeOf(kind, context);
        if (scope) evals.set(entryId(scope), { kind, state, context });
      }
    });
    const now = this.now();
    const existing = await this.blocklist.get([...evals.keys()]);
    const upserts: BlocklistEntry[] = [];
    for (const [id, ev] of evals) {
      const prior = existing.get(id) ?? null;
      const d = this.policy.decide(ev, now, prior);
      if (d.entry === null) {
        this.skip(d.skipped ?? 'unknown');
        continue;
      }
      if (d.entry.scope.kind === 'asn') {
        const networks = await this.reputation.asnNetworks(d.entry.scope.asn, ev.state.ts);
        if (networks.length > 0) d.entry.networks = networks.sort();
      }
      if (needsWrite(prior, d.entry, this.settings.refreshStepMs)) upserts.push(d.entry);
    }
    if (upserts.length > 0) await this.commit(upserts, []);
  }

  /** Removes entries whose expiry passed (not refreshed by new evidence). */
  async sweep(): Promise<number> {
    const ids = await this.blocklist.expired(this.now());
    if (ids.length === 0) return 0;
    const removed = await this.commit([], ids);
    return removed;
  }

  private async commit(upserts: BlocklistEntry[], deletes: string[]): Promise<number> {
    const res = await this.blocklist.apply(upserts, deletes);
    const removedSet = new Set(res.removed);
    // An upsert dropped by the cap in the same step is published only as its tombstone.
    const kept = upserts.filter((e) => !removedSet.has(e.id));
    this.stats.upserts += kept.length;
    this.stats.removed += res.removed.length;
    for (const s of this.sinks) if (s.changed) await s.changed(kept, res.removed);
    if (kept.length > 0 || res.removed.length > 0) this.scheduleRefresh();
    return res.removed.length;
  }

  /** Pushes the whole list to RPZ/dnsdist sinks now (also used at start-up). */
  async refreshNow(): Promise<void> {
    const run = this.refreshing.then(async () => {
      const { entries } = await this.blocklist.snapshot({ validate: false });
      for (const s of this.sinks) if (s.refresh) await s.refresh(entries);
    });
    this.refreshing = run.catch(() => undefined);
    await run;
  }

  /** Resolves once pending whole-list refreshes are done (tests, shutdown). */
  async settle(): Promise<void> {
    if (this.refreshTimer !== null) {
      clearTimeout(this.refreshTimer);
      this.refreshTimer = null;
      await this.refreshNow();
    }
    await this.refreshing;
  }

  private scheduleRefresh(): void {
    if (this.refreshTimer !== null) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = null;
      void this.refreshNow().catch((e: unknown) => this.settings.onError?.(e, 'refresh'));
    }, this.settings.refreshDebounceMs);
  }

  private contextOf(r: EnrichedOffender, prefix: string | null) {
    return {
      resolver: r.resolver,
      zone: r.zone,
      prefix,
      asn: r.enrichment.asn,
      asOrg: r.enrichment.asOrg,
      resolverKind: r.enrichment.resolverKind,
      resolverOperator: r.enrichment.resolverOperator,
      alertId: r.alertId,
    };
  }

  private skip(reason: string): void {
    this.stats.skipped[reason] = (this.stats.skipped[reason] ?? 0) + 1;
  }
}
