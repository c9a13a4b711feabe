import { isIP } from 'node:net';
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
import { blockActionSchema, Topics } from '@sluice/contracts';
import { ClientAllowlist } from '../core/client-allowlist';
import { subjectKinds, type SubjectKind } from '../core/scoring';
import { normaliseName, parseNetwork } from '@sluice/dns';

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

const enforceAction = blockActionSchema.exclude(['guard'], {
  message: 'must be drop, refused, nxdomain or truncate (guard applies only to zone-scoped kinds)',
});

const shadowKinds = () =>
  z
    .string()
    .trim()
    .default('false')
    .transform((v, ctx): Set<SubjectKind | 'zone'> => {
      const all = [...subjectKinds, 'zone'] as const;
      if (v === '' || v === 'false') return new Set();
      if (v === 'true') return new Set(all);
      const list = v.split(',').map((x) => x.trim());
      const bad = list.filter((x) => !(all as readonly string[]).includes(x));
      if (bad.length) {
        ctx.addIssue({
          code: 'custom',
          message: `must be true, false or a list of ${all.join(', ')} (not ${bad.join(', ')})`,
        });
        return z.NEVER;
      }
      return new Set(list as Array<SubjectKind | 'zone'>);
    });

const zoneFiles = () =>
  env
    .list()
    .refine(
      (l) => l.every((v) => /^[A-Za-z0-9_.-]+=.+$/.test(v)),
      'must be zone=path,zone=path (a master file per zone)',
    )
    .transform((l) =>
      l.map((v) => {
        const i = v.indexOf('=');
        return { zone: normaliseName(v.slice(0, i)), path: v.slice(i + 1) };
      }),
    );

const zoneTransfers = () =>
  env
    .list()
    .refine(
      (l) => l.every((v) => /^[A-Za-z0-9_.-]+=[^\s=@]+:\d{1,5}(@[A-Za-z0-9.\-_]+)?$/.test(v)),
      'must be zone=host:port or zone=host:port@tsig-key-name, comma separated',
    )
    .transform((l) =>
      l.map((v) => {
        const [zone, rest] = v.split('=') as [string, string];
        const [hostPort, key] = rest.split('@') as [string, string | undefined];
        const i = hostPort.lastIndexOf(':');
        return {
          zone: normaliseName(zone),
          host: hostPort.slice(0, i).replace(/^\[|\]$/g, ''),
          port: Number(hostPort.slice(i + 1)),
          keyName: key ?? null,
        };
      }),
    );

/** Every setting of the reputation service, validated once at boot. */
export const reputationConfigSchema = z
  .object({
    ...commonEnvShape,
    ...kafkaEnvShape,
    ...redisEnvShape,
    ...httpLimitsEnvShape,
    HTTP_PORT: env.port().default(8084),
    REPUTATION_GROUP_ID: z.string().default('sluice-reputation'),
    REPUTATION_INPUT_TOPIC: z.string().default('sluice.offenders.enriched.v1'),
    REPUTATION_OUTPUT_TOPIC: z.string().default('sluice.blocklist.v1'),
    REPUTATION_DEADLETTER_TOPIC: z.string().default('sluice.deadletter.v1'),
    /** Alerts (the zone guard follows them) and the names each attacked zone really has. */
    REPUTATION_ALERTS_TOPIC: z.string().min(1).default(Topics.alerts),
    REPUTATION_KNOWN_NAMES_TOPIC: z.string().min(1).default(Topics.knownNames),
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
    /**
     * Most subjects of each kind (resolver-zone, resolver, prefix, …) with a score in Redis; past
     * it the lowest scores are evicted with their evidence. Bounds Redis under a flood from
     * millions of distinct resolvers (~1 KB a resolver subject, docs/reliability.md, Overload).
     */
    REPUTATION_MAX_SUBJECTS: env
      .positiveInt()
      .min(1000, 'must be ≥ 1000: one fold chunk (1000 records) must fit before evicting')
      .default(200_000),
    /** Most members (zones of a resolver, resolvers of a prefix or ASN) kept per subject, newest first. */
    REPUTATION_MAX_MEMBERS: env.positiveInt().default(1000),
    REPUTATION_PREFIX_V4: env.positiveInt().max(32).default(24),
    REPUTATION_PREFIX_V6: env.positiveInt().max(128).default(48),
    /** Widest prefix ever blocked: enrichment ranges wider than this are narrowed to it. */
    REPUTATION_MAX_PREFIX_V4: env
      .positiveInt()
      .min(24, 'must be 24 or longer: packaged range data is too coarse for wider blocks')
      .max(32)
      .default(24),
    REPUTATION_MAX_PREFIX_V6: env
      .positiveInt()
      .min(48, 'must be 48 or longer: packaged range data is too coarse for wider blocks')
      .max(128)
      .default(48),
    /**
     * Non-attack queries in one record that count as legitimate traffic seen from a resolver; the
     * same count of decayed non-attack queries in a subject's sums rules out an outright block.
     */
    REPUTATION_LEGIT_MIN_QUERIES: env.positiveInt().default(5),
    /**
     * The clock blocks start and expire on (decay always uses event time): 'wall' (live),
     * 'event' (each zone's newest event time; replays), or 'auto' — wall, except zones whose
     * records lag the wall clock by more than REPUTATION_AUTO_EVENT_LAG_MS (a replay).
     */
    REPUTATION_CLOCK: z
      .enum(['wall', 'event', 'auto'], { message: 'must be wall, event or auto' })
      .default('auto'),
    REPUTATION_AUTO_EVENT_LAG_MS: env.positiveInt().default(minutes(5)),
    BLOCK_THRESHOLD_RESOLVER_ZONE: z.coerce.number().min(0).max(100).default(50),
    BLOCK_THRESHOLD_RESOLVER: z.coerce.number().min(0).max(100).default(80),
    BLOCK_THRESHOLD_PREFIX: z.coerce.number().min(0).max(100).default(80),
    BLOCK_THRESHOLD_ASN: z.coerce.number().min(0).max(100).default(90),
    BLOCK_THRESHOLD_PREFIX_ZONE: z.coerce.number().min(0).max(100).default(80),
    BLOCK_THRESHOLD_ASN_ZONE: z.coerce.number().min(0).max(100).default(90),
    /** Zone-scoped kinds default to `guard`: the offenders get the zone guard, not a refusal. */
    BLOCK_ACTION_RESOLVER_ZONE: blockActionSchema.default('guard'),
    BLOCK_ACTION_PREFIX_ZONE: blockActionSchema.default('guard'),
    BLOCK_ACTION_ASN_ZONE: blockActionSchema.default('guard'),
    BLOCK_ACTION_RESOLVER: enforceAction.default('drop'),
    BLOCK_ACTION_PREFIX: enforceAction.default('drop'),
    BLOCK_ACTION_ASN: enforceAction.default('drop'),
    /** Outright (every-zone) prefix and ASN blocks: opt-in. */
    BLOCK_OUTRIGHT_NETWORKS: env.bool().default(false),
    /**
     * Outright (every-zone) resolver blocks: opt-in. A flood through an ISP's resolvers rides on
     * its users' traffic; blocked outright, the users lose every zone (closed-loop, 40x through
     * ISP resolvers: 10 % of the other zones' legitimate queries). The zone guard and the
     * per-zone entries stop the flood on the attacked zones without it.
     */
    BLOCK_OUTRIGHT_RESOLVERS: env.bool().default(false),
    BLOCK_TTL_MS: env.positiveInt().default(minutes(30)),
    BLOCK_MAX_ENTRIES: env.positiveInt().default(100_000),
    /** Dry-run: true (every kind), false, or a list of kinds (e.g. zone,resolver-zone). */
    BLOCK_SHADOW: shadowKinds(),
    /** Zone guard: while a zone is attacked, answer its known names and refuse the rest. */
    GUARD_ENABLED: env.bool().default(true),
    GUARD_ACTION: enforceAction.default('refused'),
    /** For zones whose own data (GUARD_ZONE_FILES/AXFR) the guard has: every name is known. */
    GUARD_ACTION_WITH_ZONE_DATA: enforceAction.default('nxdomain'),
    GUARD_HOLD_MS: env.positiveInt().default(60_000),
    GUARD_STALE_MS: env.positiveInt().default(minutes(2)),
    GUARD_ALL_MIN_QPS: env.positiveNumber().default(50),
    GUARD_MAX_LEAK_SHARE: z.coerce.number().min(0).max(1).default(0.05),
    /** ~35 bytes a name: 200,000 names stay inside the topics' 8 MiB messages. */
    GUARD_MAX_NAMES: env
      .positiveInt()
      .max(200_000, 'must be ≤ 200000: a guard travels as one Kafka message (8 MiB)')
      .default(100_000),
    /** A zone's own names from a master file (e.g. `dig axfr` output): zone=path,… */
    GUARD_ZONE_FILES: zoneFiles().default([]),
    /** A zone's own names by AXFR from its primary (key from RPZ_TSIG_KEYS): zone=host:port[@key] */
    GUARD_ZONE_AXFR: zoneTransfers().default([]),
    /** How often zone files and AXFR sources are read again. */
    GUARD_ZONE_REFRESH_MS: env.positiveInt().default(15 * 60_000),
    BLOCK_SWEEP_MS: env.positiveInt().default(1000),
    ALLOWLIST_NETWORKS: networkList().default([]),
    ALLOWLIST_ASNS: asnList().default([]),
    ALLOWLIST_ZONES: zoneList().default([]),
    /** API keys for the HTTP feed (X-Api-Key header), one per client. Empty disables the feed. */
    FEED_API_KEYS: apiKeyList().default([]),
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
    /** Refuse unsigned requests; with no RPZ_TSIG_KEYS every request is refused. */
    RPZ_REQUIRE_TSIG: env.bool().default(true),
    /**
     * Client networks the policy-zone server answers (SOA, AXFR, IXFR); others get REFUSED even
     * with a valid key. Default loopback, like RPZ_HOST; 0.0.0.0/0,::/0 lets TSIG alone decide.
     */
    RPZ_XFR_ALLOW: networkList().default(['127.0.0.0/8', '::1']),
    /** A transfer is cut into TCP messages of at most this many records … */
    RPZ_XFR_MAX_RECORDS: env.positiveInt().max(10_000, 'must be ≤ 10000').default(400),
    /** … and at most this many bytes (TSIG included; TCP framing allows 65535). */
    RPZ_XFR_MAX_MESSAGE_BYTES: env
      .positiveInt()
      .min(1024, 'must be ≥ 1024: a record can take 520 bytes, TSIG 400')
      .max(65_535, 'must be ≤ 65535 (a DNS message over TCP)')
      .default(16_384),
    DNSDIST_CDB_PATH: z.string().optional(),
    /** Zone guards for dnsdist (zones + known names); default: beside DNSDIST_CDB_PATH. */
    DNSDIST_GUARD_CDB_PATH: z.string().optional(),
    DNSDIST_PREFIX_V4: prefixLengths(32).default([24]),
    DNSDIST_PREFIX_V6: prefixLengths(128).default([48]),
    /** dnsdist listeners (host:port) sent a NOTIFY after each write: they reload at once. */
    DNSDIST_NOTIFY: hostPortList().default([]),
  })
  .superRefine(checkKafkaEnv)
  .superRefine((c, ctx) => {
    // A secondary that is sent NOTIFY but refused the transfer would never catch up.
    let allow: ClientAllowlist | null = null;
    try {
      allow = new ClientAllowlist(c.RPZ_XFR_ALLOW);
    } catch {
      // RPZ_XFR_ALLOW's own check names it; zod runs this refinement regardless.
    }
    for (const n of allow ? c.RPZ_NOTIFY : []) {
      const host = n.slice(0, n.lastIndexOf(':')).replace(/^\[|\]$/g, '');
      if (isIP(host) && !allow!.allows(host))
        ctx.addIssue({
          code: 'custom',
          path: ['RPZ_NOTIFY'],
          message: `${n} is outside RPZ_XFR_ALLOW: that secondary would be refused the transfer`,
        });
    }
    // Fewer members kept than a rollup needs would make rollups impossible.
    for (const k of ['REPUTATION_ROLLUP_MIN_RESOLVERS', 'REPUTATION_RESOLVER_MIN_ZONES'] as const)
      if (c.REPUTATION_MAX_MEMBERS < c[k])
        ctx.addIssue({
          code: 'custom',
          path: ['REPUTATION_MAX_MEMBERS'],
          message: `must be ≥ ${k} (${c[k]}): fewer members kept could never reach it`,
        });
    for (const t of c.GUARD_ZONE_AXFR)
      if (t.keyName !== null && !c.RPZ_TSIG_KEYS.some((k) => k.name === t.keyName))
        ctx.addIssue({
          code: 'custom',
          path: ['GUARD_ZONE_AXFR'],
          message: `names TSIG key ${t.keyName} for ${t.zone}, which RPZ_TSIG_KEYS does not define`,
        });
    if (c.GUARD_ENABLED) return;
    for (const k of [
      'BLOCK_ACTION_RESOLVER_ZONE',
      'BLOCK_ACTION_PREFIX_ZONE',
      'BLOCK_ACTION_ASN_ZONE',
    ] as const)
      if (c[k] === 'guard')
        ctx.addIssue({
          code: 'custom',
          path: [k],
          message:
            'is guard, which needs GUARD_ENABLED=true (or choose drop, refused, nxdomain or truncate)',
        });
  });

export type ReputationConfig = z.output<typeof reputationConfigSchema>;

export function loadReputationConfig(source: Env = process.env): ReputationConfig {
  return loadConfig(reputationConfigSchema, source);
}
