import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckpointRepository, DetectorPipeline } from '@sluice/detector';
import { loadIngestConfig, openPublisher, replayFile, ZoneMapper } from '@sluice/ingest';
import { type Kafka } from '@sluice/kafka';
import { createRedis, type Redis } from '@sluice/redis';
import { createTestTopics, testRedisConfig, uniqueName, waitFor } from '@sluice/testing';
import { simulate, writePcapFile } from '@sluice/traffic-sim';

import { CapturedLog, PrivateKafka } from './fault-infra';
import {
  collectAlerts,
  groupCaughtUp,
  judgeAlerts,
  miraiSpec,
  MemorySink,
  reconcileQueries,
  recordResult,
  TriggerSink,
} from './fault-pipeline';

/**
 * Issue 14, faults: the Kafka broker SIGKILLed and restarted in the middle of a replay. The
 * ingest replays a pcap (traffic-sim's capture writer, a Mirai flood on one zone of four) into a
 * private broker while the detector consumes it; 20 s (event time) into the attack the broker is
 * killed, and restarted at once (plus SLUICE_FAULTS_OUTAGE_MS). Afterwards every query the replay
 * produced is on the topic (at-least-once: duplicates counted), the detector committed the end of
 * the topic, and the attack is alerted once: one start, one end, no false end and restart.
 * scripts/faults.sh repeats it; CI runs it once.
 */
const PORT = Number(process.env.SLUICE_FAULTS_KILL_KAFKA_PORT ?? 19_292);
const OUTAGE_MS = Number(process.env.SLUICE_FAULTS_OUTAGE_MS ?? 0);
const T0 = 1_700_000_000_000;
const ONSET = 20_000;
const ATTACK = 60_000;
const TAIL = 45_000;

type Consumer = ReturnType<Kafka['consumer']>;

describe('faults: Kafka broker SIGKILLed during a replay', () => {
  const broker = new PrivateKafka(PORT);
  let dir: string;
  let redis: Redis;
  const collectors: Consumer[] = [];
  let detector: DetectorPipeline | null = null;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-faults-'));
    redis = createRedis(testRedisConfig());
    await redis.connect();
    await broker.start();
  });

  afterAll(async () => {
    await detector?.kill().catch(() => undefined);
    for (const c of collectors) await c.disconnect().catch(() => undefined);
    redis.disconnect();
    await broker.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reconciles published with consumed queries and alerts the attack once', async () => {
    const seed = Number(process.env.SLUICE_FAULTS_SEED ?? 14);
    const { spec, target, zones } = miraiSpec({
      seed,
      t0: T0,
      onsetMs: ONSET,
      attackMs: ATTACK,
      tailMs: TAIL,
    });
    const pcap = join(dir, 'mirai.pcap');
    await writePcapFile(pcap, simulate(spec), { withResponses: true });
    const expected = new MemorySink();
    await replayFile(pcap, { sink: expected, zones: new ZoneMapper(zones) });

    const log = new CapturedLog();
    const kafka = broker.kafka('faults-kill', log);
    const [queries, alerts, offenders, zoneStats, deadLetter, knownNames] = await createTestTopics(
      kafka,
      ['kill-queries', 'kill-alerts', 'kill-offenders', 'kill-stats', 'kill-dlq', 'kill-names'],
    );
    const groupId = uniqueName('kill-detector');
    detector = new DetectorPipeline(kafka, {
      groupId,
      topics: { queries, alerts, offenders, zoneStats, deadLetter, knownNames },
      settings: {},
      fromBeginning: true,
      checkpoints: new CheckpointRepository(redis, groupId),
      checkpointIntervalMs: 500,
      log,
    });
    await detector.start();
    const collected = await collectAlerts(kafka, alerts);
    collectors.push(collected.consumer);

    const ingest = await openPublisher(
      loadIngestConfig({
        KAFKA_BROKERS: broker.brokers.join(','),
        INGEST_QUERIES_TOPIC: queries,
        INGEST_DEADLETTER_TOPIC: deadLetter,
      }),
      'faults-kill-ingest',
      log,
    );
    let outageMs = 0;
    const sink = new TriggerSink(ingest.publisher, T0 + ONSET + 20_000, async () => {
      const t = Date.now();
      await broker.kill();
      if (OUTAGE_MS > 0) await new Promise((r) => setTimeout(r, OUTAGE_MS));
      await broker.start();
      outageMs = Date.now() - t;
    });
    // Paced (8× real time) so the kill lands while batches are in flight.
    const summary = await replayFile(pcap, { sink, zones: new ZoneMapper(zones), speed: 8 });
    expect(sink.fired).not.toBeNull();
    await sink.fired;
    await ingest.close();
    expect(summary.records).toBe(expected.records);

    const topic = await reconcileQueries(kafka, queries, expected.counts);
    await waitFor(
      async () => ((await groupCaughtUp(kafka, groupId, queries)) ? true : undefined),
      90_000,
      'the detector to commit the end of the topic',
    );
    const verdict = await waitFor(
      () => {
        const v = judgeAlerts(collected.alerts, target);
        return v.ended >= 1 ? v : undefined;
      },
      90_000,
      'the attack to end',
    );
    // The last lifecycle messages may still be on their way: settle on the committed end.
    await new Promise((r) => setTimeout(r, 1000));
    const final = judgeAlerts(collected.alerts, target);
    recordResult('kafka-broker-sigkill-replay', {
      seed,
      outageMs,
      ...topic,
      publishLost: ingest.publisher.lostBatches,
      detectorCrashes: detector.crashes,
      restoredPartitions: detector.restoredPartitions,
      ...final,
      errorLines: log.errors.length,
    });
    expect(verdict.started).toBe(1);
    expect(topic.lost).toBe(0);
    expect(topic.unexpected).toBe(0);
    expect(ingest.publisher.lostBatches).toBe(0);
    expect(final).toMatchObject({ started: 1, ended: 1, falseAlerts: 0 });
    expect(final.alertIds).toHaveLength(1);
  });
});
