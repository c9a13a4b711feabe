import { hostname } from 'node:os';
import { z } from 'zod';
import {
  apiKeyList,
  checkKafkaEnv,
  commonEnvShape,
  env,
  httpLimitsEnvShape,
  kafkaEnvShape,
  loadConfig,
  type Env,
} from '@sluice/config';
import { Topics } from '@sluice/contracts';

/** `name=http://host:port,…`: the stages whose /readyz and /metrics the console shows. */
const stageList = () =>
  z
    .string()
    .default(
      'ingest=http://127.0.0.1:8081,detector=http://127.0.0.1:8082,enrichment=http://127.0.0.1:8083,reputation=http://127.0.0.1:8084',
    )
    .transform((v, ctx) => {
      const out: Array<{ name: string; url: string }> = [];
      for (const part of v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)) {
        const m = /^([a-z0-9-]+)=(https?:\/\/[^\s]+?)\/?$/i.exec(part);
        if (!m) {
          ctx.addIssue({
            code: 'custom',
            message: `must be a comma-separated list of name=http://host:port (bad item "${part}")`,
          });
          return z.NEVER;
        }
        out.push({ name: m[1]!, url: m[2]! });
      }
      return out;
    });

/** Every setting of the console, validated once at boot. */
export const consoleConfigSchema = z
  .object({
    ...commonEnvShape,
    ...kafkaEnvShape,
    ...httpLimitsEnvShape,
    HTTP_PORT: env.port().default(8085),
    /**
     * Keys that open the console (the login page, or X-Api-Key for scripts), one per operator or
     * tool; remove one and restart to revoke it and end its sessions. Required: the console shows
     * who attacks and what is blocked, and has no open mode (scripts/up.sh generates a key).
     */
    CONSOLE_API_KEYS: z
      .string({ error: 'required: one or more keys, comma separated (e.g. openssl rand -hex 24)' })
      .pipe(apiKeyList())
      .refine(
        (l) => l.length > 0,
        'required: one or more keys, comma separated (e.g. openssl rand -hex 24)',
      ),
    /** How long a login lasts (the event stream ends with it; the page asks to log in again). */
    CONSOLE_SESSION_HOURS: env
      .positiveInt()
      .max(24 * 30, 'must be at most 720 (30 days)')
      .default(12),
    /**
     * Each console instance reads every partition, so the group is per instance (hostname by
     * default); offsets only matter for the lag metric — at start it seeks back CONSOLE_HISTORY_MINUTES.
     */
    CONSOLE_CONSUMER_GROUP: z.string().min(1).default(`sluice-console-${hostname()}`),
    CONSOLE_ALERTS_TOPIC: z.string().min(1).default(Topics.alerts),
    CONSOLE_ZONE_STATS_TOPIC: z.string().min(1).default(Topics.zoneStats),
    CONSOLE_OFFENDERS_TOPIC: z.string().min(1).default(Topics.offendersEnriched),
    CONSOLE_BLOCKLIST_TOPIC: z.string().min(1).default(Topics.blocklist),
    /** How far back (wall clock, by Kafka timestamp) the view is rebuilt from at start. */
    CONSOLE_HISTORY_MINUTES: env.positiveInt().default(60),
    /** Zones with a timeline kept (least recently updated dropped first). */
    CONSOLE_MAX_ZONES: env.positiveInt().default(200),
    /** Points per zone timeline (one per detector window). */
    CONSOLE_TIMELINE_POINTS: env.positiveInt().default(900),
    /** Attacks kept (active ones are never dropped; the oldest ended first). */
    CONSOLE_MAX_ATTACKS: env.positiveInt().default(50),
    /** Resolvers aggregated per attack for its report (beyond this, new resolvers are counted, not kept). */
    CONSOLE_MAX_RESOLVERS_PER_ATTACK: env.positiveInt().default(100_000),
    /** Evidence samples kept per resolver per attack. */
    CONSOLE_EVIDENCE_PER_RESOLVER: env.positiveInt().default(10),
    /** Blocklist entries kept in the view. */
    CONSOLE_MAX_BLOCKLIST: env.positiveInt().default(500_000),
    /** An attack's report is rebuilt at most this often while offenders arrive. */
    CONSOLE_REPORT_INTERVAL_MS: env.positiveInt().default(3_000),
    /** Browsers get at most one update per interval (changes are coalesced). */
    CONSOLE_PUSH_INTERVAL_MS: env.positiveInt().default(1_000),
    CONSOLE_STAGES: stageList(),
    CONSOLE_HEALTH_INTERVAL_MS: env.positiveInt().default(5_000),
  })
  .superRefine(checkKafkaEnv);

export type ConsoleConfig = z.output<typeof consoleConfigSchema>;

export function loadConsoleConfig(source: Env = process.env): ConsoleConfig {
  return loadConfig(consoleConfigSchema, source);
}
