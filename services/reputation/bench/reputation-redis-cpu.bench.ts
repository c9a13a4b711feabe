/**
 * The offender path's CPU in the reputation process AND in Redis, per offender record, same run,
 * against an earlier version of services/reputation/src — and a check that both produce the same
 * blocklist (and the same Redis state) from the same input.
 *
 * Redis is its own redis-server, started here on a free port and stopped at the end, so its CPU
 * (INFO cpu: used_cpu_user + used_cpu_sys, all threads) is this bench's alone; the shared Redis
 * is not touched. The broker is the shared one (fresh topics). Each round consumes the same input
 * topic (sluice.offenders.enriched.v1 format) with a fresh consumer group and a flushed Redis,
 * through the service's OffendersConsumer → pipeline → blocklist publisher, from the end of the
 * first batch to the last record folded; rounds alternate baseline and current.
 *
 * Check phase (before the rounds): both variants ingest the same deterministic batches directly
 * (redeliveries, shared resolvers, no-ASN and IPv6 resolvers, legitimate traffic, public
 * resolvers; at the defaults and with tight REPUTATION_MAX_SUBJECTS/MAX_MEMBERS so eviction and
 * member trimming run, each with BLOCK_OUTRIGHT_NETWORKS off (the default) and on) and must leave
 * the same blocklist entries, publish the same upserts and removals in the same order (the
 * output digest), count the same stats and leave byte-identical Redis keys (values, TTL set or
 * not; the change log's fields, not its time-based ids).
 * BENCH_OUTRIGHT_NETWORKS=1 runs the rounds with BLOCK_OUTRIGHT_NETWORKS=true.
 *
 *   mkdir -p services/reputation/.local/ab/src && cp -r <old>/services/reputation/src services/reputation/.local/ab/
 *   BENCH_BASELINE_SRC=services/reputation/.local/ab/src pnpm bench reputation-redis-cpu
 */
import { createHash } from 'node:crypto';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import {
  encodeMessage,
  enrichedOffenderSchema,
  type BlocklistEntry,
  type EnrichedOffender,
} from '@sluice/contracts';
import { BatchingProducer, createKafka, provisionTopics, type Kafka } from '@sluice/kafka';
import { createRedis, type Redis } from '@sluice/redis';
import { formatIpv4, formatIpv6 } from '@sluice/dns';
import { machineLine, markdownTable, redisCpuMs, startBenchRedis } from '@sluice/testing';
import * as currentIndex from '../src';
import { OffendersConsumer as CurrentConsumer } from '../src/kafka/offenders.consumer';
import { BlocklistPublisher as CurrentPublisher } from '../src/kafka/blocklist.publisher';
import {
  alertOf,
  label,
  loadSource,
  median,
  reseed,
  rnd,
  type OffenderBenchSource,
} from './offender-bench-kit';

const log = (m: string) => process.stderr.write(`${m}\n`);
const ZONES = 10;
const RESOLVERS = Number(process.env.BENCH_RESOLVERS_PER_ZONE ?? 2_000);
const WINDOWS = Number(process.env.BENCH_WINDOWS ?? 2);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');

interface Src extends OffenderBenchSource {
  name: string;
}

interface Pool {
  resolver: string;
  enrichment: EnrichedOffender['enrichment'];
}

/** A resolver as enrichment describes it; `variety` adds no-ASN and unenriched ones. */
function resolverOf(i: number, variety: boolean): Pool {
  const x = rnd();
  const v6 = i % 10 === 9;
  const resolver = v6
    ? formatIpv6((0x2001n << 112n) | (BigInt(x) << 64n) | BigInt(rnd()))
    : formatIpv4(((x % 200) + 11) * 2 ** 24 + (rnd() & 0xffffff));
  const asn = variety && i % 13 === 5 ? null : 64_500 + (x % 300);
  const kind = i % 50 === 0 ? ('public' as const) : ('isp' as const);
  return {
    resolver,
    enrichment: {
      asn,
      asOrg: asn === null ? null : `AS-${asn}`,
      prefix:
        v6 || (variety && i % 17 === 3)
          ? null
          : `${resolver.split('.').slice(0, 2).join('.')}.0.0/16`,
      country: 'NL',
      resolverKind: kind,
      resolverOperator: kind === 'public' ? 'Example DNS' : null,
      note: kind === 'public' ? 'egress network of Example DNS' : null,
      miraiDefaultOperator: null,
    },
  };
}

function record(zone: string, p: Pool, ws: number, legit: boolean): EnrichedOffender {
  const attack = 1 + (rnd() % 200);
  return {
    v: 1,
    zone,
    resolver: p.resolver,
    windowStart: ws,
    windowEnd: ws + 10_000,
    attackQueries: attack,
    totalQueries: attack + (legit ? 50 + (rnd() % 500) : rnd() % 5),
    alertId: `${zone}-alert-1`,
    evidence: Array.from({ length: 1 + (rnd() % 3) }, (_, i) => ({
      ts: ws + i * 1000 + (rnd() % 1000),
      resolver: p.resolver,
      qname: `${label()}.${zone}`,
    })),
    enrichment: p.enrichment,
  };
}

/** Ten floods' offender records as enrichment publishes them (reputation-offenders' input). */
function floodRecords(zones: number, perZone: number, windows: number, t0: number) {
  const pools = Array.from({ length: zones }, () =>
    Array.from({ length: perZone }, (_, i) => resolverOf(i, false)),
  );
  const out: EnrichedOffender[] = [];
  for (let w = 0; w < windows; w++)
    for (let z = 0; z < zones; z++)
      for (const p of pools[z]!) out.push(record(`victim${z}.example`, p, t0 + w * 10_000, false));
  return out;
}

/**
 * Deterministic batches for the check: 6 zones, resolvers shared between zones, 5 windows (some
 * resolvers skip windows), legitimate traffic, batches of 700 cut across windows, and every
 * 5th batch followed by a redelivery of the one before.
 */
function checkBatches(t0: number): EnrichedOffender[][] {
  reseed(0x3c6ef372);
  const pool = Array.from({ length: 1_500 }, (_, i) => resolverOf(i, true));
  const recs: EnrichedOffender[] = [];
  for (let w = 0; w < 5; w++)
    for (let z = 0; z < 6; z++)
      for (let i = 0; i < pool.length; i++) {
        if ((i + z) % 3 === 0 || rnd() % 7 === 0) continue;
        recs.push(record(`Zone${z}.Example.`, pool[i]!, t0 + w * 10_000, i % 11 === 4));
      }
  const batches: EnrichedOffender[][] = [];
  for (let i = 0; i < recs.length; i += 700) {
    batches.push(recs.slice(i, i + 700));
    if (batches.length % 5 === 0) batches.push(recs.slice(i - 350, i + 350));
  }
  return batches;
}

/** Every key with its type, value and whether it expires; the change log without its ids. */
async function dumpRedis(raw: Redis): Promise<string> {
  const keys = (await raw.keys('*')).sort();
  const h = createHash('sha256');
  for (const k of keys) {
    const type = await raw.type(k);
    let v: unknown;
    switch (type) {
      case 'hash': {
        const fields = await raw.hgetall(k);
        // A subject's refresh stamp is Redis's clock when its expiries were last set: it differs
        // between any two runs (the check compares that an expiry is set, not when).
        if ('ts' in fields && 'x' in fields) delete fields.x;
        v = Object.entries(fields).sort(([a], [b]) => (a < b ? -1 : 1));
        break;
      }
      case 'zset':
        v = await raw.zrange(k, 0, -1, 'WITHSCORES');
        break;
      case 'list':
        v = await raw.lrange(k, 0, -1);
        break;
      case 'stream':
        v = (await raw.xrange(k, '-', '+')).map(([, f]) => f);
        break;
      default:
        v = await raw.get(k);
    }
    h.update(JSON.stringify([k, type, (await raw.pttl(k)) > 0, v]));
  }
  return `${keys.length} keys, sha256 ${h.digest('hex').slice(0, 16)}`;
}

async function check(variants: Src[], redisUrl: string): Promise<string[]> {
  const t0 = Date.UTC(2026, 0, 1);
  const batches = checkBatches(t0);
  const lines: string[] = [];
  const tight = {
    REPUTATION_MAX_SUBJECTS: '1000',
    REPUTATION_MAX_MEMBERS: '5',
    REPUTATION_EVIDENCE_PER_SUBJECT: '3',
  };
  const on = { BLOCK_OUTRIGHT_NETWORKS: 'true' };
  const configs: Array<[string, Record<string, string>]> = [
    ['defaults', {}],
    ['tight bounds', tight],
    ['outright on', on],
    ['outright on, tight bounds', { ...tight, ...on }],
  ];
  const raw = createRedis({ url: redisUrl, keyPrefix: '' });
  await raw.connect();
  for (const [label, env] of configs) {
    const seen: string[] = [];
    for (const v of variants) {
      await raw.flushall();
      const prefix = 'chk:';
      const redis = createRedis({ url: redisUrl, keyPrefix: prefix });
      await redis.connect();
      const config = v.index.loadReputationConfig({
        REDIS_URL: redisUrl,
        REDIS_KEY_PREFIX: prefix,
        REPUTATION_CLOCK: 'event',
        ...env,
      });
      const published: Array<[BlocklistEntry[], string[]]> = [];
      const { pipeline, blocklist } = v.index.createPipeline(config, redis, [
        {
          name: 'capture',
          changed: (u, r) => {
            published.push([structuredClone([...u]), [...r]]);
            return Promise.resolve();
          },
        },
      ]);
      for (let z = 0; z < 6; z++) await pipeline.onAlert(alertOf(`zone${z}.example`, t0));
      for (const b of batches) await pipeline.ingest(b);
      await pipeline.sweep();
      const snap = await blocklist.snapshot();
      const entries = snap.entries.sort((a, b) => (a.id < b.id ? -1 : 1));
      const sha = (x: unknown) =>
        createHash('sha256').update(JSON.stringify(x)).digest('hex').slice(0, 16);
      const digest = sha([entries, published]);
      const stats = sha(pipeline.stats);
      const state = await dumpRedis(raw);
      seen.push(`${digest} / ${stats} / ${state}`);
      const skipped = Object.entries(pipeline.stats.skipped)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([k, n]) => `${k} ${n.toLocaleString('en-US')}`)
        .join(', ');
      lines.push(
        `| ${label} | ${v.name} | ${entries.length.toLocaleString('en-US')} | ${published.reduce((n, [u]) => n + u.length, 0).toLocaleString('en-US')} | ${published.reduce((n, [, r]) => n + r.length, 0).toLocaleString('en-US')} | ${pipeline.stats.duplicates.toLocaleString('en-US')} | ${pipeline.stats.evicted.toLocaleString('en-US')} | ${skipped} | \`${digest}\` | \`${stats}\` | ${state} |`,
      );
      redis.disconnect();
    }
    // BENCH_CHECK_BLOCKLIST_ONLY, for a change to what is stored, evicted or evaluated on
    // purpose: 1 (every config) or the configs' names, comma-separated (e.g. `defaults,tight
    // bounds`). Those must still give the same output digest (entries, upserts, removals), except
    // under tight bounds (where the eviction decides) where nothing is enforced; stats and Redis
    // may differ. Other configs stay strict. The table shows everything either way.
    const looseList = process.env.BENCH_CHECK_BLOCKLIST_ONLY ?? '';
    const loose =
      looseList === '1' ||
      looseList
        .split(',')
        .map((x) => x.trim())
        .includes(label);
    const compared = loose ? seen.map((x) => x.split(' / ')[0]) : seen;
    if (new Set(compared).size !== 1 && !(loose && label.includes('tight')))
      throw new Error(`check (${label}): the variants differ:\n${seen.join('\n')}`);
  }
  await raw.flushall();
  raw.disconnect();
  return lines;
}

interface RoundResult {
  nodeMs: number;
  redisMs: number;
  records: number;
  wallMs: number;
  blocklist: string;
}

async function round(
  src: Src,
  kafka: Kafka,
  producer: BatchingProducer,
  input: string,
  output: string,
  n: number,
  t0: number,
  redisUrl: string,
): Promise<RoundResult> {
  const raw = createRedis({ url: redisUrl, keyPrefix: '' });
  await raw.connect();
  await raw.flushall();
  const prefix = `bench:rcpu:`;
  const redis: Redis = createRedis({ url: redisUrl, keyPrefix: prefix });
  await redis.connect();
  const config = src.index.loadReputationConfig({
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: prefix,
    REPUTATION_CLOCK: 'event',
    ...(process.env.BENCH_OUTRIGHT_NETWORKS ? { BLOCK_OUTRIGHT_NETWORKS: 'true' } : {}),
  });
  const { pipeline, blocklist } = src.index.createPipeline(config, redis, [
    new src.Publisher(producer, output),
  ]);
  for (let z = 0; z < ZONES; z++) await pipeline.onAlert(alertOf(`victim${z}.example`, t0));
  let cpu0: NodeJS.CpuUsage | null = null;
  let redis0 = 0;
  let wall0 = 0n;
  let counted = 0;
  let seen = 0;
  let done: () => void = () => undefined;
  const finished = new Promise<void>((r) => (done = r));
  const ingest = pipeline.ingest.bind(pipeline);
  pipeline.ingest = async (records) => {
    await ingest(records);
    seen += records.length;
    // The clock starts after the first batch (group join, first fetch, script loading).
    if (cpu0 === null) {
      redis0 = await redisCpuMs(raw);
      cpu0 = process.cpuUsage();
      wall0 = process.hrtime.bigint();
    } else counted += records.length;
    if (seen >= n) done();
  };
  const consumer = new src.Consumer(
    kafka,
    { groupId: `bench-rcpu-${Math.random().toString(36).slice(2)}`, topic: input },
    pipeline,
    () => Promise.resolve(),
  );
  await consumer.start();
  await finished;
  const used = process.cpuUsage(cpu0!);
  const redisMs = (await redisCpuMs(raw)) - redis0;
  const wallMs = Number(process.hrtime.bigint() - wall0) / 1e6;
  await consumer.stop();
  await pipeline.settle();
  // Entries only: where Kafka cuts the batches moves scores and expiries a little between
  // rounds of one variant too; the check above compares outputs on fixed batches.
  const entries = await blocklist.count();
  redis.disconnect();
  raw.disconnect();
  return {
    nodeMs: (used.user + used.system) / 1000,
    redisMs,
    records: counted,
    wallMs,
    blocklist: `${entries.toLocaleString('en-US')}`,
  };
}

async function main(): Promise<void> {
  const { url: redisUrl, stop } = await startBenchRedis();
  try {
    await run(redisUrl);
  } finally {
    stop();
  }
}

async function run(redisUrl: string): Promise<void> {
  const variants: Src[] = [
    {
      name: 'current',
      index: currentIndex,
      Consumer: CurrentConsumer,
      Publisher: CurrentPublisher,
    },
  ];
  const baseDir = process.env.BENCH_BASELINE_SRC;
  if (baseDir) variants.unshift({ name: 'baseline', ...loadSource(resolve(baseDir)) });

  log('check…');
  const checkLines = await check(variants, redisUrl);
  if (process.env.BENCH_CHECK_ONLY) {
    process.stdout.write(`${checkLines.join('\n')}\n`);
    return;
  }

  const stamp = `bench.rcpu.${Date.now()}`;
  const kafka = createKafka({
    brokers,
    clientId: 'bench-reputation-redis-cpu',
    sasl: null,
    tls: { enabled: false, caFile: null },
    topicPartitions: 3,
    replicationFactor: 1,
  });
  const input = `${stamp}.enriched`;
  const output = `${stamp}.blocklist`;
  await provisionTopics(
    kafka,
    [input, output].map((name) => ({ name, compacted: false })),
    { partitions: 3, replicationFactor: 1 },
  );
  const t0 = Date.UTC(2026, 0, 1);
  reseed(0x6a09e667);
  const records = floodRecords(ZONES, RESOLVERS, WINDOWS, t0);
  const producer = new BatchingProducer(kafka);
  await producer.connect();
  for (let i = 0; i < records.length; i += 2_000)
    await producer.send(
      input,
      records
        .slice(i, i + 2_000)
        .map((o) => ({ key: o.zone, value: encodeMessage(enrichedOffenderSchema, o) })),
    );

  const load0 = loadavg();
  log('warm-up…');
  for (const v of variants)
    await round(v, kafka, producer, input, output, records.length, t0, redisUrl);
  const res = new Map<string, RoundResult[]>(variants.map((v) => [v.name, []]));
  for (let r = 0; r < ROUNDS; r++)
    for (const v of r % 2 ? [...variants].reverse() : variants) {
      const x = await round(v, kafka, producer, input, output, records.length, t0, redisUrl);
      res.get(v.name)!.push(x);
      log(
        `round ${r} ${v.name}: reputation ${x.nodeMs.toFixed(0)} ms + Redis ${x.redisMs.toFixed(0)} ms CPU for ${x.records} records, ${x.wallMs.toFixed(0)} ms wall; blocklist ${x.blocklist}`,
      );
    }
  const load1 = loadavg();
  await producer.disconnect();
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [input, output] });
  await admin.disconnect();

  const per = (x: RoundResult, f: (x: RoundResult) => number) => (f(x) * 1000) / x.records;
  const med = (name: string, f: (x: RoundResult) => number) =>
    median(res.get(name)!.map((x) => per(x, f)));
  const both = (x: RoundResult) => x.nodeMs + x.redisMs;
  const base = variants[0]!.name;
  const out = [
    '## Reputation and Redis: CPU per offender record, with a same-output check',
    '',
    `${machineLine()}; load average ${load0.map((x) => x.toFixed(1)).join(' ')} at the start, ${load1.map((x) => x.toFixed(1)).join(' ')} at the end.`,
    '',
    '`pnpm bench reputation-redis-cpu` (services/reputation/bench/reputation-redis-cpu.bench.ts)' +
      (baseDir ? ` with \`BENCH_BASELINE_SRC=${baseDir}\`` : '') +
      (process.env.BENCH_OUTRIGHT_NETWORKS
        ? ' and `BENCH_OUTRIGHT_NETWORKS=1` (rounds with BLOCK_OUTRIGHT_NETWORKS=true)'
        : ' (rounds at the defaults: BLOCK_OUTRIGHT_NETWORKS off)'),
    '',
    `${records.length.toLocaleString('en-US')} enriched offender records per round (${ZONES} flooded zones × ${RESOLVERS.toLocaleString('en-US')} resolvers × ${WINDOWS} windows, as reputation-offenders), 3 partitions, real broker, a private redis-server (its CPU from INFO cpu, user + sys); reputation's CPU is the whole process (process.cpuUsage, GC included). From the end of the first batch to the last record folded; ${ROUNDS} rounds per variant, alternating. Median per record:`,
    '',
    markdownTable(
      [
        'variant',
        'reputation CPU ms per round',
        'Redis CPU ms per round',
        'reputation per record',
        'Redis per record',
        'both per record',
        'vs baseline (both)',
        'blocklist entries after each round',
      ],
      variants.map((v) => {
        const xs = res.get(v.name)!;
        const b = med(v.name, both);
        return [
          v.name,
          xs.map((x) => x.nodeMs.toFixed(0)).join(', '),
          xs.map((x) => x.redisMs.toFixed(0)).join(', '),
          `${med(v.name, (x) => x.nodeMs).toFixed(1)} µs`,
          `${med(v.name, (x) => x.redisMs).toFixed(1)} µs`,
          `${b.toFixed(1)} µs`,
          variants.length > 1 ? `${(med(base, both) / b).toFixed(2)}× less CPU` : '—',
          [...new Set(xs.map((x) => x.blocklist))].join('; '),
        ];
      }),
    ),
    '',
    'Same-output check (deterministic batches ingested directly: 6 zones, shared resolvers, no-ASN/unenriched/IPv6/public resolvers, legitimate traffic, redeliveries; swept at the end). Output = sha256 of the sorted blocklist entries and every published upsert/removal in order; stats = sha256 of the pipeline stats (skips by reason included); Redis = every key, its value and whether it expires:',
    '',
    '| config | variant | entries | upserts published | removals published | duplicates | evicted | skipped | output | stats | Redis |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...checkLines,
    '',
  ];
  process.stdout.write(out.join('\n'));
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
