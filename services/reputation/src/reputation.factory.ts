import { type Redis } from 'ioredis';
import { ZoneNamesSource } from './guard/zone-names.source';
import { GuardRepository } from './redis/guard.repository';
import { BlockPolicy, type PolicyConfig } from './core/policy';
import { type ReputationConfig } from './config/reputation.config';
import { BlocklistRepository } from './redis/blocklist.repository';
import { ReputationRepository } from './redis/reputation.repository';
import { ReputationPipeline, type BlocklistSink } from './reputation.pipeline';

export function policyConfigFrom(c: ReputationConfig): PolicyConfig {
  return {
    halfLifeMs: c.REPUTATION_HALF_LIFE_MS,
    minAttackQueries: c.REPUTATION_MIN_ATTACK_QUERIES,
    rollupMinResolvers: c.REPUTATION_ROLLUP_MIN_RESOLVERS,
    resolverMinZones: c.REPUTATION_RESOLVER_MIN_ZONES,
    thresholds: {
      'resolver-zone': c.BLOCK_THRESHOLD_RESOLVER_ZONE,
      resolver: c.BLOCK_THRESHOLD_RESOLVER,
      prefix: c.BLOCK_THRESHOLD_PREFIX,
      asn: c.BLOCK_THRESHOLD_ASN,
      'prefix-zone': c.BLOCK_THRESHOLD_PREFIX_ZONE,
      'asn-zone': c.BLOCK_THRESHOLD_ASN_ZONE,
    },
    actions: {
      'resolver-zone': c.BLOCK_ACTION_RESOLVER_ZONE,
      resolver: c.BLOCK_ACTION_RESOLVER,
      prefix: c.BLOCK_ACTION_PREFIX,
      asn: c.BLOCK_ACTION_ASN,
      'prefix-zone': c.BLOCK_ACTION_PREFIX_ZONE,
      'asn-zone': c.BLOCK_ACTION_ASN_ZONE,
    },
    entryTtlMs: c.BLOCK_TTL_MS,
    shadow: c.BLOCK_SHADOW,
    outrightNetworks: c.BLOCK_OUTRIGHT_NETWORKS,
    outrightResolvers: c.BLOCK_OUTRIGHT_RESOLVERS,
    legitMinQueries: c.REPUTATION_LEGIT_MIN_QUERIES,
    guardsEnabled: c.GUARD_ENABLED,
    maxEntries: c.BLOCK_MAX_ENTRIES,
    allowNetworks: c.ALLOWLIST_NETWORKS,
    allowAsns: c.ALLOWLIST_ASNS,
    allowZones: c.ALLOWLIST_ZONES,
  };
}

/** What the pipeline writes and the feed reads: scores, the blocklist and the policy. */
export interface ReputationStores {
  reputation: ReputationRepository;
  blocklist: BlocklistRepository;
  policy: BlockPolicy;
}

/** The repositories and the policy from config (no I/O: Redis may connect later). */
export function createStores(c: ReputationConfig, redis: Redis): ReputationStores {
  const hl = c.REPUTATION_HALF_LIFE_MS;
  const reputation = new ReputationRepository(redis, {
    halfLifeMs: hl,
    evidenceCap: c.REPUTATION_EVIDENCE_PER_SUBJECT,
    // Members (zones, resolvers) count while they offended within two half-lives.
    memberWindowMs: 2 * hl,
    // Long enough that a score has decayed to nothing (20 half-lives ≈ 1e-6), at least a day.
    keyTtlMs: Math.max(20 * hl, 24 * 3600_000),
    maxSubjectsPerKind: c.REPUTATION_MAX_SUBJECTS,
    maxMembers: c.REPUTATION_MAX_MEMBERS,
    offenderMinRatio: c.REPUTATION_OFFENDER_MIN_RATIO,
    legitMinQueries: c.REPUTATION_LEGIT_MIN_QUERIES,
    // Off, the policy skips every outright prefix/ASN subject: nothing to keep for it.
    outrightSubjects: c.BLOCK_OUTRIGHT_NETWORKS,
  });
  const blocklist = new BlocklistRepository(redis, {
    maxEntries: c.BLOCK_MAX_ENTRIES,
    logMaxLen: Math.max(100_000, 2 * c.BLOCK_MAX_ENTRIES),
  });
  return { reputation, blocklist, policy: new BlockPolicy(policyConfigFrom(c)) };
}

export interface PipelineOptions {
  onError?: (e: unknown, where: string) => void;
  onClock?: (zone: string, mode: 'event' | 'wall', lagMs: number) => void;
  zoneNames?: ZoneNamesSource;
  /** Stores built earlier (the runtime builds them before it starts, for the feed). */
  stores?: ReputationStores;
}

/** Builds repositories, policy and pipeline from config: shared by the runtime, tests and the bench. */
export function createPipeline(
  c: ReputationConfig,
  redis: Redis,
  sinks: BlocklistSink[],
  options: PipelineOptions = {},
): {
  pipeline: ReputationPipeline;
  blocklist: BlocklistRepository;
  reputation: ReputationRepository;
} {
  const { reputation, blocklist, policy } = options.stores ?? createStores(c, redis);
  const zoneNames =
    options.zoneNames ??
    new ZoneNamesSource(c.GUARD_ZONE_FILES, c.GUARD_ZONE_AXFR, c.RPZ_TSIG_KEYS, c.GUARD_MAX_NAMES);
  const pipeline = new ReputationPipeline(
    reputation,
    blocklist,
    policy,
    sinks,
    {
      clock: c.REPUTATION_CLOCK,
      autoEventLagMs: c.REPUTATION_AUTO_EVENT_LAG_MS,
      maxPrefixV4: c.REPUTATION_MAX_PREFIX_V4,
      maxPrefixV6: c.REPUTATION_MAX_PREFIX_V6,
      guard: {
        enabled: c.GUARD_ENABLED,
        action: c.GUARD_ACTION,
        actionWithZoneData: c.GUARD_ACTION_WITH_ZONE_DATA,
        holdMs: c.GUARD_HOLD_MS,
        staleMs: c.GUARD_STALE_MS,
        allMinQps: c.GUARD_ALL_MIN_QPS,
        maxLeakShare: c.GUARD_MAX_LEAK_SHARE,
        maxNames: c.GUARD_MAX_NAMES,
        shadow: c.BLOCK_SHADOW.has('zone'),
        allowZones: c.ALLOWLIST_ZONES,
      },
      zoneData: zoneNames.byZone,
      refreshStepMs: Math.max(1000, Math.floor(c.BLOCK_TTL_MS / 10)),
      prefixFallbackV4: c.REPUTATION_PREFIX_V4,
      prefixFallbackV6: c.REPUTATION_PREFIX_V6,
      // Whole-list sinks (RPZ, CDB) rebuild at most ~twice a second under churn.
      refreshDebounceMs: 500,
      onError: options.onError,
      onClock: options.onClock,
    },
    new GuardRepository(redis),
  );
  return { pipeline, blocklist, reputation };
}
