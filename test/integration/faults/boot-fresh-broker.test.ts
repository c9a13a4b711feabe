import { encodeQueryBatch, Topics } from '@sluice/contracts';
import { CheckpointRepository, DetectorPipeline, type DetectorTopics } from '@sluice/detector';
import { type Kafka } from '@sluice/kafka';
import { createRedis, type Redis } from '@sluice/redis';
import { createTestTopics, testRedisConfig, uniqueName, waitFor } from '@sluice/testing';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CapturedLog, PrivateKafka } from './fault-infra';
import { recordResult } from './fault-pipeline';
import { ServiceStack, type ServiceName } from './service-stack';

/**
 * Issue 14, faults: boot against a broker that has just started. The group coordinator is not
 * there yet (a fresh cluster creates __consumer_offsets on the first FindCoordinator; a
 * restarted one loads it): the detector must wait for it quietly — no ERROR line (an ERROR
 * always means an operator must act), no consumer crash counted — and then consume.
 */
const PORT = Number(process.env.SLUICE_FAULTS_BOOT_KAFKA_PORT ?? 19_192);

describe('faults: detector boot against a broker that has just started', () => {
  const broker = new PrivateKafka(PORT);
  let redis: Redis;
  const pipelines: DetectorPipeline[] = [];

  beforeAll(async () => {
    redis = createRedis(testRedisConfig());
    await redis.connect();
  });

  afterAll(async () => {
    for (const p of pipelines) await p.kill().catch(() => undefined);
    redis.disconnect();
    await broker.destroy();
  });

  let kafka: Kafka;
  let topics: DetectorTopics;

  async function bootDetector(log: CapturedLog): Promise<DetectorPipeline> {
    kafka = broker.kafka('faults-boot', log);
    const [queries, alerts, offenders, zoneStats, deadLetter, knownNames] = await createTestTopics(
      kafka,
      ['boot-queries', 'boot-alerts', 'boot-offenders', 'boot-stats', 'boot-dlq', 'boot-names'],
    );
    const groupId = uniqueName('boot-detector');
    topics = { queries, alerts, offenders, zoneStats, deadLetter, knownNames };
    const pipeline = new DetectorPipeline(kafka, {
      groupId,
      topics,
      settings: {},
      fromBeginning: true,
      checkpoints: new CheckpointRepository(redis, groupId),
      checkpointIntervalMs: 1000,
      log,
    });
    pipelines.push(pipeline);
    await pipeline.start();
    return pipeline;
  }

  it.each([
    ['a brand-new cluster (no __consumer_offsets yet)', true],
    ['a cluster restarted after a SIGKILL (coordinator loading its log)', false],
  ])('%s: no ERROR, no crash, consuming', async (_name, fresh) => {
    if (fresh) await broker.start({ fresh: true });
    else {
      if (broker.pid === null) await broker.start();
      await broker.kill();
      await broker.start();
    }
    const log = new CapturedLog();
    const pipeline = await bootDetector(log);
    expect(log.errors).toEqual([]);
    expect(pipeline.crashes).toBe(0);
    expect(pipeline.isRunning).toBe(true);
    // And it consumes.
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const zone = 'example.com';
    const event = {
      ts: Date.now(),
      resolver: '192.0.2.1',
      resolverPort: 5353,
      transport: 'udp' as const,
      qname: `www.${zone}`,
      qtype: 1,
      qclass: 1,
      rd: false,
      cd: false,
      do: false,
      ednsSize: null,
      id: 1,
      zone,
      rcode: null,
    };
    await producer.send({
      topic: topics.queries,
      acks: -1,
      messages: [
        { key: zone, value: encodeQueryBatch({ v: 1, source: 'boot', zone, events: [event] }) },
      ],
    });
    await producer.disconnect();
    await waitFor(
      () => (pipeline.core.counters.events >= 1 ? true : undefined),
      20_000,
      'an event consumed',
    );
    recordResult(fresh ? 'kafka-boot-fresh-cluster' : 'kafka-boot-after-sigkill', {
      errorLines: log.errors.length,
      crashes: pipeline.crashes,
    });
    expect(log.errors).toEqual([]);
    expect(pipeline.crashes).toBe(0);
    await pipeline.stop();
  });

  // The four services as processes on a brand-new cluster. The reputation service creates its
  // own topics (as on a first deployment with its default names) and reads the blocklist topic
  // to its end at once: ListOffsets on a topic created a moment ago answers
  // NOT_LEADER_FOR_PARTITION until its leader is elected, and the start-up reconcile used to
  // throw it — the service died before it was ready. The others start on topics created just
  // before them (`sluice topics create`, then the services).
  it('a brand-new cluster: the four services boot as processes, no ERROR, none exits', async () => {
    await broker.start({ fresh: true });
    const dir = mkdtempSync(join(tmpdir(), 'sluice-boot-'));
    const stack = new ServiceStack({
      brokers: broker.brokers.join(','),
      redisUrl: testRedisConfig().url,
      zones: ['example.com'],
      dir,
    });
    try {
      await stack.start('reputation', 'reputation', {
        REPUTATION_INPUT_TOPIC: Topics.offendersEnriched,
        REPUTATION_OUTPUT_TOPIC: Topics.blocklist,
        REPUTATION_DEADLETTER_TOPIC: Topics.deadLetter,
        REPUTATION_ALERTS_TOPIC: Topics.alerts,
        REPUTATION_KNOWN_NAMES_TOPIC: Topics.knownNames,
      });
      await stack.init();
      const others: ServiceName[] = ['enrichment', 'detector', 'ingest'];
      await Promise.all(others.map((svc) => stack.start(svc)));
      stack.assertAlive();
      recordResult('kafka-boot-fresh-cluster-services', {
        errorLines: stack.errorLines().length,
      });
      expect(stack.errorLines()).toEqual([]);
    } finally {
      await stack.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
