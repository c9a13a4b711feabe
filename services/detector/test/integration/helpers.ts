import {
  alertSchema,
  decodeMessage,
  encodeQueryBatch,
  type Alert,
  type QueryEvent,
} from '@sluice/contracts';
import { type Kafka } from '@sluice/kafka';
import { createRedis, type Redis } from '@sluice/redis';
import { createTestTopics, testRedisConfig, uniqueName } from '@sluice/testing';
import { type Consumer, type Producer } from 'kafkajs';
import { type z } from 'zod';
import { CheckpointRepository } from '../../src/redis/checkpoint.repository';
import { DetectorPipeline, type DetectorTopics } from '../../src/detector.pipeline';
import { type DetectorSettings } from '../../src/core/settings';

export async function detectorTopics(kafka: Kafka, partitions = 3): Promise<DetectorTopics> {
  const [queries, alerts, offenders, zoneStats, deadLetter, knownNames] = await createTestTopics(
    kafka,
    ['det-queries', 'det-alerts', 'det-offenders', 'det-stats', 'det-dlq', 'det-names'],
    { partitions },
  );
  return {
    queries: queries,
    alerts: alerts,
    offenders: offenders,
    zoneStats: zoneStats,
    deadLetter: deadLetter,
    knownNames: knownNames,
  };
}

/** Publish events as the ingest does: per-zone QueryBatch messages keyed by zone, one per second of traffic. */
export async function publishEvents(
  producer: Producer,
  topic: string,
  events: Iterable<QueryEvent>,
): Promise<number> {
  let slice: QueryEvent[] = [];
  let sliceStart = -1;
  let sent = 0;
  const flush = async () => {
    const byZone = new Map<string, QueryEvent[]>();
    for (const e of slice) {
      let l = byZone.get(e.zone);
      if (!l) byZone.set(e.zone, (l = []));
      l.push(e);
    }
    const messages = [...byZone].map(([zone, list]) => ({
      key: zone,
      value: encodeQueryBatch({ v: 1, source: 'scenario', zone, events: list }),
    }));
    if (messages.length) await producer.send({ topic, messages, acks: -1 });
    sent += slice.length;
    slice = [];
  };
  for (const e of events) {
    const s = Math.floor(e.ts / 1000);
    if (s !== sliceStart && slice.length > 0) await flush();
    sliceStart = s;
    slice.push(e);
  }
  await flush();
  return sent;
}

/** Everything published on `topic` from the beginning, decoded and validated with `schema`. */
export async function collectMessages<S extends z.ZodType>(
  kafka: Kafka,
  topic: string,
  schema: S,
): Promise<{ messages: z.output<S>[]; keys: string[]; consumer: Consumer }> {
  const messages: z.output<S>[] = [];
  const keys: string[] = [];
  // A short fetch wait: messages arrive sooner and a disconnect does not wait out a 5 s fetch.
  const consumer = kafka.consumer({ groupId: uniqueName('det-collect'), maxWaitTimeInMs: 200 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    eachMessage: ({ message }) => {
      messages.push(decodeMessage(schema, message.value));
      keys.push(message.key?.toString() ?? '');
      return Promise.resolve();
    },
  });
  return { messages, keys, consumer };
}

export async function collectAlerts(
  kafka: Kafka,
  topic: string,
): Promise<{ alerts: Alert[]; consumer: Consumer }> {
  const { messages, consumer } = await collectMessages(kafka, topic, alertSchema);
  return { alerts: messages, consumer };
}

export interface DetectorHarness {
  pipeline: DetectorPipeline;
  redis: Redis;
}

export async function startDetector(
  kafka: Kafka,
  topics: DetectorTopics,
  options: {
    groupId: string;
    redisPrefix?: string;
    settings?: Partial<DetectorSettings>;
    checkpointIntervalMs?: number;
    sessionTimeoutMs?: number;
  },
): Promise<DetectorHarness & { redisPrefix: string }> {
  const redisConfig = testRedisConfig();
  const redisPrefix = options.redisPrefix ?? redisConfig.keyPrefix;
  const redis = createRedis({ ...redisConfig, keyPrefix: redisPrefix });
  await redis.connect();
  const pipeline = new DetectorPipeline(kafka, {
    groupId: options.groupId,
    topics,
    settings: options.settings ?? {},
    fromBeginning: true,
    checkpoints: new CheckpointRepository(redis, options.groupId),
    checkpointIntervalMs: options.checkpointIntervalMs ?? 1000,
    sessionTimeoutMs: options.sessionTimeoutMs,
  });
  await pipeline.start();
  return { pipeline, redis, redisPrefix };
}

/** Identity of a lifecycle message: replays repeat it exactly, so duplicates collapse. */
export const alertKey = (a: Alert) => `${a.alertId}|${a.phase}|${a.at}`;
export const distinct = (alerts: Alert[]) => [...new Set(alerts.map(alertKey))].sort();
