/**
 * CPU per offender record through the enrichment service's offender path, against the real broker
 * and Redis: sluice.offenders.v1 → decode + validate → enrich → publish sluice.offenders.enriched.v1
 * → report aggregates in Redis → commit. The e2e bench (docs/benchmarks/e2e.md) found this path,
 * not the lookups, to be what the service spends its time on: ~66 offender records per 1,000
 * queries during floods.
 *
 * CPU time (process.cpuUsage, all threads: GC included), not wall time: the box is shared.
 * Each round consumes the same input topic with a fresh consumer group and a fresh Redis prefix,
 * from the first batch handed to the handler to the last record stored.
 *
 * Before/after in the same run: BENCH_BASELINE_SRC names another version of services/enrichment/src
 * (it must sit inside services/enrichment so its packages resolve), e.g.
 *   mkdir -p services/enrichment/.local/baseline &&
 *   git archive <rev> services/enrichment/src | tar -x -C services/enrichment/.local/baseline --strip-components=2
 *   BENCH_BASELINE_SRC=services/enrichment/.local/baseline/src pnpm bench enrichment-offenders
 * Rounds alternate baseline and current, and the ratio is of their medians.
 *
 * BENCH_E2E_SHAPE=1: the stream `pnpm bench e2e` hands this service, each pass a fresh process
 * (see e2eShape below); BENCH_NODE_ARGS adds node flags to those processes.
 */
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';
import { encodeMessage, offenderSchema, type Offender } from '@sluice/contracts';
import { createKafka, provisionTopics, BatchingProducer, type Kafka } from '@sluice/kafka';
import { formatIpv4, formatIpv6 } from '@sluice/dns';
import { createRedis } from '@sluice/redis';
import { machineLine, markdownTable, startBenchRedis } from '@sluice/testing';
import { loadavg } from 'node:os';
import * as current from '../src';
import { loadEnrichmentConfig } from '../src/config/enrichment.config';
import { loadEnrichmentData } from '../src/enrichment.runtime';

const log = (m: string) => process.stderr.write(`${m}\n`);
const ZONES = 10;
const RESOLVERS = Number(process.env.BENCH_RESOLVERS_PER_ZONE ?? 2_000);
const WINDOWS = Number(process.env.BENCH_WINDOWS ?? 2);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
let redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

type Runtime = {
  start(): Promise<void>;
  stop(): Promise<void>;
  redis: { keys(p: string): Promise<string[]>; del(...k: string[]): Promise<number> };
};
type Variant = {
  name: string;
  /** Settings of this variant (e.g. its REPORT_MAX_RESOLVER_ROWS). */
  env?: Record<string, string>;
  make(env: Record<string, string>, hooks: { processed(n: number): void }): Runtime;
};

let seed = 0x2545f491;
const rnd = () => {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return seed >>> 0;
};
function publicV4(): string {
  for (;;) {
    const x = rnd();
    const a = x >>> 24;
    if (a === 0 || a === 10 || a === 127 || a === 100 || a === 172 || a === 192 || a >= 224)
      continue;
    return formatIpv4(x);
  }
}
const label = () => (rnd().toString(36) + rnd().toString(36)).slice(0, 12);

/** What the detector emits during ten floods: every offending resolver per zone per window. */
export function floodRecords(
  zones: number,
  resolversPerZone: number,
  windows: number,
  t0: number,
): Offender[] {
  const out: Offender[] = [];
  const pools = Array.from({ length: zones }, () =>
    Array.from({ length: resolversPerZone }, (_, i) =>
      i % 10 === 9
        ? formatIpv6((0x2001n << 112n) | (BigInt(rnd()) << 64n) | BigInt(rnd()))
        : publicV4(),
    ),
  );
  for (let w = 0; w < windows; w++)
    for (let z = 0; z < zones; z++) {
      const zone = `victim${z}.example`;
      const ws = t0 + w * 10_000;
      for (const resolver of pools[z]!) {
        const attack = 1 + (rnd() % 200);
        const n = 1 + (rnd() % 3);
        out.push({
          v: 1,
          zone,
          resolver,
          windowStart: ws,
          windowEnd: ws + 10_000,
          attackQueries: attack,
          totalQueries: attack + (rnd() % 5),
          alertId: `${zone}-alert-1`,
          evidence: Array.from({ length: n }, (_, i) => ({
            ts: ws + i * 1000 + (rnd() % 1000),
            resolver,
            qname: `${label()}.${zone}`,
          })),
        });
      }
    }
  return out;
}

/**
 * One copy of the IP data for every variant: a 1 M-resolver run with three variants in one
 * process ran out of a 384 MiB old space holding three. Each variant gets its own code's Enricher
 * over the same sources (the consumer calls it, and its API may differ between versions). Each
 * round starts with its caches cleared.
 */
let sharedData: ReturnType<typeof loadEnrichmentData> | null = null;
const enrichers: Array<{ replaceSources(next: object): void }> = [];

function variantFrom(name: string, src: typeof current, cfg: typeof loadEnrichmentConfig): Variant {
  const shared = (sharedData ??= loadEnrichmentData(cfg({ ENRICH_MMDB_WATCH: 'false' })));
  let data = shared;
  if (src !== current) {
    const sources = (shared.enricher as unknown as { sources: object }).sources;
    const enricher = new src.Enricher(sources as never, cfg({}).ENRICH_CACHE_SIZE);
    data = Object.assign(Object.create(shared) as typeof shared, { enricher });
    enrichers.push(enricher);
  }
  return {
    name,
    make: (env, hooks) =>
      new src.EnrichmentRuntime(
        cfg(env),
        { processed: (n) => hooks.processed(n), bad: () => undefined },
        data as never,
      ) as unknown as Runtime,
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

/** MEMORY USAGE of every key (exact: SAMPLES 0), summed; full key names, unprefixed client. */
async function redisBytes(keys: readonly string[]): Promise<number> {
  const raw = createRedis({ url: redisUrl, keyPrefix: '' });
  // MEMORY USAGE … SAMPLES 0 walks a hash of a million fields: longer than the services' timeout.
  raw.options.commandTimeout = undefined;
  await raw.connect();
  let total = 0;
  for (let i = 0; i < keys.length; i += 2_000) {
    const pipe = raw.pipeline();
    for (const k of keys.slice(i, i + 2_000)) pipe.call('MEMORY', 'USAGE', k, 'SAMPLES', '0');
    for (const [, n] of (await pipe.exec()) ?? []) total += Number(n ?? 0);
  }
  raw.disconnect();
  return total;
}

async function round(
  v: Variant,
  inputTopic: string,
  n: number,
  stamp: string,
  measureRedis = false,
  /** Called once the last record is stored, before anything is measured or deleted. */
  sampler?: () => Promise<void>,
  /** Start the clock before the runtime starts, first batch included (cold processes). */
  fromStart = false,
): Promise<RoundResult> {
  const prefix = `${stamp}:${v.name}:${Math.random().toString(36).slice(2, 8)}:`;
  let seen = 0;
  let counted = 0;
  let cpu0: NodeJS.CpuUsage | null = null;
  let wall0 = 0n;
  let heapPeak = 0;
  let rssPeak = 0;
  let done: () => void = () => undefined;
  const finished = new Promise<void>((r) => (done = r));
  const runtime = v.make(
    {
      ...v.env,
      KAFKA_BROKERS: brokers.join(','),
      REDIS_URL: redisUrl,
      REDIS_KEY_PREFIX: prefix,
      ENRICH_CONSUMER_GROUP: `${prefix}g`,
      ENRICH_OFFENDERS_TOPIC: inputTopic,
      ENRICH_ALERTS_TOPIC: `${stamp}.alerts`,
      ENRICH_OUTPUT_TOPIC: `${stamp}.enriched`,
      ENRICH_DEADLETTER_TOPIC: `${stamp}.dlq`,
      ENRICH_MMDB_WATCH: 'false',
    },
    {
      processed: (k) => {
        seen += k;
        // The clock starts once the first batch is done (group join, first fetch, script loading).
        if (cpu0 === null && !fromStart) {
          cpu0 = process.cpuUsage();
          profileStart();
          wall0 = process.hrtime.bigint();
        } else counted += k;
        const m = process.memoryUsage();
        heapPeak = Math.max(heapPeak, m.heapUsed);
        rssPeak = Math.max(rssPeak, m.rss);
        if (seen >= n) done();
      },
    },
  );
  // a cold LRU, as in a fresh process
  for (const e of [sharedData?.enricher, ...enrichers]) e?.replaceSources({});
  if (fromStart) {
    cpu0 = process.cpuUsage();
    profileStart();
    wall0 = process.hrtime.bigint();
  }
  await runtime.start();
  await finished;
  await sampler?.();
  const used = process.cpuUsage(cpu0!);
  profileStop(v.name);
  const wallMs = Number(process.hrtime.bigint() - wall0) / 1e6;
  const keys = (await runtime.redis.keys(`${prefix}*`)).map((k) => k.slice(prefix.length));
  // Live heap once the run is over and before the service stops (caches and maps it keeps).
  if (measureRedis) (globalThis as { gc?: () => void }).gc?.();
  const heapAfter = process.memoryUsage().heapUsed;
  const bytes = measureRedis ? await redisBytes(keys.map((k) => prefix + k)) : 0;
  // One key a call: after a 1 M-resolver run each scope's hash has a million fields, and freeing
  // 500 of them in one DEL outlasts the client's command timeout.
  for (let i = 0; i < keys.length; i += measureRedis ? 1 : 500)
    await runtime.redis.del(...keys.slice(i, i + (measureRedis ? 1 : 500)));
  await runtime.stop();
  return {
    cpuMs: (used.user + used.system) / 1000,
    records: counted,
    wallMs,
    heapPeak,
    rssPeak,
    redisKeys: keys.length,
    redisBytes: bytes,
    heapAfter,
  };
}

/**
 * BENCH_PROFILE=<dir>: a V8 CPU profile of each measured round (after the first batch); with
 * BENCH_HEAP_PROFILE=1 a sampled allocation profile instead (what the GC has to clear).
 */
const profileDir = process.env.BENCH_PROFILE;
const heapProfile = process.env.BENCH_HEAP_PROFILE === '1';
let session: Session | null = null;
let profiles = 0;
function profileStart(): void {
  if (!profileDir) return;
  session = new Session();
  session.connect();
  if (heapProfile) {
    // Sampled allocations, including what young-generation GCs free: the garbage per record.
    session.post('HeapProfiler.enable');
    session.post('HeapProfiler.startSampling', {
      samplingInterval: 4096,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
    return;
  }
  session.post('Profiler.enable');
  session.post('Profiler.start');
}
function profileStop(name: string): void {
  const s = session;
  if (!s) return;
  session = null;
  if (heapProfile) {
    s.post('HeapProfiler.stopSampling', (error, result) => {
      if (!error)
        writeFileSync(
          `${profileDir}/${name}-${profiles++}.heapprofile`,
          JSON.stringify(result.profile),
        );
      s.disconnect();
    });
    return;
  }
  s.post('Profiler.stop', (error, result) => {
    if (!error)
      writeFileSync(
        `${profileDir}/${name}-${profiles++}.cpuprofile`,
        JSON.stringify(result.profile),
      );
    s.disconnect();
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** The records onto the input topic, in chunks, as the detector publishes them (keyed by zone). */
async function publishRecords(kafka: Kafka, input: string, records: readonly Offender[]) {
  const producer = new BatchingProducer(kafka);
  await producer.connect();
  for (let i = 0; i < records.length; i += 2_000)
    await producer.send(
      input,
      records
        .slice(i, i + 2_000)
        .map((o) => ({ key: o.zone, value: encodeMessage(offenderSchema, o) })),
    );
  await producer.disconnect();
}

/** A run's own client and fresh topics (offenders in; alerts, enriched, dead letters out). */
async function benchTopics(kind: string, clientId: string, partitions: number) {
  const stamp = `bench.enroff.${kind}.${Date.now()}`;
  const kafka = createKafka({
    brokers,
    clientId,
    sasl: null,
    tls: { enabled: false, caFile: null },
    topicPartitions: partitions,
    replicationFactor: 1,
  });
  const input = `${stamp}.offenders`;
  const topics = [input, `${stamp}.alerts`, `${stamp}.enriched`, `${stamp}.dlq`];
  await provisionTopics(
    kafka,
    topics.map((name) => ({ name, compacted: false })),
    { partitions, replicationFactor: 1 },
  );
  return { kafka, stamp, input, topics };
}

/**
 * BENCH_OVERLOAD_RESOLVERS=N: one offender window from N distinct resolvers (over the ten zones)
 * through each variant in turn — the current code at each REPORT_MAX_RESOLVER_ROWS of
 * BENCH_OVERLOAD_CAPS (comma list; default the setting's default), after BENCH_BASELINE_SRC's
 * code when given (e.g. the commit before the cap: uncapped) — each against a private
 * redis-server started here (REDIS_URL is not used): its used_memory before, at the peak
 * (sampled every second) and after, and its CPU (INFO cpu). Also the process's heap and RSS and
 * what the run left (keys, MEMORY USAGE). The input is produced in chunks and not kept.
 */
async function overload(n: number): Promise<void> {
  const { kafka, stamp, input, topics } = await benchTopics('ovl', 'bench-enrichment-overload', 3);
  const producer = new BatchingProducer(kafka);
  await producer.connect();
  const ws = Date.UTC(2026, 0, 1);
  for (let i = 0; i < n; i += 5_000) {
    const chunk = [];
    for (let j = i; j < Math.min(n, i + 5_000); j++) {
      const zone = `victim${j % ZONES}.example`;
      // distinct public addresses: 11.0.0.0 upwards
      const resolver = formatIpv4((0x0b000000 + j * 7) >>> 0);
      const attack = 1 + (j % 200);
      chunk.push({
        key: zone,
        value: encodeMessage(offenderSchema, {
          v: 1,
          zone,
          resolver,
          windowStart: ws,
          windowEnd: ws + 10_000,
          attackQueries: attack,
          totalQueries: attack + 2,
          alertId: `${zone}-alert-1`,
          evidence: [{ ts: ws + 1, resolver, qname: `${label()}.${zone}` }],
        }),
      });
    }
    await producer.send(input, chunk);
  }
  await producer.disconnect();
  const variants: Variant[] = [];
  const baseDir = process.env.BENCH_BASELINE_SRC;
  if (baseDir) variants.push(baselineVariant(baseDir));
  const caps = (
    process.env.BENCH_OVERLOAD_CAPS ?? String(loadEnrichmentConfig({}).REPORT_MAX_RESOLVER_ROWS)
  )
    .split(',')
    .filter(Boolean);
  for (const cap of caps)
    variants.push({
      ...variantFrom(
        `rows ≤ ${Number(cap).toLocaleString('en-US')}`,
        current,
        loadEnrichmentConfig,
      ),
      env: { REPORT_MAX_RESOLVER_ROWS: cap },
    });
  const server = await startBenchRedis();
  redisUrl = server.url;
  const raw = createRedis({ url: server.url, keyPrefix: '' });
  raw.options.commandTimeout = undefined;
  await raw.connect();
  const info = async (section: string, k: string) =>
    Number(new RegExp(`^${k}:([\\d.]+)`, 'm').exec(await raw.info(section))?.[1] ?? NaN);
  const cpuMs = async () =>
    ((await info('cpu', 'used_cpu_user')) + (await info('cpu', 'used_cpu_sys'))) * 1000;
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
  const rows: string[][] = [];
  const load0 = loadavg();
  for (const v of variants) {
    (globalThis as { gc?: () => void }).gc?.();
    const idle = process.memoryUsage();
    const before = await info('memory', 'used_memory');
    const redisCpu0 = await cpuMs();
    let peak = before;
    let after = before;
    let redisCpu = 0;
    const timer = setInterval(() => {
      void info('memory', 'used_memory').then(
        (m) => (peak = Math.max(peak, m)),
        () => undefined,
      );
    }, 1_000);
    const res = await round(v, input, n, stamp, true, async () => {
      clearInterval(timer);
      redisCpu = (await cpuMs()) - redisCpu0;
      after = await info('memory', 'used_memory');
      peak = Math.max(peak, after);
    });
    log(
      `${v.name}: ${((res.cpuMs * 1000) / res.records).toFixed(1)} µs/record, Redis ${mib(after)}`,
    );
    rows.push([
      v.name,
      Math.round(res.records / (res.wallMs / 1000)).toLocaleString('en-US'),
      `${((res.cpuMs * 1000) / res.records).toFixed(1)} µs`,
      `${((redisCpu * 1000) / res.records).toFixed(1)} µs`,
      `${mib(idle.heapUsed)} → ${mib(res.heapPeak)} → ${mib(res.heapAfter)}`,
      `${mib(idle.rss)} → ${mib(res.rssPeak)}`,
      res.redisKeys.toLocaleString('en-US'),
      mib(res.redisBytes),
      `${mib(before)} → ${mib(peak)} → ${mib(after)}`,
      `${Math.round((after - before) / n)} B`,
    ]);
  }
  const load1 = loadavg();
  raw.disconnect();
  server.stop();
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics });
  await admin.disconnect();
  process.stdout.write(
    [
      `## Enrichment under offender records from ${n.toLocaleString('en-US')} distinct resolvers`,
      '',
      `${machineLine()}; load average ${load0.map((x) => x.toFixed(1)).join(' ')} → ${load1.map((x) => x.toFixed(1)).join(' ')}. \`BENCH_OVERLOAD_RESOLVERS=${n}\` (services/enrichment/bench/enrichment-offenders.bench.ts)${baseDir ? ` with \`BENCH_BASELINE_SRC=${baseDir}\`` : ''}, one window, ${ZONES} zones (each resolver one row in its alert and one in its zone's minute bucket), LRU ${loadEnrichmentConfig({}).ENRICH_CACHE_SIZE.toLocaleString('en-US')}; a private redis-server per run, one pass per variant.`,
      '',
      markdownTable(
        [
          'variant',
          'records/s (wall)',
          'CPU per record (process)',
          'Redis CPU per record',
          'heap: idle → peak → live after',
          'RSS: idle → peak',
          'Redis keys',
          'Redis bytes (MEMORY USAGE)',
          'Redis used_memory: before → peak → after',
          'per resolver',
        ],
        rows,
      ),
      '',
    ].join('\n'),
  );
}

/** The enrichment service of BENCH_BASELINE_SRC (another version of services/enrichment/src). */
function baselineVariant(baseDir: string): Variant {
  const dir = resolve(baseDir);
  /* eslint-disable @typescript-eslint/no-require-imports */
  const base = require(dir) as typeof current;
  const baseCfg = (
    require(`${dir}/config/enrichment.config`) as {
      loadEnrichmentConfig: typeof loadEnrichmentConfig;
    }
  ).loadEnrichmentConfig;
  /* eslint-enable @typescript-eslint/no-require-imports */
  return variantFrom('baseline', base, baseCfg);
}

/**
 * The offender stream of `pnpm bench e2e` (docs/benchmarks/e2e.md), where this service spent
 * ~6× the CPU per record of the rounds above: ten floods of 2,000 resolvers, one window from
 * every resolver and a second from a third of them (26,667 records, 75 % first sights: the e2e's
 * 26,592 from 20,000 resolvers), 6 partitions, every record in an alert. Each pass is a fresh process (cold JIT,
 * a small heap, empty caches: a service a minute into its life), clock from the runtime's
 * start (connecting, joining) to the last record stored.
 */
function e2eRecords(t0: number): Offender[] {
  const all = floodRecords(ZONES, 2_000, 2, t0);
  const firstWindow = all.length / 2;
  return all.filter((_, i) => i < firstWindow || i % 3 === 0);
}

/** BENCH_E2E_SHAPE=1: passes in child processes, alternating baseline and current. */
async function e2eShape(): Promise<void> {
  const { kafka, stamp, input, topics } = await benchTopics('e2e', 'bench-enrichment-e2e-shape', 6);
  const records = e2eRecords(Date.UTC(2026, 0, 1));
  await publishRecords(kafka, input, records);

  const baseDir = process.env.BENCH_BASELINE_SRC;
  const variants = [...(baseDir ? [['baseline', resolve(baseDir)]] : []), ['current', '']];
  const perRecordUs = new Map<string, number[]>(variants.map(([name]) => [name!, []]));
  const load0 = loadavg();
  for (let r = 0; r < ROUNDS; r++)
    for (const [name, dir] of r % 2 ? [...variants].reverse() : variants) {
      const out = execFileSync(
        process.execPath,
        [
          // BENCH_NODE_ARGS: extra node flags for the passes (e.g. --trace-gc)
          ...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean),
          '--expose-gc',
          '--require',
          '@swc-node/register',
          __filename,
        ],
        {
          env: {
            ...process.env,
            BENCH_E2E_CHILD: JSON.stringify({ name, dir, input, n: records.length, stamp }),
          },
          stdio: ['ignore', 'pipe', 'inherit'],
          maxBuffer: 1 << 20,
        },
      ).toString();
      // the last line is the result; anything before it (a --trace-gc log) goes to stderr
      const lines = out.trimEnd().split('\n');
      const res = JSON.parse(lines.pop()!) as RoundResult;
      if (lines.length) log(lines.join('\n'));
      perRecordUs.get(name!)!.push((res.cpuMs * 1000) / res.records);
      log(`pass ${r} ${name}: ${res.cpuMs.toFixed(0)} ms CPU, ${res.wallMs.toFixed(0)} ms wall`);
    }
  const load1 = loadavg();
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics });
  await admin.disconnect();
  const first = median(perRecordUs.get(variants[0]![0]!)!);
  process.stdout.write(
    [
      '## Enrichment: CPU per offender record, e2e-shaped stream, fresh process per pass',
      '',
      `${machineLine()}; load average ${load0.map((x) => x.toFixed(1)).join(' ')} → ${load1.map((x) => x.toFixed(1)).join(' ')}. \`BENCH_E2E_SHAPE=1 BENCH_ROUNDS=${ROUNDS}\` (services/enrichment/bench/enrichment-offenders.bench.ts)${baseDir ? ` with \`BENCH_BASELINE_SRC=${baseDir}\`` : ''}: ${records.length.toLocaleString('en-US')} records (10 floods × 2,000 resolvers, a second window from a third), 6 partitions; passes alternate.`,
      '',
      markdownTable(
        ['variant', 'µs per record, each pass', 'median', 'vs first'],
        variants.map(([name]) => {
          const xs = perRecordUs.get(name!)!;
          return [
            name!,
            xs.map((x) => x.toFixed(1)).join(', '),
            `${median(xs).toFixed(1)} µs`,
            `${(first / median(xs)).toFixed(2)}×`,
          ];
        }),
      ),
      '',
    ].join('\n'),
  );
}

/** One e2e-shaped pass in this (fresh) process; its RoundResult as JSON on stdout. */
async function e2eChild(spec: {
  name: string;
  dir: string;
  input: string;
  n: number;
  stamp: string;
}): Promise<void> {
  const v = spec.dir
    ? baselineVariant(spec.dir)
    : variantFrom('current', current, loadEnrichmentConfig);
  const res = await round(v, spec.input, spec.n, spec.stamp, false, undefined, true);
  process.stdout.write(`\n${JSON.stringify(res)}\n`);
}

async function main(): Promise<void> {
  const child = process.env.BENCH_E2E_CHILD;
  if (child) return e2eChild(JSON.parse(child) as Parameters<typeof e2eChild>[0]);
  if (process.env.BENCH_E2E_SHAPE === '1') return e2eShape();
  const overloadN = Number(process.env.BENCH_OVERLOAD_RESOLVERS ?? 0);
  if (overloadN > 0) return overload(overloadN);
  const { kafka, stamp, input, topics } = await benchTopics('run', 'bench-enrichment-offenders', 3);
  const records = floodRecords(ZONES, RESOLVERS, WINDOWS, Date.UTC(2026, 0, 1));
  await publishRecords(kafka, input, records);

  const variants: Variant[] = [variantFrom('current', current, loadEnrichmentConfig)];
  const baseDir = process.env.BENCH_BASELINE_SRC;
  if (baseDir) variants.unshift(baselineVariant(baseDir));
  const load0 = loadavg();
  log(`warm-up (${variants.length} variants)…`);
  for (const v of variants) await round(v, input, records.length, stamp);
  const cpu = new Map<string, number[]>(variants.map((v) => [v.name, []]));
  const perRecordUs = new Map<string, number[]>(variants.map((v) => [v.name, []]));
  for (let r = 0; r < ROUNDS; r++)
    for (const v of r % 2 ? [...variants].reverse() : variants) {
      const res = await round(v, input, records.length, stamp);
      cpu.get(v.name)!.push(res.cpuMs);
      perRecordUs.get(v.name)!.push((res.cpuMs * 1000) / res.records);
      log(`round ${r} ${v.name}: ${res.cpuMs.toFixed(0)} ms CPU, ${res.wallMs.toFixed(0)} ms wall`);
    }
  const load1 = loadavg();
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics });
  await admin.disconnect();

  const perRecord = (v: string) => median(perRecordUs.get(v)!);
  const rows = variants.map((v) => [
    v.name,
    cpu
      .get(v.name)!
      .map((x) => x.toFixed(0))
      .join(', '),
    `${perRecord(v.name).toFixed(1)} µs`,
    `${((1e6 / perRecord(v.name)) | 0).toLocaleString('en-US')}/s`,
    variants.length > 1
      ? `${(perRecord(variants[0]!.name) / perRecord(v.name)).toFixed(2)}× less CPU`
      : '—',
  ]);
  const out = [
    '## Enrichment: CPU per offender record (Kafka → enrich → publish + Redis → commit)',
    '',
    `${machineLine()}; load average ${load0.map((x) => x.toFixed(1)).join(' ')} at the start, ${load1.map((x) => x.toFixed(1)).join(' ')} at the end.`,
    '',
    '`pnpm bench enrichment-offenders` (services/enrichment/bench/enrichment-offenders.bench.ts)' +
      (baseDir ? ` with \`BENCH_BASELINE_SRC=${baseDir}\`` : ''),
    '',
    `${records.length.toLocaleString('en-US')} offender records per round (${ZONES} flooded zones × ${RESOLVERS.toLocaleString('en-US')} resolvers × ${WINDOWS} windows, 10 % IPv6, 1–3 evidence samples), 3 partitions, real broker and Redis. CPU of the whole process (GC included) after the first batch to the last record stored; ${ROUNDS} rounds per variant, alternating.`,
    '',
    markdownTable(
      [
        'variant',
        'CPU ms per round',
        'CPU per record (median)',
        'records per CPU-second',
        'vs baseline',
      ],
      rows,
    ),
    '',
  ];
  process.stdout.write(out.join('\n'));
}

// Only when run: offenders-output-check.ts imports floodRecords.
if (require.main === module)
  main().catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  });
