import { z } from 'zod';
import {
  apiKeyList,
  checkKafkaEnv,
  commonEnvShape,
  env,
  httpLimitsEnvShape,
  kafkaEnvShape,
  loadConfig,
  redisEnvShape,
  type Env,
} from '@sluice/config';
import { Topics } from '@sluice/contracts';

const optionalPath = () =>
  z
    .string()
    .optional()
    .transform((v) => (v === undefined || v.trim() === '' ? null : v.trim()));

/** ≥ 1,000: a smaller store would evict rows of the attack under way. */
export const reportMaxRows = () =>
  env.positiveInt().min(1_000, 'must be at least 1000').default(1_000_000);

/** Every setting of the enrichment service, validated once at boot. */
export const enrichmentConfigSchema = z
  .object({
    ...commonEnvShape,
    ...kafkaEnvShape,
    ...redisEnvShape,
    ...httpLimitsEnvShape,
    HTTP_PORT: env.port().default(8083),
    /** API keys for GET /report (X-Api-Key header), one per client. Empty: the report API answers 503. */
    REPORT_API_KEYS: apiKeyList().default([]),
    /** MaxMind-format ASN database (GeoLite2-ASN, DB-IP ASN Lite, ipinfo ASN/Lite); replaces the packaged table. */
    ENRICH_ASN_MMDB: optionalPath(),
    /** MaxMind-format country database (GeoLite2-Country/City, ipinfo country/Lite); replaces the packaged one. */
    ENRICH_COUNTRY_MMDB: optionalPath(),
    /** Reload operator MMDB files when they change on disk. */
    ENRICH_MMDB_WATCH: env.bool().default(true),
    ENRICH_MMDB_WATCH_INTERVAL_MS: env.positiveInt().default(5_000),
    /** Entries in the resolver → enrichment LRU cache. */
    ENRICH_CACHE_SIZE: env.positiveInt().default(100_000),
    ENRICH_CONSUMER_GROUP: z.string().min(1).default('sluice-enrichment'),
    ENRICH_OFFENDERS_TOPIC: z.string().min(1).default(Topics.offenders),
    ENRICH_ALERTS_TOPIC: z.string().min(1).default(Topics.alerts),
    ENRICH_OUTPUT_TOPIC: z.string().min(1).default(Topics.offendersEnriched),
    ENRICH_DEADLETTER_TOPIC: z.string().min(1).default(Topics.deadLetter),
    /** Width of the per-zone time buckets that zone + time-range reports merge. */
    REPORT_BUCKET_SECONDS: env.positiveInt().default(60),
    /** How long report aggregates stay in Redis. */
    REPORT_RETENTION_DAYS: env.positiveInt().default(30),
    /** Evidence samples ("at X resolver Y asked Z") kept per resolver per scope. */
    REPORT_EVIDENCE_PER_RESOLVER: env.positiveInt().default(5),
    /**
     * Most resolver rows (a resolver in one alert or one zone bucket) the report store keeps, all
     * scopes together: bounds its Redis under a flood from millions of resolvers. Past it the
     * least recently seen rows are evicted (counted in their report).
     */
    REPORT_MAX_RESOLVER_ROWS: reportMaxRows(),
  })
  .superRefine(checkKafkaEnv);

export type EnrichmentConfig = z.output<typeof enrichmentConfigSchema>;

export function loadEnrichmentConfig(source: Env = process.env): EnrichmentConfig {
  return loadConfig(enrichmentConfigSchema, source);
}
