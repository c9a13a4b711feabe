import { type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { BatchingProducer, type Kafka } from '@sluice/kafka';
import { createTestTopics, uniqueName } from '@sluice/testing';
import { loadReputationConfig, type ReputationConfig } from '../../src/config/reputation.config';
import { ReputationModule } from '../../src/reputation.module';
import { ReputationRuntime } from '../../src/reputation.runtime';

export const API_KEY = 'test-key-1-0123456789';

/**
 * What every service test starts from: its input topic (enriched offenders), its compacted
 * output topic (the blocklist) and a connected producer to feed the input.
 */
export async function serviceTopics(
  kafka: Kafka,
  prefix: string,
): Promise<{ input: string; output: string; producer: BatchingProducer }> {
  const [input] = await createTestTopics(kafka, [`${prefix}-in`], { partitions: 1 });
  const [output] = await createTestTopics(kafka, [`${prefix}-out`], {
    partitions: 1,
    compacted: true,
  });
  const producer = new BatchingProducer(kafka);
  await producer.connect();
  return { input, output, producer };
}

export function serviceConfig(over: Record<string, string>): ReputationConfig {
  return loadReputationConfig({
    KAFKA_BROKERS: process.env.KAFKA_BROKERS!,
    REDIS_URL: process.env.REDIS_URL!,
    REDIS_KEY_PREFIX: `${uniqueName('rep')}:`,
    REPUTATION_GROUP_ID: uniqueName('rep-group'),
    LOG_LEVEL: 'silent',
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: '0',
    FEED_API_KEYS: API_KEY,
    // Tests drive hundreds of requests from one address; the limit has its own test (http-guard).
    HTTP_RATE_LIMIT: '0',
    RPZ_PORT: '0',
    REPUTATION_MIN_ATTACK_QUERIES: '100',
    REPUTATION_ROLLUP_MIN_RESOLVERS: '3',
    KAFKA_TOPIC_PARTITIONS: '1',
    ...over,
  });
}

export interface RunningService {
  app: INestApplication;
  runtime: ReputationRuntime;
  url: string;
  get(
    path: string,
    key?: string | null,
  ): Promise<{ status: number; body: string; headers: Headers }>;
  close(): Promise<void>;
}

export async function startService(config: ReputationConfig): Promise<RunningService> {
  const app = await NestFactory.create(ReputationModule.register(config), {
    logger: ['error'],
    abortOnError: false,
  });
  app.enableShutdownHooks();
  await app.listen(0, '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  const runtime = app.get(ReputationRuntime);
  return {
    app,
    runtime,
    url,
    async get(path, key = API_KEY) {
      const res = await fetch(`${url}${path}`, { headers: key ? { 'x-api-key': key } : {} });
      return { status: res.status, body: await res.text(), headers: res.headers };
    },
    close: () => app.close(),
  };
}
