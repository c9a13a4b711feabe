import {
  type Alert,
  type BlocklistEntry,
  type EnrichedOffender,
  type KnownNames,
} from '@sluice/contracts';
import { type BlockPolicy, needsWrite, type Evaluation } from './core/policy';
import { formatNetwork, maskBytes, normaliseName, parseIpBytes } from '@sluice/dns';
import { entryId, scopeZone } from './core/scope';
import { type SubjectKind, type SubjectState } from './core/scoring';
import { decideGuard, guardChanged, type GuardSettings } from './core/zone-guard';
import { type BlocklistRepository } from './redis/blocklist.repository';
import { type GuardRepository } from './redis/guard.repository';
import { type FoldResult, type ReputationRepository } from './redis/reputation.repository';
import { BlocklistOutputs, type BlocklistSink } from './blocklist-outputs';
import { type ClockMode, PolicyClock } from './core/policy-clock';

export { type BlocklistSink } from './blocklist-outputs';
export { type ClockMode } from './core/policy-clock';

export interface PipelineSettings {
  clock: ClockMode;
  autoEventLagMs: number;
  refreshStepMs: number;
  prefixFallbackV4: number;
  prefixFallbackV6: number;
  /** Enrichment prefixes wider than these (from coarse packaged range data) are narrowed. */
  maxPrefixV4: number;
  maxPrefixV6: number;
  /** Debounce for whole-list sinks. */
  refreshDebounceMs: number;
  guard: GuardSettings;
  /** Names from each zone's own data (zone file), keyed by zone. */
  zoneData: ReadonlyMap<string, { source: string; names: readonly string[] }>;
  onError?: (error: unknown, where: string) => void;
  onClock?: (zone: string, mode: 'event' | 'wall', lagMs: number) => void;
}

export interface PipelineStats {
  records: number;
  duplicates: number;
  skipped: Record<string, number>;
  upserts: number;
  removed: number;
  guards: number;
  /** Subjects evicted by REPUTATION_MAX_SUBJECTS (lowest scores first). */
  evicted: number;
}

/**
 * Orchestrates one batch: fold into Redis → score → policy → blocklist store → sinks; and the
 * zone guards, which follow the detector's alerts. No Nest here, so the benchmark and the CLI can
 * drive it directly.
 */
export class ReputationPipeline {
  private readonly clock: PolicyClock;
  private readonly outputs: BlocklistOutputs;
  readonly stats: PipelineStats = {
    records: 0,
    duplicates: 0,
    skipped: {},
    upserts: 0,
    removed: 0,
    guards: 0,
    evicted: 0,
  };

  constructor(
    private readonly reputation: ReputationRepository,
    private readonly blocklist: BlocklistRepository,
    readonly policy: BlockPolicy,
    sinks: readonly BlocklistSink[],
    private readonly settings: PipelineSettings,
    private readonly guards: GuardRepository,
  ) {
    this.clock = new PolicyClock(settings.clock, settings.autoEventLagMs, settings.onClock);
    this.outputs = new BlocklistOutputs(
      blocklist,
      sinks,
      settings.refreshDebounceMs,
      settings.onError,
    );
  }

  /** Policy time for a zone's entries (or for outright entries, zone null): see PolicyClock. */
  now(zone: string | null = null): number {
    return this.clock.now(zone);
  }

  /**
   * prefixOf per resolver, remembered (with the enrichment prefix it was derived from): a
   * resolver offends window after window, and parsing and formatting its network each time was a
   * visible share of the per-record cost. Bounded: cleared when it reaches 200,000 resolvers.
   */
  private readonly prefixes = new Map<string, { from: string | null; prefix: string | null }>();

  prefixOf(r: EnrichedOffender): string | null {
    const hit = this.prefixes.get(r.resolver);
    if (hit !== undefined && hit.from === r.enrichment.prefix) return hit.prefix;
    const prefix = this.computePrefixOf(r);
    if (this.prefixes.size >= 200_000) this.prefixes.clear();
    this.prefixes.set(r.resolver, { from: r.enrichment.prefix, prefix });
    return prefix;
  }

  private computePrefixOf(r: EnrichedOffender): string | null {
    const ip = parseIpBytes(r.resolver);
    if (ip === null) return r.enrichment.prefix;
    const v4 = ip.length === 4;
    const max = v4 ? this.settings.maxPrefixV4 : this.settings.maxPrefixV6;
    if (r.enrichment.prefix !== null) {
      // Packaged range data is coarser than routing (4.2.2.2 sits in a /14): never wider than
      // the configured maximum, so a block never covers a network nobody announced as one.
      const len = Number(r.enrichment.prefix.split('/')[1]);
      if (Number.isFinite(len) && len >= max) return r.enrichment.prefix;
      return formatNetwork({ bytes: maskBytes(ip, max), prefixLength: max });
    }
    // Per-subnet counting even without enrichment: the resolver's /24 (IPv4) or /48 (IPv6).
    const len = v4 ? this.settings.prefixFallbackV4 : this.settings.prefixFallbackV6;
    const prefixLength = Math.max(len, max);
    return formatNetwork({ bytes: maskBytes(ip, prefixLength), prefixLength });
  }

  /**
   * Records are folded and decided one offender window at a time (grouped by windowEnd), each
   * at its zone's clock after that window: an entry's start does not depend on where Kafka
   * happened to cut the batches.
   */
  async ingest(input: readonly EnrichedOffender[]): Promise<void> {
    const records = input.filter((r) => {
      if (this.policy.isZoneAllowed(r.zone)) {
        this.skip('zone-allowlisted');
        return false;
      }
      return true;
    });
    const byWindow = new Map<number, EnrichedOffender[]>();
    for (const r of records) {
      let list = byWindow.get(r.windowEnd);
      if (!list) byWindow.set(r.windowEnd, (list = []));
      list.push(r);
    }
    for (const end of [...byWindow.keys()].sort((a, b) => a - b))
      await this.ingestWindow(byWindow.get(end)!);
  }

  private async ingestWindow(records: readonly EnrichedOffender[]): Promise<void> {
    for (const r of records) this.clock.advance(normaliseName(r.zone), r.windowEnd);
    // One context per record (its prefix is the fold's, from the same prefixOf).
    const contexts = new Map<EnrichedOffender, ReturnType<ReputationPipeline['contextOf']>>();
    const contextOf = (r: EnrichedOffender) => {
      let c = contexts.get(r);
      if (c === undefined) contexts.set(r, (c = this.contextOf(r, this.prefixOf(r))));
      return c;
    };
    const results = await this.reputation.fold(
      records,
      (r) => this.prefixOf(r),
      (r) => this.policy.isResolverProtected(contextOf(r)),
    );
    this.stats.records += records.length;
    this.stats.evicted = this.reputation.evicted;
    // The latest evaluation per subject wins within a window.
    const evals = new Map<string, Evaluation>();
    // A subject shared by many records (a prefix, an ASN) comes back as one state object per
    // fold chunk: its entry id is made once, not once per record.
    const idOf = new Map<SubjectState, { kind: SubjectKind; id: string | null }>();
    results.forEach((res, i) => {
      if (res.duplicate) this.stats.duplicates++;
      const r = records[i]!;
      const context = contextOf(r);
      // In the fold's order (resolver-zone, resolver, prefix, prefix-zone, asn, asn-zone).
      for (const k in res.states) {
        const kind = k as SubjectKind;
        const state = res.states[kind];
        if (!state) continue;
        let id: string | null;
        const known = idOf.get(state);
        if (known !== undefined && known.kind === kind) id = known.id;
        else {
          const scope = this.policy.scopeOf(kind, context);
          id = scope ? entryId(scope) : null;
          idOf.set(state, { kind, id });
        }
        if (id === null) continue;
        // The latest record's evaluation wins; the subject keeps its first position.
        const prior = evals.get(id);
        if (prior === undefined) evals.set(id, { kind, state, context });
        else {
          prior.state = state;
          prior.context = context;
        }
      }
    });
    const existing = await this.blocklist.get([...evals.keys()], { validate: false });
    const decided: Array<{ prior: BlocklistEntry | null; entry: BlocklistEntry; ts: number }> = [];
    for (const [id, ev] of evals) {
      const prior = existing.get(id) ?? null;
      const scope = this.policy.scopeOf(ev.kind, ev.context);
      const d = this.policy.decide(ev, this.now(scope ? scopeZone(scope) : null), prior);
      if (d.entry === null) {
        this.skip(d.skipped ?? 'unknown');
        continue;
      }
      existing.set(id, d.entry);
      decided.push({ prior, entry: d.entry, ts: ev.state.ts });
    }
    // ASN entries carry their offending networks: read for all of them in one round trip.
    const asnEntries = decided.filter(
      ({ entry: { scope: s } }) => s.kind === 'asn' || s.kind === 'asn-zone',
    );
    const networks =
      asnEntries.length === 0
        ? []
        : await this.reputation.asnNetworksMany(
            asnEntries.map(({ entry, ts }) => ({
              asn: (entry.scope as { asn: number }).asn,
              now: ts,
            })),
          );
    asnEntries.forEach(({ entry }, i) => {
      const n = networks[i]!;
      if (n.length > 0) entry.networks = n.sort();
    });
    const upserts: BlocklistEntry[] = [];
    for (const { prior, entry } of decided)
      if (needsWrite(prior, entry, this.settings.refreshStepMs)) upserts.push(entry);
    if (upserts.length > 0) await this.commit(upserts, []);
    await this.widenGuards(records, results, idOf, existing);
  }

  /**
   * For each zone whose guard still covers only offending resolvers: how much of this window's
   * flood came from resolvers no entry covers. Too much → the guard applies to every client.
   */
  private async widenGuards(
    records: readonly EnrichedOffender[],
    results: readonly FoldResult[],
    idOf: ReadonlyMap<SubjectState, { id: string | null }>,
    entries: ReadonlyMap<string, BlocklistEntry>,
  ): Promise<void> {
    const perZone = new Map<
      string,
      { attack: number; leaked: number; secs: number; alertId: string | null }
    >();
    // A record is covered by an enforced entry of its (resolver, zone), (prefix, zone) or
    // (ASN, zone): their ids were named once per subject in ingestWindow (a prefix-zone or
    // asn-zone state exists exactly when the record has a prefix or an ASN).
    const enforced = (state: SubjectState | undefined): boolean => {
      const id = state === undefined ? null : (idOf.get(state)?.id ?? null);
      const e = id === null ? undefined : entries.get(id);
      return e !== undefined && !e.shadow;
    };
    records.forEach((r, i) => {
      const zone = normaliseName(r.zone);
      const states = results[i]!.states;
      const covered =
        enforced(states['resolver-zone']) ||
        enforced(states['prefix-zone']) ||
        enforced(states['asn-zone']);
      let z = perZone.get(zone);
      if (!z)
        perZone.set(
          zone,
          (z = {
            attack: 0,
            leaked: 0,
            secs: (r.windowEnd - r.windowStart) / 1000,
            alertId: r.alertId,
          }),
        );
      z.attack += r.attackQueries;
      if (!covered) z.leaked += r.attackQueries;
    });
    for (const [zone, z] of perZone) {
      if (z.attack === 0) continue;
      const leak = {
        qps: z.leaked / Math.max(z.secs, 1),
        share: z.leaked / z.attack,
        alertId: z.alertId,
      };
      await this.guards.setLeak(zone, leak);
      await this.decideGuard(zone);
    }
  }

  /** sluice.alerts.v1: the guard follows the alert (started → on, ended → hold, then off). */
  async onAlert(alert: Alert): Promise<void> {
    const zone = normaliseName(alert.zone);
    this.clock.advance(zone, alert.at);
    if (this.policy.isZoneAllowed(zone)) return;
    await this.guards.setAlert(zone, alert);
    await this.decideGuard(zone);
  }

  /** sluice.known-names.v1: the names the guard answers. */
  async onKnownNames(names: KnownNames): Promise<void> {
    const zone = normaliseName(names.zone);
    await this.guards.setNames(zone, names);
    await this.decideGuard(zone);
  }

  private async decideGuard(zone: string): Promise<void> {
    const inputs = await this.guards.inputs(zone);
    if (inputs === null) return;
    const id = entryId({ kind: 'zone', zone });
    const prior = (await this.blocklist.get([id])).get(id) ?? null;
    const next = decideGuard(
      { ...inputs, zoneData: this.settings.zoneData.get(zone) ?? null },
      prior,
      this.now(zone),
      this.settings.guard,
    );
    if (next === null || !guardChanged(prior, next, this.settings.refreshStepMs)) return;
    if (prior === null || prior.guard?.alertId !== next.guard?.alertId) this.stats.guards++;
    await this.commit([next], []);
  }

  /** Removes entries whose expiry passed (not refreshed by new evidence). */
  async sweep(): Promise<number> {
    // Candidates by the latest clock any zone has; each is then held to its own zone's clock.
    let latest = this.now(null);
    for (const zone of this.clock.zones()) latest = Math.max(latest, this.now(zone));
    const candidates = await this.blocklist.expired(latest);
    if (candidates.length === 0) return 0;
    const entries = await this.blocklist.get(candidates);
    const ids = candidates.filter((id) => {
      const e = entries.get(id);
      return e === undefined || e.expiresAt <= this.now(scopeZone(e.scope));
    });
    if (ids.length === 0) return 0;
    return this.commit([], ids);
  }

  private async commit(upserts: BlocklistEntry[], deletes: string[]): Promise<number> {
    const res = await this.blocklist.apply(upserts, deletes);
    const removedSet = new Set(res.removed);
    // An upsert dropped by the cap in the same step is published only as its tombstone.
    const kept = upserts.filter((e) => !removedSet.has(e.id));
    this.stats.upserts += kept.length;
    this.stats.removed += res.removed.length;
    await this.outputs.changed(kept, res.removed);
    return res.removed.length;
  }

  /** Pushes the whole list to RPZ/dnsdist sinks now (also used at start-up). */
  refreshNow(): Promise<void> {
    return this.outputs.refreshNow();
  }

  /** Resolves once pending whole-list refreshes are done (tests, shutdown). */
  settle(): Promise<void> {
    return this.outputs.settle();
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
