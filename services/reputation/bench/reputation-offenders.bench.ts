/**
 * CPU per offender record through the reputation service's offender path, against the real broker
 * and Redis: sluice.offenders.enriched.v1 → decode + validate → fold (Redis Lua) → score → policy →
 * blocklist store → sluice.blocklist.v1 → commit. The e2e bench (docs/benchmarks/e2e.md) found this
 * path to cost as much per million queries as a whole stage: ~66 offender records per 1,000
 * queries during floods.
 *
 * CPU time (process.cpuUsage, all threads: GC included), not wall time: the box is shared. Each
 * round consumes the same input topic with a fresh consumer group and a fresh Redis prefix, from
 * the end of the first batch to the last record folded; each zone has a started alert (the guard
 * is decided per window, as in the service).
 *
 * Before/after in the same run: BENCH_BASELINE_SRC names another version of services/reputation/src
 * (inside services/reputation, so its packages resolve), e.g.
 *   mkdir -p services/reputation/.local/baseline &&
 *   git archive <rev> services/reputation/src | tar -x -C services/reputation/.local/baseline --strip-components=2
 *   BENCH_BASELINE_SRC=services/reputation/.local/baseline/src pnpm bench reputation-offenders
 * Rounds alternate baseline and current; the ratio is of their medians.
 */
import { resolve } from 'node:path';
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { encodeMessage, enrichedOffenderSchema, type EnrichedOffender } from '@sluice/contracts';
import { BatchingProducer, createKafka, provisionTopics, type Kafka } from '@sluice/kafka';
import { createRedis, type Redis } from '@sluice/redis';
import { formatIpv4, formatIpv6 } from '@sluice/dns';
import { machineLine, markdownTable } from '@sluice/testing';
import * as currentIndex from '../src';
import { OffendersConsumer as CurrentConsumer } from '../src/kafka/offenders.consumer';
import { BlocklistPublisher as CurrentPublisher } from '../src/kafka/blocklist.publisher';
import {
  alertOf,
  label,
  loadSource,
  median,
  rnd,
  type OffenderBenchSource,
} from './offender-bench-kit';

const log = (m: string) => process.stderr.write(`${m}\n`);
const ZONES = 10;
const RESOLVERS = Number(process.env.BENCH_RESOLVERS_PER_ZONE ?? 2_000);
const WINDOWS = Number(process.env.BENCH_WINDOWS ?? 2);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

type Src = OffenderBenchSource;

/** Ten floods' offender records as enrichment publishes them: 2,000 resolvers per zone per window. */
function floodRecords(
  zones: number,
  perZone: number,
  windows: number,
  t0: number,
): EnrichedOffender[] {
  const out: EnrichedOffender[] = [];
  const pools = Array.from({ length: zones }, () =>
    Array.from({ length: perZone }, (_, i) => {
      const x = rnd();
      const v6 = i % 10 === 9;
      const resolver = v6
        ? formatIpv6((0x2001n << 112n) | (BigInt(x) << 64n) | BigInt(rnd()))
        : formatIpv4(((x % 200) + 11) * 2 ** 24 + (rnd() & 0xffffff));
      const asn = 64_500 + (x % 300);
      const kind = i % 50 === 0 ? ('public' as const) : ('isp' as const);
      return {
        resolver,
        enrichment: {
          asn,
          asOrg: `AS-${asn}`,
          prefix: v6 ? null : `${resolver.split('.').slice(0, 2).join('.')}.0.0/16`,
          country: 'NL',
          resolverKind: kind,
          resolverOperator: kind === 'public' ? 'Example DNS' : null,
          note: kind === 'public' ? 'egress network of Example DNS' : null,
          miraiDefaultOperator: null,
        },
      };
    }),
  );
  for (let w = 0; w < windows; w++)
    for (let z = 0; z < zones; z++) {
      const zone = `victim${z}.example`;
      const ws = t0 + w * 10_000;
      for (const { resolver, enrichment } of pools[z]!) {
        const attack = 1 + (rnd() % 200);
        out.push({
          v: 1,
          zone,
          resolver,
          windowStart: ws,
          windowEnd: ws + 10_000,
          attackQueries: attack,
          totalQueries: attack + (rnd() % 5),
          alertId: `${zone}-alert-1`,
          evidence: Array.from({ length: 1 + (rnd() % 3) }, (_, i) => ({
            ts: ws + i * 1000 + (rnd() % 1000),
            resolver,
            qname: `${label()}.${zone}`,
          })),
          enrichment,
        });
      }
    }
  return out;
}

async function round(
  src: Src,
  name: string,
  kafka: Kafka,
  producer: BatchingProducer,
  input: string,
  output: string,
  n: number,
  t0: number,
  measure = false,
): Promise<RoundResult> {
  const prefix = `bench:repoff:${name}:${Math.random().toString(36).slice(2, 8)}:`;
  const redis: Redis = createRedis({ url: redisUrl, keyPrefix: prefix });
  await redis.connect();
  const config = src.index.loadReputationConfig({
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: prefix,
    REPUTATION_CLOCK: 'event',
    // The Redis bound an operator sets (default 200,000 subjects per kind).
    ...(process.env.REPUTATION_MAX_SUBJECTS
      ? { REPUTATION_MAX_SUBJECTS: process.env.REPUTATION_MAX_SUBJECTS }
      : {}),
  });
  const { pipeline } = src.index.createPipeline(config, redis, [
    new src.Publisher(producer, output),
  ]);
  for (let z = 0; z < ZONES; z++) await pipeline.onAlert(alertOf(`victim${z}.example`, t0));
  let cpu0: NodeJS.CpuUsage | null = null;
  let wall0 = 0n;
  let counted = 0;
  let heapPeak = 0;
  let rssPeak = 0;
  let seen = 0;
  let done: () => void = () => undefined;
  const finished = new Promise<void>((r) => (done = r));
  const ingest = pipeline.ingest.bind(pipeline);
  pipeline.ingest = async (records) => {
    await ingest(records);
    seen += records.length;
    // The clock starts after the first batch (group join, first fetch, script loading).
    if (cpu0 === null) {
      cpu0 = process.cpuUsage();
      profileStart();
      wall0 = process.hrtime.bigint();
    } else counted += records.length;
    const m = process.memoryUsage();
    heapPeak = Math.max(heapPeak, m.heapUsed);
    rssPeak = Math.max(rssPeak, m.rss);
    if (seen >= n) done();
  };
  const consumer = new src.Consumer(kafka, { groupId: `${prefix}g`, topic: input }, pipeline, () =>
    Promise.resolve(),
  );
  await consumer.start();
  await finished;
  const used = process.cpuUsage(cpu0!);
  profileStop(name);
  const wallMs = Number(process.hrtime.bigint() - wall0) / 1e6;
  await consumer.stop();
  await pipeline.settle();
  // Live heap once the run is over and before the service stops (caches and maps it keeps).
  if (measure) (globalThis as { gc?: () => void }).gc?.();
  const heapAfter = process.memoryUsage().heapUsed;
  const raw = createRedis({ url: redisUrl, keyPrefix: '' });
  raw.options.commandTimeout = undefined; // MEMORY USAGE of big member sets after a 1 M run
  let cursor = '0';
  let redisKeys = 0;
  let redisBytes = 0;
  do {
    const [next, keys] = await raw.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    redisKeys += keys.length;
    if (measure && keys.length) {
      const pipe = raw.pipeline();
      for (const k of keys) pipe.call('MEMORY', 'USAGE', k, 'SAMPLES', '0');
      for (const [, b] of (await pipe.exec()) ?? []) redisBytes += Number(b ?? 0);
    }
    if (keys.length) await raw.unlink(...keys);
  } while (cursor !== '0');
  raw.disconnect();
  redis.disconnect();
  return {
    cpuMs: (used.user + used.system) / 1000,
    records: counted,
    wallMs,
    heapPeak,
    rssPeak,
    redisKeys,
    redisBytes,
    heapAfter,
  };
}

interface RoundResult {
  cpuMs: number;
  records: number;
  wallMs: number;
  heapPeak: number;
  rssPeak: number;
  redisKeys: number;
  redisBytes: number;
  heapAfter: number;
}

/**
 * BENCH_OVERLOAD_RESOLVERS=N: one offender window from N distinct resolvers (over the ten zones),
 * current code only: peak heap and RSS against the idle process, and what the run left in Redis.
 * The input is produced in chunks and not kept, so the process's memory is the service's.
 */
async function overload(n: number): Promise<void> {
  const stamp = `bench.repoff.ovl.${Date.now()}`;
  const kafka = createKafka({
    brokers,
    clientId: 'bench-reputation-overload',
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
  const producer = new BatchingProducer(kafka);
  await producer.connect();
  const t0 = Date.UTC(2026, 0, 1);
  for (let i = 0; i < n; i += 5_000) {
    const chunk = [];
    for (let j = i; j < Math.min(n, i + 5_000); j++) {
      const zone = `victim${j % ZONES}.example`;
      const ip = (0x0b000000 + j * 7) >>> 0;
      const resolver = formatIpv4(ip);
      const asn = 64_500 + ((ip >>> 16) % 300);
      const attack = 1 + (j % 200);
      const r: EnrichedOffender = {
        v: 1,
        zone,
        resolver,
        windowStart: t0,
        windowEnd: t0 + 10_000,
        attackQueries: attack,
        totalQueries: attack + 2,
        alertId: `${zone}-alert-1`,
        evidence: [{ ts: t0 + 1, resolver, qname: `${label()}.${zone}` }],
        enrichment: {
          asn,
          asOrg: `AS-${asn}`,
          prefix: `${resolver.split('.').slice(0, 2).join('.')}.0.0/16`,
          country: 'NL',
          resolverKind: 'isp',
          resolverOperator: null,
          note: null,
          miraiDefaultOperator: null,
        },
      };
      chunk.push({ key: zone, value: encodeMessage(enrichedOffenderSchema, r) });
    }
    await producer.send(input, chunk);
  }
  const src = { index: currentIndex, Consumer: CurrentConsumer, Publisher: CurrentPublisher };
  (globalThis as { gc?: () => void }).gc?.();
  const idle = process.memoryUsage();
  const load0 = loadavg();
  const res = await round(src, 'current', kafka, producer, input, output, n, t0, true);
  const load1 = loadavg();
  await producer.disconnect();
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [input, output] });
  await admin.disconnect();
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
  process.stdout.write(
    [
      `## Reputation under offender records from ${n.toLocaleString('en-US')} distinct resolvers`,
      '',
      `${machineLine()}; load average ${load0.map((x) => x.toFixed(1)).join(' ')} → ${load1.map((x) => x.toFixed(1)).join(' ')}. \`BENCH_OVERLOAD_RESOLVERS=${n}\` (services/reputation/bench/reputation-offenders.bench.ts), one window, ${ZONES} zones, defaults (key TTL max(20 half-lives, 1 day); REPUTATION_MAX_SUBJECTS ${currentIndex.loadReputationConfig({ REPUTATION_MAX_SUBJECTS: process.env.REPUTATION_MAX_SUBJECTS }).REPUTATION_MAX_SUBJECTS.toLocaleString('en-US')} per kind).`,
      '',
      markdownTable(
        [
          'records',
          'records/s (wall)',
          'CPU per record',
          'heap: idle → peak → live after',
          'RSS: idle → peak',
          'Redis keys',
          'Redis bytes (MEMORY USAGE)',
          'per resolver',
        ],
        [
          [
            n.toLocaleString('en-US'),
            Math.round(res.records / (res.wallMs / 1000)).toLocaleString('en-US'),
            `${((res.cpuMs * 1000) / res.records).toFixed(1)} µs`,
            `${mib(idle.heapUsed)} → ${mib(res.heapPeak)} → ${mib(res.heapAfter)}`,
            `${mib(idle.rss)} → ${mib(res.rssPeak)}`,
            res.redisKeys.toLocaleString('en-US'),
            mib(res.redisBytes),
            `${Math.round(res.redisBytes / n)} B`,
          ],
        ],
      ),
      '',
    ].join('\n'),
  );
}

/** BENCH_PROFILE=<dir>: a V8 CPU profile of each measured round (after the first batch). */
const profileDir = process.env.BENCH_PROFILE;
let session: Session | null = null;
let profiles = 0;
function profileStart(): void {
  if (!profileDir) return;
  session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.start');
}
function profileStop(name: string): void {
  const s = session;
  if (!s) return;
  session = null;
  s.post('Profiler.stop', (error, result) => {
    if (!error)
      writeFileSync(
        `${profileDir}/${name}-${profiles++}.cpuprofile`,
        JSON.stringify(result.profile),
      );
    s.disconnect();
  });
}

async function main(): Promise<void> {
  const overloadN = Number(process.env.BENCH_OVERLOAD_RESOLVERS ?? 0);
  if (overloadN > 0) return overload(overloadN);
  const stamp = `bench.repoff.${Date.now()}`;
  const kafka = createKafka({
    brokers,
    clientId: 'bench-reputation-offenders',
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

  const variants: Array<{ name: string; src: Src }> = [
    {
      name: 'current',
      src: { index: currentIndex, Consumer: CurrentConsumer, Publisher: CurrentPublisher },
    },
  ];
  const baseDir = process.env.BENCH_BASELINE_SRC;
  if (baseDir) variants.unshift({ name: 'baseline', src: loadSource(resolve(baseDir)) });

  const load0 = loadavg();
  log('warm-up…');
  for (const v of variants)
    await round(v.src, v.name, kafka, producer, input, output, records.length, t0);
  const perRecord = new Map<string, number[]>(variants.map((v) => [v.name, []]));
  const cpuMs = new Map<string, number[]>(variants.map((v) => [v.name, []]));
  for (let r = 0; r < ROUNDS; r++)
    for (const v of r % 2 ? [...variants].reverse() : variants) {
      const res = await round(v.src, v.name, kafka, producer, input, output, records.length, t0);
      perRecord.get(v.name)!.push((res.cpuMs * 1000) / res.records);
      cpuMs.get(v.name)!.push(res.cpuMs);
      log(
        `round ${r} ${v.name}: ${res.cpuMs.toFixed(0)} ms CPU for ${res.records} records, ${res.wallMs.toFixed(0)} ms wall`,
      );
    }
  const load1 = loadavg();
  await producer.disconnect();
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [input, output] });
  await admin.disconnect();

  const base = median(perRecord.get(variants[0]!.name)!);
  const out = [
    '## Reputation: CPU per offender record (Kafka → fold → policy → blocklist → commit)',
    '',
    `${machineLine()}; load average ${load0.map((x) => x.toFixed(1)).join(' ')} at the start, ${load1.map((x) => x.toFixed(1)).join(' ')} at the end.`,
    '',
    '`pnpm bench reputation-offenders` (services/reputation/bench/reputation-offenders.bench.ts)' +
      (baseDir ? ` with \`BENCH_BASELINE_SRC=${baseDir}\`` : ''),
    '',
    `${records.length.toLocaleString('en-US')} enriched offender records per round (${ZONES} flooded zones × ${RESOLVERS.toLocaleString('en-US')} resolvers × ${WINDOWS} windows, 10 % IPv6, 1–3 evidence samples, an alert per zone), 3 partitions, real broker and Redis, blocklist published to Kafka. CPU of the whole process (GC included) after the first batch to the last record folded; ${ROUNDS} rounds per variant, alternating.`,
    '',
    markdownTable(
      [
        'variant',
        'CPU ms per round',
        'CPU per record (median)',
        'records per CPU-second',
        'vs baseline',
      ],
      variants.map((v) => {
        const m = median(perRecord.get(v.name)!);
        return [
          v.name,
          cpuMs
            .get(v.name)!
            .map((x) => x.toFixed(0))
            .join(', '),
          `${m.toFixed(1)} µs`,
          `${Math.round(1e6 / m).toLocaleString('en-US')}/s`,
          variants.length > 1 ? `${(base / m).toFixed(2)}× less CPU` : '—',
        ];
      }),
    ),
    '',
  ];
  process.stdout.write(out.join('\n'));
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
