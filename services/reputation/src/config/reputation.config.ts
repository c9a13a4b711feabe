import { z } from 'zod';
import {
  checkKafkaEnv,
  commonEnvShape,
  env,
  kafkaEnvShape,
  loadConfig,
  redisEnvShape,
  type Env,
} from '@sluice/config';
import { blockActionSchema } from '@sluice/contracts';
import { parseNetwork } from '../core/ip';

const networkList = () =>
  env.list().refine(
    (l) =>
      l.every((v) => {
        try {
          parseNetwork(v);
          return true;
        } catch {
          return false;
        }
      }),
    'must be IP addresses or CIDR networks, comma separated',
  );
const zoneList = () =>
  env
    .list()
    .refine(
      (l) => l.every((v) => /^[A-Za-z0-9_.-]+$/.test(v)),
      'must be DNS zone names, comma separated',
    );

const minutes = (n: number) => n * 60_000;
const hostPortList = () =>
  env
    .list()
    .refine((l) => l.every((v) => /^[^\s]+:\d{1,5}$/.test(v)), 'must be host:port,host:port');
const asnList = () =>
  env
    .list()
    .refine((l) => l.every((v) => /^(AS)?\d+$/i.test(v)), 'must be ASNs like 64500,AS64501')
    .transform((l) => l.map((v) => Number(v.replace(/^AS/i, ''))));
const tsigKeys = () =>
  env
    .list()
    .refine(
      (l) => l.every((v) => /^[A-Za-z0-9.\-_]+:[A-Za-z0-9+/=]+$/.test(v)),
      'must be name:base64secret,…',
    )
    .transform((l) =>
      l.map((v) => {
        const [name, secret] = v.split(':') as [string, string];
        return { name, secret };
      }),
    );

const prefixLengths = (max: number) =>
  env
    .list()
    .refine(
      (l) => l.every((v) => /^\d+$/.test(v) && Number(v) <= max),
      `must be prefix lengths 0–${max}, comma separated`,
    )
    .transform((l) => l.map(Number));

/** Every setting of the reputation service, validated once at boot. */
export const reputationConfigSchema = z
  .object({
    ...commonEnvShape,
    ...kafkaEnvShape,
    ...redisEnvShape,
    HTTP_PORT: env.port().default(8084),
    REPUTATION_GROUP_ID: z.string().default('sluice-reputation'),
    REPUTATION_INPUT_TOPIC: z.string().default('sluice.offenders.enriched.v1'),
    REPUTATION_OUTPUT_TOPIC: z.string().default('sluice.blocklist.v1'),
    REPUTATION_DEADLETTER_TOPIC: z.string().default('sluice.deadletter.v1'),
    /** Undecodable input records sampled to the dead-letter topic, per minute. */
    REPUTATION_DEADLETTER_PER_MINUTE: z.coerce.number().int().min(0).default(10),
    /** Half-life of every score, in ms. */
    REPUTATION_HALF_LIFE_MS: env.positiveInt().default(minutes(10)),
    REPUTATION_MIN_ATTACK_QUERIES: env.positiveNumber().default(200),
    REPUTATION_ROLLUP_MIN_RESOLVERS: env.positiveInt().default(5),
    REPUTATION_RESOLVER_MIN_ZONES: env.positiveInt().default(2),
    /** A record counts its resolver as an offending member when attack/total reaches this. */
    REPUTATION_OFFENDER_MIN_RATIO: z.coerce.number().min(0).max(1).default(0.5),
    REPUTATION_EVIDENCE_PER_SUBJECT: env.positiveInt().default(20),
    REPUTATION_PREFIX_V4: env.positiveInt().max(32).default(24),
    REPUTATION_PREFIX_V6: env.positiveInt().max(128).default(48),
    /** 'wall' (live) or 'event' (replays): the clock that expires blocks; decay always uses event time. */
    REPUTATION_CLOCK: z
      .enum(['wall', 'event'], { message: 'must be wall or event' })
      .default('wall'),
    BLOCK_THRESHOLD_RESOLVER_ZONE: z.coerce.number().min(0).max(100).default(50),
    BLOCK_THRESHOLD_RESOLVER: z.coerce.number().min(0).max(100).default(80),
    BLOCK_THRESHOLD_PREFIX: z.coerce.number().min(0).max(100).default(80),
    BLOCK_THRESHOLD_ASN: z.coerce.number().min(0).max(100).default(90),
    BLOCK_ACTION_RESOLVER_ZONE: blockActionSchema.default('refused'),
    BLOCK_ACTION_RESOLVER: blockActionSchema.default('drop'),
    BLOCK_ACTION_PREFIX: blockActionSchema.default('drop'),
    BLOCK_ACTION_ASN: blockActionSchema.default('drop'),
    BLOCK_TTL_MS: env.positiveInt().default(minutes(30)),
    BLOCK_MAX_ENTRIES: env.positiveInt().default(100_000),
    BLOCK_SHADOW: env.bool().default(false),
    BLOCK_SWEEP_MS: env.positiveInt().default(1000),
    ALLOWLIST_NETWORKS: networkList().default([]),
    ALLOWLIST_ASNS: asnList().default([]),
    ALLOWLIST_ZONES: zoneList().default([]),
    /** API keys for the HTTP feed (X-Api-Key header). Empty disables the feed. */
    FEED_API_KEYS: env.list().default([]),
    RPZ_ENABLED: env.bool().default(true),
    RPZ_HOST: z.string().default('127.0.0.1'),
    RPZ_PORT: env.port().default(5353),
    RPZ_ORIGIN: z
      .string()
      .regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.?$/, 'must be a DNS name like rpz.sluice')
      .default('rpz.sluice'),
    RPZ_NOTIFY: hostPortList().default([]),
    /** TSIG keys name:base64 (hmac-sha256); the first one signs NOTIFY. */
    RPZ_TSIG_KEYS: tsigKeys().default([]),
    RPZ_REQUIRE_TSIG: env.bool().default(true),
    DNSDIST_CDB_PATH: z.string().optional(),
    DNSDIST_PREFIX_V4: prefixLengths(32).default([24]),
    DNSDIST_PREFIX_V6: prefixLengths(128).default([48]),
  })
  .superRefine(checkKafkaEnv);

export type ReputationConfig = z.output<typeof reputationConfigSchema>;

export function loadReputationConfig(source: Env = process.env): ReputationConfig {
  return loadConfig(reputationConfigSchema, source);
}
