import { z } from 'zod';
import {
  checkKafkaEnv,
  commonEnvShape,
  env,
  kafkaEnvShape,
  loadConfig,
  redisEnvShape,
  type Env,
} from '@sluice/config';
import { parseHotZoneEntry, Topics } from '@sluice/contracts';
import { normaliseName } from '@sluice/dns';
import { defaultSettings, type DetectorSettings } from '../core/settings';

const zoneList = () =>
  env
    .list()
    .refine(
      (l) => l.every((v) => /^[a-z0-9_.-]+$/i.test(v) && !v.startsWith('.')),
      'must be DNS names like rum.example.com,beacons.example.net',
    )
    .transform((l) => l.map(normaliseName));
/** "zone=factor,…": 2 = twice as sensitive, 0.5 = half. */
const sensitivityMap = () =>
  env
    .list()
    .refine(
      (l) => l.every((v) => /^[a-z0-9_.-]+=\d+(\.\d+)?$/i.test(v) && Number(v.split('=')[1]) > 0),
      'must be zone=factor pairs like example.com=2,example.net=0.5 (factor > 0)',
    )
    .transform((l) =>
      Object.fromEntries(
        l.map((v) => {
          const [zone, factor] = v.split('=') as [string, string];
          return [zone.toLowerCase(), Number(factor)];
        }),
      ),
    );
/** "zone:K,…": zones split over K detector shards (hot zones; K 1..64). */
const hotZoneMap = () =>
  env
    .list()
    .refine(
      (l) => l.every((v) => parseHotZoneEntry(v) !== null),
      'must be zone:K pairs like example.com:4,example.net:2 (K from 1 to 64 shards)',
    )
    .transform((l) =>
      Object.fromEntries(
        l.map((v) => {
          const { zone, shards } = parseHotZoneEntry(v)!;
          return [normaliseName(zone), shards];
        }),
      ),
    );
const nonNegativeInt = () =>
  z.coerce
    .number({ message: 'must be a number' })
    .int('must be a whole number')
    .min(0, 'must be ≥ 0');

/** Every setting of the detector service, validated once at boot. */
export const detectorConfigSchema = z
  .object({
    ...commonEnvShape,
    ...kafkaEnvShape,
    ...redisEnvShape,
    HTTP_PORT: env.port().default(8082),
    DETECTOR_GROUP_ID: z.string().min(1).default('sluice-detector'),
    DETECTOR_QUERIES_TOPIC: z.string().min(1).default(Topics.queries),
    DETECTOR_ALERTS_TOPIC: z.string().min(1).default(Topics.alerts),
    DETECTOR_OFFENDERS_TOPIC: z.string().min(1).default(Topics.offenders),
    DETECTOR_ZONE_STATS_TOPIC: z.string().min(1).default(Topics.zoneStats),
    DETECTOR_DEADLETTER_TOPIC: z.string().min(1).default(Topics.deadLetter),
    /** Where the names an attacked zone really has go (the zone guard's allow list). */
    DETECTOR_KNOWN_NAMES_TOPIC: z.string().min(1).default(Topics.knownNames),
    /** Where a brand-new group starts reading; existing groups resume from checkpoints/offsets. */
    DETECTOR_FROM_BEGINNING: env.bool().default(false),
    /** Redis checkpoint of each partition's state, at most this often (wall clock). 0 = every batch. */
    DETECTOR_CHECKPOINT_INTERVAL_MS: nonNegativeInt().default(5000),
    DETECTOR_CHECKPOINT: env.bool().default(true),
    /**
     * Score a short synthetic flood at boot (~1 s) so the first real one meets compiled code
     * (core/boot-warm-up.ts).
     */
    DETECTOR_BOOT_WARM_UP: env.bool().default(true),
    DETECTOR_ALLOWED_LATENESS_MS: nonNegativeInt().default(defaultSettings.allowedLatenessMs),
    DETECTOR_IDLE_ADVANCE_MS: env.positiveInt().default(defaultSettings.idleAdvanceMs),
    /** Forget a zone after this much silence (event time): memory follows live zones. */
    DETECTOR_EVICT_IDLE_MS: env.positiveInt().default(defaultSettings.evictIdleMs),
    DETECTOR_WARMUP_TICKS: nonNegativeInt().default(defaultSettings.warmupTicks),
    DETECTOR_LONG_HORIZON_TICKS: env.positiveInt().default(defaultSettings.longHorizonTicks),
    DETECTOR_END_QUIET_TICKS: env.positiveInt().default(defaultSettings.endQuietTicks),
    DETECTOR_UPDATE_EVERY_MS: env.positiveInt().default(defaultSettings.updateEveryMs),
    DETECTOR_STATS_EVERY_TICKS: env.positiveInt().default(defaultSettings.statsEveryTicks),
    DETECTOR_OFFENDER_WINDOW_TICKS: env.positiveInt().default(defaultSettings.offenderWindowTicks),
    DETECTOR_SEEN_CAPACITY: env.positiveInt().default(defaultSettings.seenCapacity),
    DETECTOR_MAX_TRACKED_RESOLVERS: env.positiveInt().default(defaultSettings.maxTrackedResolvers),
    /** Names each zone's vocabulary holds for the zone guard (memory ≈ 150 bytes a name). */
    DETECTOR_KNOWN_NAMES_CAPACITY: env.positiveInt().default(defaultSettings.knownNamesCapacity),
    /** A known name unasked for this long is forgotten (the zone's long tail: TTLs apart). */
    DETECTOR_KNOWN_NAMES_RETENTION_MS: env
      .positiveInt()
      .default(defaultSettings.knownNamesRetentionMs),
    /** Names (and bytes of names) published per attacked zone on the known-names topic. */
    DETECTOR_KNOWN_NAMES_MAX: env.positiveInt().default(defaultSettings.knownNamesMax),
    DETECTOR_KNOWN_NAMES_MAX_BYTES: env
      .positiveInt()
      .max(7 * 1024 * 1024, 'must stay below the known-names topic message limit (8 MiB)')
      .default(defaultSettings.knownNamesMaxBytes),
    DETECTOR_Z_START: env.positiveNumber().default(defaultSettings.zStart),
    DETECTOR_MIN_EXCESS_QPS: env.positiveNumber().default(defaultSettings.minExcessQps),
    /** Zones without a baseline alert only above these absolute floors. */
    DETECTOR_COLD_MIN_RANDOM_QPS: env.positiveNumber().default(defaultSettings.coldMinRandomQps),
    DETECTOR_COLD_TICKS: env.positiveInt().default(defaultSettings.coldTicks),
    /** Responses are evidence once this share of a zone's queries carry one (0..1). */
    DETECTOR_MIN_RESPONSE_SHARE: z.coerce
      .number()
      .min(0)
      .max(1)
      .default(defaultSettings.minResponseShare),
    /** The surge test (floods whose names repeat): distinct new names and volume multiple. */
    DETECTOR_SURGE_MIN_NAMES: env.positiveInt().default(defaultSettings.surgeMinNames),
    DETECTOR_SURGE_MIN_RATIO: env.positiveNumber().default(defaultSettings.surgeMinRatio),
    /** …or fewer distinct names, asked flatly: effective ÷ distinct names at least the share (0..1]. */
    DETECTOR_SURGE_FLAT_MIN_NAMES: env.positiveInt().default(defaultSettings.surgeFlatMinNames),
    DETECTOR_SURGE_FLAT_SHARE: z.coerce
      .number()
      .gt(0)
      .max(1)
      .default(defaultSettings.surgeFlatShare),
    /** Zones or subtrees measured but never alerted (real-user-measurement beacons). */
    DETECTOR_ALLOWLIST: zoneList().default([]),
    DETECTOR_SENSITIVITY: sensitivityMap().default({}),
    /**
     * Hot zones split over K shards (zone:K,…): their queries go to DETECTOR_HOT_QUERIES_TOPIC
     * keyed zone#shard, shard and merge stages talk over the summary and decision topics.
     */
    DETECTOR_HOT_ZONES: hotZoneMap().default({}),
    DETECTOR_HOT_QUERIES_TOPIC: z.string().min(1).default(Topics.hotQueries),
    DETECTOR_SHARD_SUMMARIES_TOPIC: z.string().min(1).default(Topics.shardSummaries),
    DETECTOR_SHARD_DECISIONS_TOPIC: z.string().min(1).default(Topics.shardDecisions),
  })
  .superRefine(checkKafkaEnv);

export type DetectorConfig = z.output<typeof detectorConfigSchema>;

export function loadDetectorConfig(source: Env = process.env): DetectorConfig {
  return loadConfig(detectorConfigSchema, source);
}

export function settingsFrom(c: DetectorConfig): DetectorSettings {
  return {
    ...defaultSettings,
    allowedLatenessMs: c.DETECTOR_ALLOWED_LATENESS_MS,
    idleAdvanceMs: c.DETECTOR_IDLE_ADVANCE_MS,
    evictIdleMs: c.DETECTOR_EVICT_IDLE_MS,
    warmupTicks: c.DETECTOR_WARMUP_TICKS,
    longHorizonTicks: c.DETECTOR_LONG_HORIZON_TICKS,
    endQuietTicks: c.DETECTOR_END_QUIET_TICKS,
    updateEveryMs: c.DETECTOR_UPDATE_EVERY_MS,
    statsEveryTicks: c.DETECTOR_STATS_EVERY_TICKS,
    offenderWindowTicks: c.DETECTOR_OFFENDER_WINDOW_TICKS,
    seenCapacity: c.DETECTOR_SEEN_CAPACITY,
    maxTrackedResolvers: c.DETECTOR_MAX_TRACKED_RESOLVERS,
    knownNamesCapacity: c.DETECTOR_KNOWN_NAMES_CAPACITY,
    knownNamesRetentionMs: c.DETECTOR_KNOWN_NAMES_RETENTION_MS,
    knownNamesMax: c.DETECTOR_KNOWN_NAMES_MAX,
    knownNamesMaxBytes: c.DETECTOR_KNOWN_NAMES_MAX_BYTES,
    zStart: c.DETECTOR_Z_START,
    minExcessQps: c.DETECTOR_MIN_EXCESS_QPS,
    coldMinRandomQps: c.DETECTOR_COLD_MIN_RANDOM_QPS,
    coldTicks: c.DETECTOR_COLD_TICKS,
    minResponseShare: c.DETECTOR_MIN_RESPONSE_SHARE,
    surgeMinNames: c.DETECTOR_SURGE_MIN_NAMES,
    surgeMinRatio: c.DETECTOR_SURGE_MIN_RATIO,
    surgeFlatMinNames: c.DETECTOR_SURGE_FLAT_MIN_NAMES,
    surgeFlatShare: c.DETECTOR_SURGE_FLAT_SHARE,
    allowlist: c.DETECTOR_ALLOWLIST,
    sensitivity: c.DETECTOR_SENSITIVITY,
  };
}
