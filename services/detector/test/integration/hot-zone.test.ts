/**
 * Issue 13 item 1 on the real broker: one zone split over 2 shard consumers (one partition of
 * the hot queries topic each) and 1 merge consumer, talking through the summary and decision
 * topics, alert on a flood exactly as the two stages do in one process.
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
import { createTestTopics, testKafka, uniqueName, waitFor } from '@sluice/testing';
import { simulate, zoneName, type ScenarioSpec } from '@sluice/traffic-sim';
import { type Producer } from 'kafkajs';
import { withDefaults } from '../../src/core/settings';
import { ShardedDetector } from '../../src/core/shard/sharded-detector';
import { HotMergeRuntime } from '../../src/hot-zone/hot-merge.runtime';
import { HotShardRuntime } from '../../src/hot-zone/hot-shard.runtime';
import { collectMessages } from './helpers';

jest.setTimeout(240_000);

const HOT = zoneName(0);
const K = 2;

describe('a hot zone over 2 shard consumers and 1 merge consumer', () => {
  let kafka: Kafka;
  let producer: Producer;
  const stops: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    kafka = testKafka('hot-zone-it');
    producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
  });

  afterAll(async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    await producer.disconnect();
  });

  it('raises and ends one alert, the one the two stages raise in one process', async () => {
    const [hotQueries] = await createTestTopics(kafka, ['hot-queries'], { partitions: K });
    const [summaries, decisions, alerts, zoneStats, offenders, knownNames] = await createTestTopics(
      kafka,
      ['hot-summaries', 'hot-decisions', 'hot-alerts', 'hot-stats', 'hot-offenders', 'hot-names'],
      { partitions: 1 },
    );
    const settings = withDefaults({});
    const topics = { hotQueries, summaries, decisions };
    const groupId = uniqueName('hot-shards');
    const shards = [0, 1].map(
      () =>
        new HotShardRuntime(kafka, {
          settings,
          hotZones: { [HOT]: K },
          topics,
          groupId,
          decisionsGroupId: uniqueName('hot-decisions'),
          maxWaitTimeMs: 100,
        }),
    );
    const merge = new HotMergeRuntime(kafka, {
      settings,
      topics: { summaries, decisions, alerts, zoneStats, offenders, knownNames },
      groupId: uniqueName('hot-merge'),
      maxWaitTimeMs: 100,
    });
    const seen = await collectMessages(kafka, alerts, alertSchema);
    stops.push(() => seen.consumer.disconnect());
    for (const r of [merge, ...shards]) {
      await r.start();
      stops.push(() => r.stop());
    }
    // Each shard consumer owns one partition before any query is published.
    await waitFor(
      () => (shards.every((r) => r.assigned.length === 1) ? true : undefined),
      60_000,
      'one partition per shard consumer',
    );

    // 40 s of the zone's own traffic, a 15 s Mirai flood, 35 s of ordinary traffic again.
    const spec: ScenarioSpec = {
      seed: 41,
      startTime: 1_700_000_000_000,
      durationMs: 90_000,
      zones: 1,
      benignQps: 200,
      withResponses: true,
      streams: [{ kind: 'mirai', zone: HOT, startMs: 40_000, durationMs: 15_000, qps: 3000 }],
    };
    const events = [...simulate(spec)].filter((e) => e.zone === HOT);
    await publishAsIngest(producer, hotQueries, events);

    // The same queries through both stages in one process (no drain: Kafka has no end).
    const local = new ShardedDetector({}, { shardsFor: () => K });
    const expected = local.process(0, events).alerts.filter((a) => a.phase !== 'updated');
    expect(expected.map((a) => a.phase)).toEqual(['started', 'ended']);

    const lifecycle = await waitFor(
      () => {
        const l = seen.messages.filter((a) => a.phase !== 'updated');
        return l.some((a) => a.phase === 'ended') ? l : undefined;
      },
      180_000,
      'the alert to start and end through Kafka',
    );
    const exact = (a: Alert) => ({ ...a, topResolvers: null });
    expect(lifecycle.map(exact)).toEqual(expected.map(exact));
    // Both shard consumers scored queries and sent summaries; the merge decided every tick.
    for (const r of shards) {
      expect(r.counters.queries).toBeGreaterThan(0);
      expect(r.counters.summaries).toBeGreaterThan(40);
      expect(r.counters.late).toBe(0);
    }
    expect(merge.counters.decisions).toBeGreaterThan(40);
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
