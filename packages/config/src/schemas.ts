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
  /** The password read from a file (a mounted Kubernetes Secret), instead of KAFKA_SASL_PASSWORD. */
  KAFKA_SASL_PASSWORD_FILE: z.string().optional(),
  KAFKA_TLS: env.bool().default(false),
  /** PEM CA bundle that replaces Node's default roots (a private CA); unset = the default roots. */
  KAFKA_TLS_CA_FILE: z.string().optional(),
  /** Client certificate and key (PEM) for mutual TLS: both or neither. */
  KAFKA_TLS_CERT_FILE: z.string().optional(),
  KAFKA_TLS_KEY_FILE: z.string().optional(),
  /** For an encrypted KAFKA_TLS_KEY_FILE: the passphrase, or a file holding it. */
  KAFKA_TLS_KEY_PASSPHRASE: z.string().optional(),
  KAFKA_TLS_KEY_PASSPHRASE_FILE: z.string().optional(),
  /** The name the brokers' certificates must carry, when it is not the host in KAFKA_BROKERS. */
  KAFKA_TLS_SERVERNAME: z
    .string()
    .regex(/^[A-Za-z0-9.-]+$/, "must be a DNS name (the one in the brokers' certificates)")
    .optional(),
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
  sasl: KafkaSaslConfig | null;
  tls: KafkaTlsConfig;
  topicPartitions: number;
  replicationFactor: number;
}

/**
 * Files named here are read by @sluice/kafka when it builds the client (at boot), which stops
 * the process naming the setting when one cannot be used: this package does no I/O.
 */
export interface KafkaSaslConfig {
  mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512';
  username: string;
  /** One of the two (checkKafkaEnv): the password, or the file holding it. */
  password: string | null;
  passwordFile?: string | null;
}

/** TLS to the brokers. Their certificates are always verified: no setting turns that off. */
export interface KafkaTlsConfig {
  enabled: boolean;
  /** PEM CA bundle replacing Node's default roots; null = the default roots. */
  caFile: string | null;
  /** Client certificate and key (PEM) for mutual TLS; both or neither. */
  certFile?: string | null;
  keyFile?: string | null;
  /** For an encrypted keyFile: the passphrase, or the file holding it. */
  keyPassphrase?: string | null;
  keyPassphraseFile?: string | null;
  /** Name the brokers' certificates are checked against instead of each broker's host. */
  servername?: string | null;
}

export interface RedisConfig {
  url: string;
  keyPrefix: string;
}

type KafkaEnv = z.output<z.ZodObject<typeof kafkaEnvShape>>;
type RedisEnv = z.output<z.ZodObject<typeof redisEnvShape>>;

/** The Kafka settings of a validated environment (checkKafkaEnv ran). */
export function kafkaConfigFrom(e: KafkaEnv, defaultClientId: string): KafkaConfig {
  return {
    brokers: e.KAFKA_BROKERS,
    clientId: e.KAFKA_CLIENT_ID ?? defaultClientId,
    sasl:
      e.KAFKA_SASL_MECHANISM !== undefined
        ? {
            mechanism: e.KAFKA_SASL_MECHANISM,
            username: e.KAFKA_SASL_USERNAME ?? '',
            password: e.KAFKA_SASL_PASSWORD ?? null,
            passwordFile: e.KAFKA_SASL_PASSWORD_FILE ?? null,
          }
        : null,
    tls: {
      enabled: e.KAFKA_TLS,
      caFile: e.KAFKA_TLS_CA_FILE ?? null,
      certFile: e.KAFKA_TLS_CERT_FILE ?? null,
      keyFile: e.KAFKA_TLS_KEY_FILE ?? null,
      keyPassphrase: e.KAFKA_TLS_KEY_PASSPHRASE ?? null,
      keyPassphraseFile: e.KAFKA_TLS_KEY_PASSPHRASE_FILE ?? null,
      servername: e.KAFKA_TLS_SERVERNAME ?? null,
    },
    topicPartitions: e.KAFKA_TOPIC_PARTITIONS,
    replicationFactor: e.KAFKA_REPLICATION_FACTOR,
  };
}

export function redisConfigFrom(e: RedisEnv): RedisConfig {
  return { url: e.REDIS_URL, keyPrefix: e.REDIS_KEY_PREFIX };
}

type KafkaCheckedEnv = Partial<{
  KAFKA_SASL_MECHANISM: string;
  KAFKA_SASL_USERNAME: string;
  KAFKA_SASL_PASSWORD: string;
  KAFKA_SASL_PASSWORD_FILE: string;
  KAFKA_TLS: boolean;
  KAFKA_TLS_CA_FILE: string;
  KAFKA_TLS_CERT_FILE: string;
  KAFKA_TLS_KEY_FILE: string;
  KAFKA_TLS_KEY_PASSPHRASE: string;
  KAFKA_TLS_KEY_PASSPHRASE_FILE: string;
  KAFKA_TLS_SERVERNAME: string;
}>;

const TLS_SETTINGS = [
  'KAFKA_TLS_CA_FILE',
  'KAFKA_TLS_CERT_FILE',
  'KAFKA_TLS_KEY_FILE',
  'KAFKA_TLS_KEY_PASSPHRASE',
  'KAFKA_TLS_KEY_PASSPHRASE_FILE',
  'KAFKA_TLS_SERVERNAME',
] as const;

/**
 * The Kafka settings checked across fields: SASL needs its credentials (once), mutual TLS both
 * files, and a setting that would be ignored is an error (no silent fallbacks). Messages name
 * the variable and never hold a secret. The files themselves are checked where they are read,
 * in @sluice/kafka, when the client is built at boot.
 */
export function checkKafkaEnv(e: KafkaCheckedEnv, ctx: z.RefinementCtx): void {
  const issue = (key: keyof KafkaCheckedEnv, message: string): void =>
    ctx.addIssue({ code: 'custom', path: [key], message });
  checkSasl(e, issue);
  if (!e.KAFKA_TLS) {
    for (const key of TLS_SETTINGS)
      if (e[key] !== undefined) issue(key, 'is set but KAFKA_TLS is not true');
    return;
  }
  const hasCert = e.KAFKA_TLS_CERT_FILE !== undefined;
  const hasKey = e.KAFKA_TLS_KEY_FILE !== undefined;
  if (hasCert && !hasKey)
    issue('KAFKA_TLS_KEY_FILE', 'is required with KAFKA_TLS_CERT_FILE (mutual TLS needs both)');
  if (hasKey && !hasCert)
    issue('KAFKA_TLS_CERT_FILE', 'is required with KAFKA_TLS_KEY_FILE (mutual TLS needs both)');
  onlyOne(e, 'KAFKA_TLS_KEY_PASSPHRASE', issue);
  for (const key of ['KAFKA_TLS_KEY_PASSPHRASE', 'KAFKA_TLS_KEY_PASSPHRASE_FILE'] as const)
    if (e[key] !== undefined && !hasKey) issue(key, 'is set but KAFKA_TLS_KEY_FILE is not');
}

type Issue = (key: keyof KafkaCheckedEnv, message: string) => void;

/** A secret comes from its variable or from its `_FILE` variable, not both. */
function onlyOne(
  e: KafkaCheckedEnv,
  name: 'KAFKA_SASL_PASSWORD' | 'KAFKA_TLS_KEY_PASSPHRASE',
  issue: Issue,
): void {
  if (e[name] !== undefined && e[`${name}_FILE`] !== undefined)
    issue(`${name}_FILE`, `set ${name} or ${name}_FILE, not both`);
}

function checkSasl(e: KafkaCheckedEnv, issue: Issue): void {
  const credentials = [
    'KAFKA_SASL_USERNAME',
    'KAFKA_SASL_PASSWORD',
    'KAFKA_SASL_PASSWORD_FILE',
  ] as const;
  if (e.KAFKA_SASL_MECHANISM === undefined) {
    for (const key of credentials)
      if (e[key] !== undefined)
        issue(
          key,
          'is set but KAFKA_SASL_MECHANISM is not (scram-sha-512, scram-sha-256 or plain)',
        );
    return;
  }
  if (!e.KAFKA_SASL_USERNAME)
    issue('KAFKA_SASL_USERNAME', 'is required when KAFKA_SASL_MECHANISM is set');
  onlyOne(e, 'KAFKA_SASL_PASSWORD', issue);
  if (e.KAFKA_SASL_PASSWORD === undefined && e.KAFKA_SASL_PASSWORD_FILE === undefined)
    issue(
      'KAFKA_SASL_PASSWORD',
      'is required when KAFKA_SASL_MECHANISM is set (or KAFKA_SASL_PASSWORD_FILE)',
    );
  // PLAIN hands the password itself to whoever is on the path; SCRAM never sends it.
  if (e.KAFKA_SASL_MECHANISM === 'plain' && !e.KAFKA_TLS)
    issue(
      'KAFKA_SASL_MECHANISM',
      'plain sends the password in clear text: set KAFKA_TLS=true too, or use scram-sha-512',
    );
}
