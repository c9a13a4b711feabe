/**
 * Issue 13 item 1 on the real broker: one zone split over 2 shard consumers (one partition of
 * the hot queries topic each) and 1 merge consumer, talking through the summary and decision
 * topics, alert on a flood exactly as the two stages do in one process — also when a shard
 * consumer and the merge consumer are replaced mid-flood (state handed over through Redis
 * checkpoints, the gap replayed).
 */
import {
  alertSchema,
  encodeQueryBatch,
  hotZoneKey,
  hotZoneShard,
  type Alert,
  type QueryEvent,
} from '@sluice/contracts';
import { type Kafka } from '@sluice/kafka';
import { createRedis, type Redis } from '@sluice/redis';
import { createTestTopics, testKafka, testRedisConfig, uniqueName, waitFor } from '@sluice/testing';
import { simulate, zoneName, type ScenarioSpec } from '@sluice/traffic-sim';
import { type Producer } from 'kafkajs';
import { createServiceLogger } from '@sluice/service-kit';
import { loadDetectorConfig } from '../../src/config/detector.config';
import { withDefaults } from '../../src/core/settings';
import { DetectorRuntime } from '../../src/detector.runtime';
import { ShardedDetector } from '../../src/core/shard/sharded-detector';
import {
  HotMergeRuntime,
  type HotMergePartitionSnapshot,
} from '../../src/hot-zone/hot-merge.runtime';
import {
  HotShardRuntime,
  type HotShardPartitionSnapshot,
} from '../../src/hot-zone/hot-shard.runtime';
import { CheckpointRepository } from '../../src/redis/checkpoint.repository';
import { collectMessages } from './helpers';

jest.setTimeout(300_000);

const HOT = zoneName(0);
const K = 2;
const settings = withDefaults({});

/** 40 s of the zone's own traffic, a 15 s Mirai flood, 35 s of ordinary traffic again. */
function traffic(seed: number): QueryEvent[] {
  const spec: ScenarioSpec = {
    seed,
    startTime: 1_700_000_000_000,
    durationMs: 90_000,
    zones: 1,
    benignQps: 200,
    withResponses: true,
    streams: [{ kind: 'mirai', zone: HOT, startMs: 40_000, durationMs: 15_000, qps: 3000 }],
  };
  return [...simulate(spec)].filter((e) => e.zone === HOT);
}

/** The same queries through both stages in one process (no drain: Kafka has no end). */
function inProcess(events: QueryEvent[]): Alert[] {
  const local = new ShardedDetector({}, { shardsFor: () => K });
  return local.process(0, events).alerts.filter((a) => a.phase !== 'updated');
}

const exact = (a: Alert) => ({ ...a, topResolvers: null });

describe('a hot zone over 2 shard consumers and 1 merge consumer', () => {
  let kafka: Kafka;
  let producer: Producer;
  let redis: Redis;
  const stops: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    kafka = testKafka('hot-zone-it');
    producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    redis = createRedis(testRedisConfig());
  });

  afterAll(async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    await producer.disconnect();
    redis.disconnect();
  });

  async function deployment(withCheckpoints: boolean) {
    const [hotQueries] = await createTestTopics(kafka, ['hot-queries'], { partitions: K });
    const [summaries, decisions, alerts, zoneStats, offenders, knownNames] = await createTestTopics(
      kafka,
      ['hot-summaries', 'hot-decisions', 'hot-alerts', 'hot-stats', 'hot-offenders', 'hot-names'],
      { partitions: 1 },
    );
    const shardGroup = uniqueName('hot-shards');
    const mergeGroup = uniqueName('hot-merge');
    const shardCheckpoints = withCheckpoints
      ? {
          repository: new CheckpointRepository<HotShardPartitionSnapshot>(
            redis,
            shardGroup,
            'hot-shard',
          ),
          everyMs: 1000,
        }
      : null;
    const mergeCheckpoints = withCheckpoints
      ? {
          repository: new CheckpointRepository<HotMergePartitionSnapshot>(
            redis,
            mergeGroup,
            'hot-merge',
          ),
          everyMs: 1000,
        }
      : null;
    const started = async <R extends { start(): Promise<void>; stop(): Promise<void> }>(r: R) => {
      await r.start();
      stops.push(() => r.stop());
      return r;
    };
    const shard = () =>
      started(
        new HotShardRuntime(kafka, {
          settings,
          hotZones: { [HOT]: K },
          topics: { hotQueries, summaries, decisions },
          groupId: shardGroup,
          decisionsGroupId: uniqueName('hot-decisions'),
          maxWaitTimeMs: 100,
          checkpoints: shardCheckpoints,
        }),
      );
    const merge = () =>
      started(
        new HotMergeRuntime(kafka, {
          settings,
          topics: { summaries, decisions, alerts, zoneStats, offenders, knownNames },
          groupId: mergeGroup,
          maxWaitTimeMs: 100,
          checkpoints: mergeCheckpoints,
        }),
      );
    const seen = await collectMessages(kafka, alerts, alertSchema);
    stops.push(() => seen.consumer.disconnect());
    const lifecycle = () =>
      waitFor(
        () => {
          const l = seen.messages.filter((a) => a.phase !== 'updated');
          return l.some((a) => a.phase === 'ended') ? l : undefined;
        },
        180_000,
        'the alert to start and end through Kafka',
      );
    const onePartitionEach = (shards: HotShardRuntime[]) =>
      waitFor(
        () => (shards.every((r) => r.assigned.length === 1) ? true : undefined),
        60_000,
        'one partition per shard consumer',
      );
    return { hotQueries, shard, merge, lifecycle, onePartitionEach };
  }

  it('raises and ends one alert, the one the two stages raise in one process', async () => {
    const d = await deployment(false);
    const merge = await d.merge();
    const shards = [await d.shard(), await d.shard()];
    // Each shard consumer owns one partition before any query is published.
    await d.onePartitionEach(shards);
    const events = traffic(41);
    await publishAsIngest(producer, d.hotQueries, events);
    const expected = inProcess(events);
    expect(expected.map((a) => a.phase)).toEqual(['started', 'ended']);
    expect((await d.lifecycle()).map(exact)).toEqual(expected.map(exact));
    // Both shard consumers scored queries and sent summaries; the merge decided every tick.
    for (const r of shards) {
      expect(r.counters.queries).toBeGreaterThan(0);
      expect(r.counters.summaries).toBeGreaterThan(40);
      expect(r.counters.late).toBe(0);
    }
    expect(merge.counters.decisions).toBeGreaterThan(40);
  });

  it('the detector service splits the zones DETECTOR_HOT_ZONES names', async () => {
    const [queries, alerts, offenders, zoneStats, deadLetter, knownNames] = await createTestTopics(
      kafka,
      ['svc-queries', 'svc-alerts', 'svc-offenders', 'svc-stats', 'svc-dlq', 'svc-names'],
      { partitions: 2 },
    );
    const hotQueries = uniqueName('svc-hot-queries');
    const config = loadDetectorConfig({
      KAFKA_BROKERS: process.env.KAFKA_BROKERS,
      REDIS_URL: process.env.REDIS_URL,
      KAFKA_TOPIC_PARTITIONS: '2',
      DETECTOR_GROUP_ID: uniqueName('svc-detector'),
      DETECTOR_QUERIES_TOPIC: queries,
      DETECTOR_ALERTS_TOPIC: alerts,
      DETECTOR_OFFENDERS_TOPIC: offenders,
      DETECTOR_ZONE_STATS_TOPIC: zoneStats,
      DETECTOR_DEADLETTER_TOPIC: deadLetter,
      DETECTOR_KNOWN_NAMES_TOPIC: knownNames,
      DETECTOR_CHECKPOINT: 'false',
      DETECTOR_HOT_ZONES: `${HOT}:${K}`,
      DETECTOR_HOT_QUERIES_TOPIC: hotQueries,
      DETECTOR_SHARD_SUMMARIES_TOPIC: uniqueName('svc-summaries'),
      DETECTOR_SHARD_DECISIONS_TOPIC: uniqueName('svc-decisions'),
    });
    const base = createServiceLogger('detector', 'warn');
    const warmUps: { alerts: { detector: number; shardStage: number } }[] = [];
    const log: typeof base = {
      ...base,
      info: (o, m) => {
        if (m.startsWith('boot warm-up')) warmUps.push(o as (typeof warmUps)[number]);
        base.info(o, m);
      },
    };
    const runtime = new DetectorRuntime(config, { log });
    await runtime.start();
    stops.push(() => runtime.stop());
    expect(runtime.hot).not.toBeNull();
    // The boot warm-up ran before consuming, through both paths (hot zones are configured).
    expect(warmUps).toHaveLength(1);
    expect(warmUps[0]!.alerts.detector).toBeGreaterThan(0);
    expect(warmUps[0]!.alerts.shardStage).toBeGreaterThan(0);
    await waitFor(() => (runtime.consuming ? true : undefined), 60_000, 'the detector consuming');
    const seen = await collectMessages(kafka, alerts, alertSchema);
    stops.push(() => seen.consumer.disconnect());
    // A flood on a zone with no traffic before it: the cold-zone floors alert within seconds.
    const flood = [
      ...simulate({
        seed: 43,
        startTime: 1_700_000_000_000,
        durationMs: 20_000,
        zones: 1,
        benignQps: 0,
        withResponses: true,
        streams: [{ kind: 'mirai', zone: HOT, startMs: 0, durationMs: 20_000, qps: 1000 }],
      }),
    ].filter((e) => e.zone === HOT);
    await publishAsIngest(producer, hotQueries, flood);
    const started = await waitFor(
      () => seen.messages.find((a) => a.phase === 'started'),
      120_000,
      'a started alert from the hot-zone stages',
    );
    expect(started.zone).toBe(HOT);
    expect(started.signals).toContain('cold-zone');
    expect(runtime.hot!.shards.counters.summaries).toBeGreaterThan(0);
  });

  it('a shard consumer and the merge consumer replaced mid-flood: the same alert', async () => {
    const d = await deployment(true);
    let merge = await d.merge();
    const first = await d.shard();
    const leaving = await d.shard();
    await d.onePartitionEach([first, leaving]);
    const events = traffic(42);
    const expected = inProcess(events);
    expect(expected.map((a) => a.phase)).toEqual(['started', 'ended']);
    // Up to the middle of the flood, then both replaced while their state is live.
    const cut = events.findIndex((e) => e.ts >= events[0]!.ts + 47_000);
    await publishAsIngest(producer, d.hotQueries, events.slice(0, cut));
    await waitFor(
      () => (merge.counters.decisions >= 44 ? true : undefined),
      120_000,
      'the merge stage past the flood’s onset',
    );
    await leaving.stop();
    await merge.stop();
    merge = await d.merge();
    const joining = await d.shard();
    await d.onePartitionEach([first, joining]);
    await publishAsIngest(producer, d.hotQueries, events.slice(cut));
    expect((await d.lifecycle()).map(exact)).toEqual(expected.map(exact));
    // The newcomers started from the checkpoints the leavers (and the rebalances) saved.
    expect(joining.counters.restored).toBeGreaterThan(0);
    expect(merge.counters.restored).toBeGreaterThan(0);
  });
});

/** As the ingest keys a hot zone: one batch per shard and second of traffic, key zone#shard. */
async function publishAsIngest(
  producer: Producer,
  topic: string,
  events: readonly QueryEvent[],
): Promise<void> {
  let slice: QueryEvent[] = [];
  const flush = async () => {
    const byShard: QueryEvent[][] = Array.from({ length: K }, () => []);
    for (const e of slice) byShard[hotZoneShard(e.qname, HOT, K)]!.push(e);
    await producer.send({
      topic,
      acks: -1,
      messages: byShard
        .map((list, shard) => ({ list, shard }))
        .filter((x) => x.list.length > 0)
        .map(({ list, shard }) => ({
          key: hotZoneKey(HOT, shard),
          // One partition per shard here, so each consumer holds one shard.
          partition: shard,
          value: encodeQueryBatch({ v: 1, source: 'scenario', zone: HOT, events: list }),
        })),
    });
    slice = [];
  };
  for (const e of events) {
    if (slice.length > 0 && Math.floor(e.ts / 1000) !== Math.floor(slice[0]!.ts / 1000))
      await flush();
    slice.push(e);
  }
  if (slice.length) await flush();
}
