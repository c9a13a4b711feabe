import { z } from 'zod';

/** Reusable env-var types: each message says what a valid value looks like. */
export const env = {
  port: () =>
    z.coerce
      .number({ message: 'must be a TCP port number' })
      .int('must be a whole number')
      .min(0, 'must be 0–65535')
      .max(65535, 'must be 0–65535'),
  positiveInt: () =>
    z.coerce
      .number({ message: 'must be a number' })
      .int('must be a whole number')
      .positive('must be > 0'),
  positiveNumber: () => z.coerce.number({ message: 'must be a number' }).positive('must be > 0'),
  bool: () =>
    z
      .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' })
      .transform((v) => v === 'true' || v === '1' || v === 'yes'),
  list: () =>
    z.string().transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0),
    ),
};

const hostPort = /^[A-Za-z0-9.\-_]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/;

/** Kafka connection. Defaults point at the local broker that infra/kafka starts. */
export const kafkaEnvShape = {
  KAFKA_BROKERS: z
    .string()
    .default('127.0.0.1:9092')
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    )
    .refine(
      (list) => list.length > 0 && list.every((b) => hostPort.test(b)),
      'must be a comma-separated list of host:port',
    ),
  KAFKA_CLIENT_ID: z.string().optional(),
  KAFKA_SASL_MECHANISM: z
    .enum(['plain', 'scram-sha-256', 'scram-sha-512'], {
      message: 'must be plain, scram-sha-256 or scram-sha-512',
    })
    .optional(),
  KAFKA_SASL_USERNAME: z.string().optional(),
  KAFKA_SASL_PASSWORD: z.string().optional(),
  KAFKA_TLS: env.bool().default(false),
  KAFKA_TLS_CA_FILE: z.string().optional(),
  /** Partitions for topics Sluice creates; the partition key is the zone. */
  KAFKA_TOPIC_PARTITIONS: env.positiveInt().default(6),
  KAFKA_REPLICATION_FACTOR: env.positiveInt().default(1),
};

export const redisEnvShape = {
  REDIS_URL: z
    .string()
    .default('redis://127.0.0.1:6379')
    .refine((v) => /^rediss?:\/\/.+/.test(v), 'must be a redis:// or rediss:// URL'),
  /** Prefix for every key Sluice writes, so several deployments can share one Redis. */
  REDIS_KEY_PREFIX: z.string().default('sluice:'),
};

export const commonEnvShape = {
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      message: 'must be one of fatal, error, warn, info, debug, trace, silent',
    })
    .default('info'),
  /** Serves /healthz, /readyz and Prometheus /metrics. */
  HTTP_HOST: z.string().default('0.0.0.0'),
};

export interface KafkaConfig {
  brokers: string[];
  clientId: string;
  sasl: {
    mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512';
    username: string;
    password: string;
  } | null;
  tls: { enabled: boolean; caFile: string | null };
  topicPartitions: number;
  replicationFactor: number;
}

export interface RedisConfig {
  url: string;
  keyPrefix: string;
}

type KafkaEnv = z.output<z.ZodObject<typeof kafkaEnvShape>>;
type RedisEnv = z.output<z.ZodObject<typeof redisEnvShape>>;

export function kafkaConfigFrom(e: KafkaEnv, defaultClientId: string): KafkaConfig {
  return {
    brokers: e.KAFKA_BROKERS,
    clientId: e.KAFKA_CLIENT_ID ?? defaultClientId,
    sasl:
      e.KAFKA_SASL_MECHANISM !== undefined
        ? {
            mechanism: e.KAFKA_SASL_MECHANISM,
            username: e.KAFKA_SASL_USERNAME ?? '',
            password: e.KAFKA_SASL_PASSWORD ?? '',
          }
        : null,
    tls: { enabled: e.KAFKA_TLS, caFile: e.KAFKA_TLS_CA_FILE ?? null },
    topicPartitions: e.KAFKA_TOPIC_PARTITIONS,
    replicationFactor: e.KAFKA_REPLICATION_FACTOR,
  };
}

export function redisConfigFrom(e: RedisEnv): RedisConfig {
  return { url: e.REDIS_URL, keyPrefix: e.REDIS_KEY_PREFIX };
}

/** SASL needs both credentials; checked across fields so the message names each missing variable. */
export function checkKafkaEnv(
  e: Partial<
    Record<
      'KAFKA_SASL_MECHANISM' | 'KAFKA_SASL_USERNAME' | 'KAFKA_SASL_PASSWORD',
      string | undefined
    >
  >,
  ctx: z.RefinementCtx,
): void {
  if (e.KAFKA_SASL_MECHANISM === undefined) return;
  for (const key of ['KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD'] as const) {
    if (!e[key])
      ctx.addIssue({
        code: 'custom',
        path: [key],
        message: 'is required when KAFKA_SASL_MECHANISM is set',
      });
  }
}
