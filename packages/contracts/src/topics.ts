/**
 * Kafka topic names. Consumers outside this repository subscribe to these strings:
 * NEVER rename one in place. A breaking schema change gets a new `.vN` topic beside the old.
 */
export const Topics = {
  /**
   * Decoded DNS queries in batches. Each zone's queries go to the partition its name maps to as
   * a key; a batch may hold several zones of one partition (every event names its zone, the key
   * is the first's), or one zone's with INGEST_BATCH_PER=zone.
   */
  queries: 'sluice.queries.v1',
  /** Per-window zone statistics for dashboards, keyed by zone. */
  zoneStats: 'sluice.zone-stats.v1',
  /** Attack lifecycle events (started/updated/ended), keyed by zone. */
  alerts: 'sluice.alerts.v1',
  /** Per (resolver, zone, window) attack-like and total query counts, keyed by zone. */
  offenders: 'sluice.offenders.v1',
  /** Offenders with ASN, prefix, country and resolver kind, keyed by zone. */
  offendersEnriched: 'sluice.offenders.enriched.v1',
  /** Current blocklist, keyed by entry id, compacted; a tombstone (null value) removes an entry. */
  blocklist: 'sluice.blocklist.v1',
  /** Names each attacked zone really has (learned before onset), keyed by zone, compacted. */
  knownNames: 'sluice.known-names.v1',
  /** Input that could not be decoded: raw bytes, reason and source, sampled. */
  deadLetter: 'sluice.deadletter.v1',
  /** Query batches of hot zones (split over K detector shards), keyed by zone#shard (hot-zone.ts). */
  hotQueries: 'sluice.hot-queries.v1',
  /** Hot-zone shards' hellos and per-tick summaries, keyed by zone. */
  shardSummaries: 'sluice.shard-summaries.v1',
  /** Hot-zone merge stages' starts and per-tick decisions, keyed by zone. */
  shardDecisions: 'sluice.shard-decisions.v1',
} as const;

export type TopicKey = keyof typeof Topics;
export type TopicName = (typeof Topics)[TopicKey];

export interface TopicSpec {
  readonly name: TopicName;
  /** Compacted topics keep the latest value per key; tombstones delete. */
  readonly compacted: boolean;
  /** Retention for non-compacted topics, in milliseconds. */
  readonly retentionMs?: number;
  /** Largest message the topic accepts (broker default ~1 MiB): name lists need more. */
  readonly maxMessageBytes?: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const MIB = 1024 * 1024;

export const TopicSpecs: Readonly<Record<TopicKey, TopicSpec>> = {
  queries: { name: Topics.queries, compacted: false, retentionMs: 1 * DAY_MS },
  zoneStats: { name: Topics.zoneStats, compacted: false, retentionMs: 7 * DAY_MS },
  alerts: { name: Topics.alerts, compacted: false, retentionMs: 30 * DAY_MS },
  offenders: { name: Topics.offenders, compacted: false, retentionMs: 7 * DAY_MS },
  offendersEnriched: { name: Topics.offendersEnriched, compacted: false, retentionMs: 30 * DAY_MS },
  blocklist: { name: Topics.blocklist, compacted: true, maxMessageBytes: 8 * MIB },
  knownNames: { name: Topics.knownNames, compacted: true, maxMessageBytes: 8 * MIB },
  deadLetter: { name: Topics.deadLetter, compacted: false, retentionMs: 7 * DAY_MS },
  hotQueries: { name: Topics.hotQueries, compacted: false, retentionMs: 1 * DAY_MS },
  // An offender window's rows ride in a summary: up to maxTrackedResolvers of them.
  shardSummaries: {
    name: Topics.shardSummaries,
    compacted: false,
    retentionMs: 1 * DAY_MS,
    maxMessageBytes: 8 * MIB,
  },
  shardDecisions: { name: Topics.shardDecisions, compacted: false, retentionMs: 1 * DAY_MS },
};
