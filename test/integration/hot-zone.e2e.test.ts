/**
 * A hot zone end to end (issue 13): the ingest's publisher, given INGEST_HOT_ZONES, cuts the
 * zone's queries per shard onto the hot queries topic; a detector given DETECTOR_HOT_ZONES runs
 * the shard and merge stages and alerts on the flood — through the real broker, no test
 * keying in between.
 */
import { alertSchema, decodeMessage, type Alert } from '@sluice/contracts';
import { DetectorRuntime, loadDetectorConfig } from '@sluice/detector';
import { loadIngestConfig, openPublisher } from '@sluice/ingest';
import { createServiceLogger } from '@sluice/service-kit';
import { createTestTopics, testKafka, uniqueName, waitFor } from '@sluice/testing';
import { simulate, zoneName } from '@sluice/traffic-sim';

jest.setTimeout(180_000);

const HOT = zoneName(0);

it('ingest → hot queries topic (zone#shard) → shard and merge stages → one alert', async () => {
  const kafka = testKafka('hot-zone-e2e');
  const [queries, hotQueries, summaries, decisions, alerts] = await createTestTopics(
    kafka,
    ['e2e-queries', 'e2e-hot', 'e2e-summaries', 'e2e-decisions', 'e2e-alerts'],
    { partitions: 4 },
  );
  const [offenders, zoneStats, deadLetter, knownNames] = await createTestTopics(
    kafka,
    ['e2e-offenders', 'e2e-stats', 'e2e-dlq', 'e2e-names'],
    { partitions: 1 },
  );
  const common = { KAFKA_BROKERS: process.env.KAFKA_BROKERS, LOG_LEVEL: 'warn' };
  const detector = new DetectorRuntime(
    loadDetectorConfig({
      ...common,
      DETECTOR_GROUP_ID: uniqueName('e2e-detector'),
      DETECTOR_QUERIES_TOPIC: queries,
      DETECTOR_ALERTS_TOPIC: alerts,
      DETECTOR_OFFENDERS_TOPIC: offenders,
      DETECTOR_ZONE_STATS_TOPIC: zoneStats,
      DETECTOR_DEADLETTER_TOPIC: deadLetter,
      DETECTOR_KNOWN_NAMES_TOPIC: knownNames,
      DETECTOR_CHECKPOINT: 'false',
      DETECTOR_HOT_ZONES: `${HOT}:4`,
      DETECTOR_HOT_QUERIES_TOPIC: hotQueries,
      DETECTOR_SHARD_SUMMARIES_TOPIC: summaries,
      DETECTOR_SHARD_DECISIONS_TOPIC: decisions,
    }),
    { log: createServiceLogger('detector', 'warn') },
  );
  const ingest = await openPublisher(
    loadIngestConfig({
      ...common,
      INGEST_QUERIES_TOPIC: queries,
      INGEST_DEADLETTER_TOPIC: deadLetter,
      INGEST_HOT_ZONES: `${HOT}:4`,
      INGEST_HOT_QUERIES_TOPIC: hotQueries,
    }),
    'hot-zone-e2e-ingest',
  );
  const collector = kafka.consumer({ groupId: uniqueName('e2e-collect') });
  const seen: Alert[] = [];
  try {
    await detector.start();
    await waitFor(() => (detector.consuming ? true : undefined), 60_000, 'the detector consuming');
    await collector.connect();
    await collector.subscribe({ topics: [alerts], fromBeginning: true });
    await collector.run({
      eachMessage: ({ message }) => {
        seen.push(decodeMessage(alertSchema, message.value));
        return Promise.resolve();
      },
    });
    // A flood on a zone with no traffic before it (cold-zone floors), beside an ordinary zone.
    for (const e of simulate({
      seed: 44,
      startTime: 1_700_000_000_000,
      durationMs: 20_000,
      zones: 2,
      benignQps: 100,
      withResponses: true,
      streams: [{ kind: 'mirai', zone: HOT, startMs: 0, durationMs: 20_000, qps: 1000 }],
    }))
      ingest.publisher.record(e, 'e2e');
    await ingest.publisher.flush();
    const started = await waitFor(
      () => seen.find((a) => a.phase === 'started'),
      120_000,
      'the hot zone’s alert',
    );
    expect(started.zone).toBe(HOT);
    const shards = detector.hot!.shards;
    expect(shards.counters.summaries).toBeGreaterThanOrEqual(4);
    expect(shards.counters.unknownZone).toBe(0);
    // The hot zone went only to the hot topic, cut per shard; the other zone to the usual one.
    const hot = await keysOf(hotQueries);
    expect(new Set(hot.keys())).toEqual(new Set([0, 1, 2, 3].map((i) => `${HOT}#${i}`)));
    // Each shard on a partition of its own (the ingest's hot-zone partitioner), so the four
    // shard stages can run on four consumers.
    expect(new Set(hot.values()).size).toBe(4);
    const usual = await keysOf(queries);
    expect(usual.size).toBeGreaterThan(0);
    expect(usual.has(HOT)).toBe(false);
  } finally {
    await collector.disconnect();
    await ingest.close();
    await detector.stop();
  }
});

/** Every message key on a topic (read to its end offsets), with the partition it was on. */
async function keysOf(topic: string): Promise<Map<string, number>> {
  const kafka = testKafka('hot-zone-e2e-keys');
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const total = ends.reduce((n, p) => n + Number(p.high), 0);
  const keys = new Map<string, number>();
  let read = 0;
  const consumer = kafka.consumer({ groupId: uniqueName('e2e-keys') });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    eachMessage: ({ partition, message }) => {
      keys.set(message.key?.toString() ?? '', partition);
      read++;
      return Promise.resolve();
    },
  });
  await waitFor(() => (read >= total ? true : undefined), 60_000, `all of ${topic}`);
  await consumer.disconnect();
  return keys;
}
