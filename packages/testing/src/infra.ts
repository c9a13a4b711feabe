import { execFile } from 'node:child_process';
import { createConnection } from 'node:net';
import { resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Repository root, from this file's place in packages/testing/{src,dist}. */
export const repoRoot = resolve(__dirname, '..', '..', '..');

export interface ProvidedInfra {
  brokers: string[];
  redisUrl: string;
  /** How they were provided, for the test log. */
  via: 'env' | 'testcontainers' | 'local';
  stop: () => Promise<void>;
}

/** True when something accepts TCP connections on host:port within the timeout. */
export function portAnswers(host: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((done) => {
    const socket = createConnection({ host, port });
    const finish = (ok: boolean) => {
      socket.destroy();
      done(ok);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}

async function dockerAnswers(): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        getContainerRuntimeClient(),
        new Promise(
          (_, reject) => (timer = setTimeout(() => reject(new Error('timeout')), 10_000)),
        ),
      ]);
    } finally {
      clearTimeout(timer);
    }
    return true;
  } catch {
    return false;
  }
}

async function fromTestcontainers(): Promise<ProvidedInfra> {
  const { KafkaContainer } = await import('@testcontainers/kafka');
  const { RedisContainer } = await import('@testcontainers/redis');
  const kafkaImage = process.env.SLUICE_KAFKA_IMAGE ?? 'apache/kafka:4.4.0';
  const [kafka, redis] = await Promise.all([
    new KafkaContainer(kafkaImage).withKraft().start(),
    new RedisContainer('redis:7').start(),
  ]);
  return {
    brokers: [`${kafka.getHost()}:${kafka.getMappedPort(9093)}`],
    redisUrl: redis.getConnectionUrl(),
    via: 'testcontainers',
    stop: async () => {
      await Promise.all([kafka.stop(), redis.stop()]);
    },
  };
}

async function fromLocalInfra(): Promise<ProvidedInfra> {
  const port = Number(process.env.KAFKA_PORT ?? 9092);
  const kafkaWasRunning = await portAnswers('127.0.0.1', port);
  // kafka.sh never starts a second broker, so this is safe when one already runs.
  await run('bash', [resolve(repoRoot, 'infra/kafka/kafka.sh'), 'start'], {
    cwd: repoRoot,
    maxBuffer: 16 << 20,
  });
  const redis = await run('bash', [resolve(repoRoot, 'infra/redis/redis.sh'), 'ensure'], {
    cwd: repoRoot,
  });
  const redisUrl = redis.stdout.trim().split('\n').pop() ?? '';
  return {
    brokers: [`127.0.0.1:${port}`],
    redisUrl,
    via: 'local',
    stop: async () => {
      // Leave alone what was already running (a developer's broker, CI's own start).
      if (!kafkaWasRunning && process.env.SLUICE_KEEP_INFRA !== '1') {
        await run('bash', [resolve(repoRoot, 'infra/kafka/kafka.sh'), 'stop'], { cwd: repoRoot });
      }
    },
  };
}

/**
 * Where integration tests get real Kafka and Redis: KAFKA_BROKERS/REDIS_URL if given;
 * else testcontainers when a Docker engine answers; else the project's own local infra.
 */
export async function provideInfra(): Promise<ProvidedInfra> {
  const brokers = process.env.KAFKA_BROKERS;
  const redisUrl = process.env.REDIS_URL;
  if (brokers && redisUrl) {
    return { brokers: brokers.split(','), redisUrl, via: 'env', stop: async () => {} };
  }
  if (await dockerAnswers()) return fromTestcontainers();
  return fromLocalInfra();
}
