import { randomBytes } from 'node:crypto';
import { type KafkaConfig, type RedisConfig } from '@sluice/config';
import { createKafka, provisionTopics, type Kafka } from '@sluice/kafka';
import { SluiceError, ErrorCodes } from '@sluice/contracts';

export { provideInfra, portAnswers, repoRoot, type ProvidedInfra } from './infra';

/** A name no other test (or earlier run) uses: topics, groups and key prefixes stay private. */
export function uniqueName(prefix: string): string {
  return `test.${prefix}.${Date.now().toString(36)}.${randomBytes(4).toString('hex')}`;
}

function required(name: 'KAFKA_BROKERS' | 'REDIS_URL'): string {
  const value = process.env[name];
  if (!value) {
    throw new SluiceError(
      ErrorCodes.infra,
      `${name} is not set: run integration tests through jest (its global setup provides Kafka and Redis)`,
    );
  }
  return value;
}

export function testKafkaConfig(clientId = 'sluice-test'): KafkaConfig {
  return {
    brokers: required('KAFKA_BROKERS').split(','),
    clientId,
    sasl: null,
    tls: { enabled: false, caFile: null },
    topicPartitions: 3,
    replicationFactor: 1,
  };
}

export function testRedisConfig(): RedisConfig {
  return { url: required('REDIS_URL'), keyPrefix: `${uniqueName('redis')}:` };
}

export function testKafka(clientId?: string): Kafka {
  return createKafka(testKafkaConfig(clientId));
}

/** Create fresh topics for one test; returns their names in the same order as the prefixes. */
export async function createTestTopics<const Prefixes extends readonly string[]>(
  kafka: Kafka,
  prefixes: Prefixes,
  options: { partitions?: number; compacted?: boolean } = {},
): Promise<{ -readonly [K in keyof Prefixes]: string }> {
  // One name per prefix, in order: typed as a tuple so `[a, b] = …` gives strings.
  const names = prefixes.map(uniqueName) as { -readonly [K in keyof Prefixes]: string };
  await provisionTopics(
    kafka,
    names.map((name) => ({ name, compacted: options.compacted ?? false })),
    { partitions: options.partitions ?? 3, replicationFactor: 1 },
  );
  return names;
}

/** Poll until `check` returns a value (not undefined) or the timeout passes. */
export async function waitFor<T>(
  check: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 30_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
export * from './bench';
export * from './ports';
export * from './nsd-config';
export * from './dnstap-sink';
export * from './bind-config';
export * from './knot-config';
export * from './unbound-config';
export * from './dnsdist-config';
export * from './fuzz';
