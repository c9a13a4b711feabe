/**
 * End to end: a multi-million-query capture (traffic-sim: ordinary traffic on 20 zones plus ten
 * floods) through every service, each its own process, on the real broker and Redis:
 *
 *   ingest replay (bench/e2e-replay.ts: the built ingest's openPublisher + replayFile, as the
 *   `sluice replay` CLI) → Kafka → detector → enrichment → reputation
 *
 * Runs: one unpaced replay (as fast as it goes) measures the capacity — queries / (first publish
 * → the detector's committed offsets reach the end of the queries topic); then paced replays at
 * E2E_LOADS × that capacity measure ingest-to-alert latency on the wall clock. Every run gets
 * fresh topics, consumer groups, Redis key prefix and service processes (the detector's state and
 * watermark start empty), deleted afterwards. Sampled every second: each group's committed lag
 * and each process's CPU (/proc/<pid>/stat). CPU seconds are the measure that survives a loaded
 * box; the load average is printed with every run.
 *
 *   pnpm bench e2e                 E2E_QUERIES=3000000 (default), E2E_PARTITIONS=6,
 *                                  E2E_LOADS=0.5,0.9, E2E_PROFILE=1 adds CPU profiles,
 *                                  E2E_CAPACITY=<q/s> skips the unpaced run (paced runs only),
 *                                  E2E_UNPACED_RUNS=3 repeats the unpaced run (the median paces
 *                                  the rest and is the headline: runs minutes apart swing ±15 %),
 *                                  E2E_NODE_FLAGS='--flag …' for every service and the replay
 *                                  traffic nobody tuned for: E2E_SEED (traffic-sim's seed,
 *                                  default e2e-1), E2E_FLOOD_KINDS (default
 *                                  mirai,randomlabel,hex; any attack kind), E2E_LOOKALIKES
 *                                  (benign kinds beside the floods: cdn, flashcrowd, deploy),
 *                                  E2E_ZONES (zones the ordinary traffic spreads over, default 20)
 *   E2E_QUERIES=400000 pnpm bench e2e     a quick run (~1 min)
 *   E2E_RENDER=.local/e2e/last-run.json   print the section again from a saved run
 *
 * The capture is generated once into .local/e2e/ and reused. Markdown on stdout, progress on
 * stderr, the raw series in .local/e2e/last-run.json.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { createKafka, provisionTopics, type Kafka } from '@sluice/kafka';

type Admin = ReturnType<Kafka['admin']>;
import { createRedis } from '@sluice/redis';
import { type QueryEvent } from '@sluice/contracts';
import { freePort, machineLine, markdownTable, uniqueName } from '@sluice/testing';
import {
  ATTACK_KINDS,
  BENIGN_KINDS,
  isAttackKind,
  simulateLabelled,
  writePcapFile,
  zonesOf,
  type ScenarioSpec,
  type StreamKind,
} from '@sluice/traffic-sim';
import { spawnDaemon, tail, until, type Daemon } from '../packages/closed-loop/src/procs';
import { summariseProfile, type ProfileSummary } from './cpuprofile-top';

const ROOT = resolve(__dirname, '..');
const QUERIES = Number(process.env.E2E_QUERIES ?? 3_000_000);
const PARTITIONS = Number(process.env.E2E_PARTITIONS ?? 6);
const LOADS = (process.env.E2E_LOADS ?? '0.5,0.9').split(',').filter(Boolean).map(Number);
const PROFILE = process.env.E2E_PROFILE === '1';
const FIXED_CAPACITY = process.env.E2E_CAPACITY ? Number(process.env.E2E_CAPACITY) : null;
const UNPACED_RUNS = Number(process.env.E2E_UNPACED_RUNS ?? 1);
if (!Number.isInteger(UNPACED_RUNS) || UNPACED_RUNS < 1)
  throw new Error(`E2E_UNPACED_RUNS: a whole number ≥ 1 (got '${process.env.E2E_UNPACED_RUNS}')`);
/** Extra Node flags for every service and the replay (A/Bs of flags NODE_OPTIONS refuses). */
const NODE_FLAGS = (process.env.E2E_NODE_FLAGS ?? '').split(' ').filter(Boolean);
const BROKERS = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const WORK = join(ROOT, '.local', 'e2e');
/** The detector closes a tick once its zone's event time is this far past the tick's end (shipped default). */
// The detector's own default (services/detector/src/core/settings.ts) unless overridden.
const LATENESS_MS = Number(process.env.DETECTOR_ALLOWED_LATENESS_MS ?? 500);
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
const log = (s: string) => process.stderr.write(`[e2e] ${s}\n`);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const fmt = (n: number, d = 0) =>
  n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' / ');

// ---------------------------------------------------------------------------------------------
// The capture

/** Event-time shape: 120 s; 40 s of ordinary traffic first (baselines), then ten 8 s floods. */
const EVENT_SECONDS = 120;
const FLOODS = 10;
const FLOOD_SECONDS = 8;
const FLOOD_EVERY_S = 7.5;
const FIRST_FLOOD_S = 40;
/** Each flood's rate as a share of the capture's mean rate (at most two overlap, briefly). */
const FLOOD_SHARE = 0.4;
/** Stream kinds from an E2E_* list, each checked against the kinds traffic-sim knows. */
function kindsOf(setting: string, fallback: StreamKind[], known: readonly string[]): StreamKind[] {
  const raw = process.env[setting];
  if (raw === undefined) return fallback;
  const kinds = raw.split(',').filter(Boolean);
  for (const k of kinds)
    if (!known.includes(k))
      throw new Error(`${setting}: unknown kind '${k}' (one of ${known.join(', ')})`);
  return kinds as StreamKind[];
}
/** Traffic nobody tuned for: another seed, other flood kinds, benign look-alikes beside them. */
const DEFAULT_SEED = 'e2e-1';
const DEFAULT_FLOOD_KINDS: StreamKind[] = ['mirai', 'randomlabel', 'hex'];
const SEED = process.env.E2E_SEED ?? DEFAULT_SEED;
const FLOOD_KINDS = kindsOf('E2E_FLOOD_KINDS', DEFAULT_FLOOD_KINDS, ATTACK_KINDS);
if (FLOOD_KINDS.length === 0) throw new Error('E2E_FLOOD_KINDS: at least one kind');
// rum is left out: it is benign only where the operator allowlists the beacon subtree.
const LOOKALIKES = kindsOf(
  'E2E_LOOKALIKES',
  [],
  BENIGN_KINDS.filter((k) => k !== 'rum'),
);
/**
 * Zones the ordinary traffic spreads over (Zipf). A platform serves thousands; every zone with a
 * query in a linger interval is a batch of its own unless the ingest batches per partition.
 */
const DEFAULT_ZONES = 20;
const ZONES = Number(process.env.E2E_ZONES ?? DEFAULT_ZONES);
if (!Number.isInteger(ZONES) || ZONES < DEFAULT_ZONES)
  throw new Error(
    `E2E_ZONES: an integer ≥ ${DEFAULT_ZONES} (floods and look-alikes need their own zones)`,
  );
/** Bump when the scenario changes, so an old capture is not reused. */
const CAPTURE_VERSION = 1;
/** The default capture keeps its name; any other seed, mix or zone count gets its own file. */
const CAPTURE_VARIANT =
  SEED === DEFAULT_SEED &&
  FLOOD_KINDS.join() === DEFAULT_FLOOD_KINDS.join() &&
  !LOOKALIKES.length &&
  ZONES === DEFAULT_ZONES
    ? ''
    : `-${[SEED, FLOOD_KINDS.join('+'), ...LOOKALIKES, ...(ZONES === DEFAULT_ZONES ? [] : [`z${ZONES}`])].join('-').replace(/[^A-Za-z0-9+-]/g, '_')}`;

interface Flood {
  zone: string;
  kind: StreamKind;
  /** Event time of the flood's start and of its first query, epoch ms. */
  startTs: number;
  firstTs: number;
  qps: number;
}

interface Capture {
  path: string;
  bytes: number;
  queries: number;
  packets: number;
  eventSeconds: number;
  /** Queries per second of event time, whole capture. */
  meanRate: number;
  benignQps: number;
  floods: Flood[];
  /** Benign look-alike streams (E2E_LOOKALIKES): any alert on their zones is a false one. */
  lookalikes?: Array<{ zone: string; kind: StreamKind; startTs: number }>;
  /** traffic-sim's seed (absent in captures from before it could be chosen: DEFAULT_SEED). */
  seed?: string;
  zones: string[];
  generatedSeconds: number;
}

function scenario(queries: number): ScenarioSpec {
  const mean = queries / EVENT_SECONDS;
  const floodQps = Math.round(mean * FLOOD_SHARE);
  const floodTotal = FLOODS * FLOOD_SECONDS * floodQps;
  const zones = zonesOf({ zones: ZONES } as ScenarioSpec);
  return {
    seed: SEED,
    startTime: Date.parse('2026-01-01T00:00:00Z'),
    durationMs: EVENT_SECONDS * 1000,
    zones: ZONES,
    benignQps: Math.round((queries - floodTotal) / EVENT_SECONDS),
    withResponses: true,
    // Floods on the 2nd..11th busiest zones: big zones and small ones.
    streams: Array.from({ length: FLOODS }, (_, i) => ({
      kind: FLOOD_KINDS[i % FLOOD_KINDS.length]!,
      zone: zones[1 + i]!,
      startMs: Math.round((FIRST_FLOOD_S + i * FLOOD_EVERY_S) * 1000),
      durationMs: FLOOD_SECONDS * 1000,
      qps: floodQps,
      resolvers: 2000,
    })).concat(
      // Look-alikes on zones no flood touches, between the floods: none may raise an alert.
      LOOKALIKES.map((kind, i) => ({
        kind,
        zone: zones[1 + FLOODS + (i % (zones.length - 1 - FLOODS))]!,
        startMs: Math.round((FIRST_FLOOD_S + FLOOD_EVERY_S / 2 + i * FLOOD_EVERY_S) * 1000),
        durationMs: FLOOD_SECONDS * 1000,
        qps: floodQps,
        resolvers: 2000,
      })),
    ),
  };
}

async function ensureCapture(queries: number): Promise<Capture> {
  mkdirSync(WORK, { recursive: true });
  const base = join(WORK, `capture-v${CAPTURE_VERSION}-${queries}${CAPTURE_VARIANT}`);
  if (existsSync(`${base}.json`) && existsSync(`${base}.pcap`)) {
    // The pcap beside its metadata, wherever the checkout (and the path stored in it) was.
    const c = {
      ...(JSON.parse(readFileSync(`${base}.json`, 'utf8')) as Capture),
      path: `${base}.pcap`,
    };
    log(`reusing ${c.path} (${fmt(c.queries)} queries, ${fmt(c.bytes / 2 ** 20)} MiB)`);
    return c;
  }
  const spec = scenario(queries);
  log(`generating ${fmt(queries)} queries (with responses) → ${base}.pcap`);
  const started = performance.now();
  const firsts = new Map<string, number>();
  let n = 0;
  const events = function* (): Generator<QueryEvent> {
    for (const e of simulateLabelled(spec)) {
      n++;
      if (e.origin !== 'benign' && !firsts.has(e.event.zone)) firsts.set(e.event.zone, e.event.ts);
      if (n % 500_000 === 0) log(`  ${fmt(n)} generated`);
      yield e.event;
    }
  };
  const tmp = `${base}.pcap.tmp`;
  const packets = await writePcapFile(tmp, events(), { withResponses: true });
  renameSync(tmp, `${base}.pcap`);
  const capture: Capture = {
    path: `${base}.pcap`,
    bytes: statSync(`${base}.pcap`).size,
    queries: n,
    packets,
    eventSeconds: EVENT_SECONDS,
    meanRate: n / EVENT_SECONDS,
    benignQps: spec.benignQps,
    zones: zonesOf(spec),
    floods: (spec.streams ?? [])
      .filter((s) => isAttackKind(s.kind))
      .map((s) => ({
        zone: s.zone,
        kind: s.kind,
        startTs: spec.startTime + s.startMs,
        firstTs: firsts.get(s.zone) ?? spec.startTime + s.startMs,
        qps: s.qps,
      })),
    lookalikes: (spec.streams ?? [])
      .filter((s) => !isAttackKind(s.kind))
      .map((s) => ({ zone: s.zone, kind: s.kind, startTs: spec.startTime + s.startMs })),
    seed: SEED,
    generatedSeconds: (performance.now() - started) / 1000,
  };
  writeFileSync(`${base}.json`, JSON.stringify(capture, null, 2));
  log(`generated in ${capture.generatedSeconds.toFixed(0)} s`);
  return capture;
}

// ---------------------------------------------------------------------------------------------
// Processes: CPU seconds and peak RSS from /proc

interface ProcCpu {
  ticks: number;
  /** Minor page faults so far: on a VM each can cost microseconds of the process's CPU. */
  faults: number;
  at: number;
}

function procCpu(pid: number): ProcCpu | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { ticks: Number(f[11]) + Number(f[12]), faults: Number(f[7]), at: performance.now() };
  } catch {
    return null;
  }
}

function procHwm(pid: number): number | null {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** The pid listening on a local TCP port (the broker, Redis), when this user may see it. */
function pidOnPort(port: number): number | null {
  try {
    const out = execFileSync('ss', ['-ltnpH', `sport = :${port}`]).toString();
    const m = /pid=(\d+)/.exec(out);
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// One run

type ServiceName = 'detector' | 'enrichment' | 'reputation';
const SERVICES: readonly ServiceName[] = ['detector', 'enrichment', 'reputation'];
/** Processes whose CPU is accounted, in table order. */
const PROCS = ['ingest replay', ...SERVICES, 'Kafka broker', 'Redis', 'bench harness'] as const;
type ProcName = (typeof PROCS)[number];

interface Sample {
  /** Seconds since the replay's first publish. */
  t: number;
  /** Query batches (Kafka messages) on the queries topic so far. */
  published: number;
  /** Committed lag per group (messages), summed over its topics and partitions. */
  lag: Record<string, number>;
  /** CPU use over the last interval, cores (1 = one core busy). */
  cpu: Partial<Record<ProcName, number>>;
}

interface AlertSeen {
  zone: string;
  phase: string;
  at: number;
  onset: number;
  /** Kafka CreateTime: the detector's producer's wall clock when it published. */
  publishedAt: number;
}

interface FloodResult {
  zone: string;
  kind: string;
  /** Wall time the replay handed the flood's first query to the publisher. */
  firstPublishedAt: number | null;
  alertAt: number | null;
  latencyMs: number | null;
  /** alert.at − the flood's first query, event time. */
  eventDelayMs: number | null;
}

interface RunResult {
  label: string;
  speed: number;
  targetQps: number | null;
  records: number;
  malformed: number;
  lostBatches: number;
  batches: number;
  /** Messages on each of the run's topics at the end (absent in JSON from older runs). */
  messages?: Record<string, number>;
  /** From the first publish, seconds. */
  replayAckedS: number;
  detectorCaughtUpS: number;
  drainedS: number | null;
  sustainedQps: number;
  publishQps: number;
  cpu: Record<ProcName, number | null>;
  cpuToCaughtUp: Record<ProcName, number | null>;
  rss: Partial<Record<ProcName, number>>;
  /** Minor page faults over the run (the same span as cpu). */
  faults?: Partial<Record<ProcName, number>>;
  samples: Sample[];
  groups: Record<string, string>;
  floods: FloodResult[];
  falseAlerts: string[];
  loadBefore: string;
  loadAfter: string;
  profiles: Partial<Record<ProcName, ProfileSummary>>;
}

function provision(kafka: Kafka, topics: Record<string, string>): Promise<string[]> {
  return provisionTopics(
    kafka,
    Object.entries(topics).map(([k, name]) => {
      const big = k === 'blocklist' || k === 'knownNames';
      return { name, compacted: big, ...(big ? { maxMessageBytes: 8 * 2 ** 20 } : {}) };
    }),
    { partitions: PARTITIONS, replicationFactor: 1 },
  );
}

async function topicEnd(admin: Admin, topic: string): Promise<Map<number, bigint>> {
  const m = new Map<number, bigint>();
  for (const p of await admin.fetchTopicOffsets(topic)) m.set(p.partition, BigInt(p.high));
  return m;
}

/**
 * Messages between a group's committed offsets and the ends of its topics (a partition the group
 * never committed on counts from 0). `ends` caches each topic's end for one sample.
 */
async function groupLag(
  admin: Admin,
  groupId: string,
  topics: string[],
  ends = new Map<string, Promise<Map<number, bigint>>>(),
): Promise<number> {
  let lag = 0n;
  for (const t of await admin.fetchOffsets({ groupId, topics })) {
    let end = ends.get(t.topic);
    if (!end) ends.set(t.topic, (end = topicEnd(admin, t.topic)));
    const high = await end;
    for (const p of t.partitions) {
      const committed = BigInt(p.offset) < 0n ? 0n : BigInt(p.offset);
      const h = high.get(p.partition) ?? 0n;
      if (h > committed) lag += h - committed;
    }
  }
  return Number(lag);
}

async function runOnce(
  kafka: Kafka,
  capture: Capture,
  label: string,
  speed: number,
  targetQps: number | null,
): Promise<RunResult> {
  const run = uniqueName('e2e');
  const t = (name: string) => `${run}.${name}`;
  const topics = {
    queries: t('queries'),
    alerts: t('alerts'),
    offenders: t('offenders'),
    zoneStats: t('zone-stats'),
    enriched: t('offenders-enriched'),
    knownNames: t('known-names'),
    blocklist: t('blocklist'),
    deadletter: t('deadletter'),
  };
  await provision(kafka, topics);
  const profDir = join(WORK, 'profiles', label.replace(/[^a-z0-9]+/gi, '-'));
  if (PROFILE) {
    rmSync(profDir, { recursive: true, force: true });
    mkdirSync(profDir, { recursive: true });
  }
  const common: Record<string, string> = {
    KAFKA_BROKERS: BROKERS,
    KAFKA_TOPIC_PARTITIONS: String(PARTITIONS),
    REDIS_URL,
    REDIS_KEY_PREFIX: `${run}:`,
    LOG_LEVEL: process.env.E2E_LOG_LEVEL ?? 'info',
    HTTP_HOST: '127.0.0.1',
  };
  const env: Record<ServiceName, Record<string, string>> = {
    detector: {
      DETECTOR_GROUP_ID: `${run}.detector`,
      DETECTOR_FROM_BEGINNING: 'true',
      DETECTOR_QUERIES_TOPIC: topics.queries,
      DETECTOR_ALERTS_TOPIC: topics.alerts,
      DETECTOR_OFFENDERS_TOPIC: topics.offenders,
      DETECTOR_ZONE_STATS_TOPIC: topics.zoneStats,
      DETECTOR_DEADLETTER_TOPIC: topics.deadletter,
      DETECTOR_KNOWN_NAMES_TOPIC: topics.knownNames,
    },
    enrichment: {
      ENRICH_CONSUMER_GROUP: `${run}.enrichment`,
      ENRICH_OFFENDERS_TOPIC: topics.offenders,
      ENRICH_ALERTS_TOPIC: topics.alerts,
      ENRICH_OUTPUT_TOPIC: topics.enriched,
      ENRICH_DEADLETTER_TOPIC: topics.deadletter,
    },
    reputation: {
      REPUTATION_GROUP_ID: `${run}.reputation`,
      REPUTATION_INPUT_TOPIC: topics.enriched,
      REPUTATION_OUTPUT_TOPIC: topics.blocklist,
      REPUTATION_DEADLETTER_TOPIC: topics.deadletter,
      REPUTATION_ALERTS_TOPIC: topics.alerts,
      REPUTATION_KNOWN_NAMES_TOPIC: topics.knownNames,
      FEED_API_KEYS: `e2e-${run}`,
      RPZ_ENABLED: 'false',
    },
  };
  const ports: Record<ServiceName, number> = {
    detector: await freePort(),
    enrichment: await freePort(),
    reputation: await freePort(),
  };
  const daemons = new Map<ServiceName, Daemon>();
  const admin = kafka.admin();
  await admin.connect();
  const redis = createRedis({ url: REDIS_URL, keyPrefix: '' });
  const alerts: AlertSeen[] = [];
  // A long poll: an alert's latency is its Kafka timestamp, not when the harness reads it, so
  // the harness need not ask the broker ten times a second.
  const harness = kafka.consumer({ groupId: `${run}.harness`, maxWaitTimeInMs: 1000 });
  const pids: Partial<Record<ProcName, number>> = {
    'bench harness': process.pid,
    'Kafka broker': pidOnPort(Number(BROKERS.split(',')[0]!.split(':')[1] ?? 9092)) ?? undefined,
    Redis: pidOnPort(Number(new URL(REDIS_URL).port || 6379)) ?? undefined,
  };
  let replayProc: ReturnType<typeof spawn> | null = null;
  try {
    for (const svc of SERVICES) {
      const profArgs = PROFILE ? ['--require', join(__dirname, 'e2e-profiler.js')] : [];
      daemons.set(
        svc,
        spawnDaemon(
          svc,
          process.execPath,
          [...NODE_FLAGS, ...profArgs, join(ROOT, 'services', svc, 'dist', 'main.js')],
          {
            cwd: ROOT,
            env: {
              ...process.env,
              ...common,
              HTTP_PORT: String(ports[svc]),
              ...env[svc],
              ...(PROFILE ? { E2E_PROF_FILE: join(profDir, `${svc}.cpuprofile`) } : {}),
            },
          },
        ),
      );
    }
    for (const svc of SERVICES) {
      const d = daemons.get(svc)!;
      pids[svc] = d.proc.pid;
      await until(
        async () => {
          if (d.exited()) throw new Error(`sluice ${svc} exited during start-up\n${tail(d)}`);
          try {
            return (await fetch(`http://127.0.0.1:${ports[svc]}/readyz`)).ok ? true : undefined;
          } catch {
            return undefined;
          }
        },
        90_000,
        () => `sluice ${svc} to be ready\n${tail(d)}`,
        250,
      );
    }
    await harness.connect();
    await harness.subscribe({ topics: [topics.alerts], fromBeginning: true });
    await harness.run({
      eachMessage: async ({ message }) => {
        if (!message.value) return;
        const a = JSON.parse(message.value.toString('utf8')) as Record<string, unknown>;
        alerts.push({
          zone: String(a.zone),
          phase: String(a.phase),
          at: Number(a.at),
          onset: Number(a.onset),
          publishedAt: Number(message.timestamp),
        });
      },
    });
    await sleep(1500); // let the harness and the services' consumers settle into their groups
    if (PROFILE) for (const svc of SERVICES) daemons.get(svc)!.proc.kill('SIGWINCH');

    // Baselines, then the replay.
    const loadBefore = load();
    const cpu0 = new Map<ProcName, ProcCpu>();
    for (const name of PROCS) {
      const pid = pids[name];
      const c = pid ? procCpu(pid) : null;
      if (c) cpu0.set(name, c);
    }
    const floodsPath = join(WORK, `${run}.floods.json`);
    writeFileSync(floodsPath, JSON.stringify(capture.floods));
    const replayArgs = [
      ...NODE_FLAGS,
      ...(PROFILE
        ? ['--cpu-prof', '--cpu-prof-dir', profDir, '--cpu-prof-name', 'ingest-replay.cpuprofile']
        : []),
      '--require',
      '@swc-node/register',
      join(__dirname, 'e2e-replay.ts'),
      capture.path,
      String(speed),
      floodsPath,
    ];
    const replay = spawn(process.execPath, replayArgs, {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        ...common,
        INGEST_QUERIES_TOPIC: topics.queries,
        INGEST_DEADLETTER_TOPIC: topics.deadletter,
        INGEST_SERVED_ZONES: capture.zones.join(','),
      },
    });
    replayProc = replay;
    pids['ingest replay'] = replay.pid;
    let replayErr = '';
    replay.stderr.on('data', (d: Buffer) => (replayErr = (replayErr + d.toString()).slice(-8000)));
    let startAt: number | null = null;
    let replayCpuAtStart = 0;
    let replayFaultsAtStart = 0;
    const floodAt = new Map<string, number>();
    let done: Record<string, number> | null = null;
    const replayExit = new Promise<number | null>((r) => replay.once('exit', (code) => r(code)));
    createInterface({ input: replay.stdout }).on('line', (line) => {
      const m = JSON.parse(line) as { type: string; at: number; zone: string } & Record<
        string,
        number
      >;
      if (m.type === 'start') {
        startAt = m.at;
        replayCpuAtStart = m.cpuSeconds ?? 0;
        replayFaultsAtStart = m.minorFaults ?? 0;
      } else if (m.type === 'flood') floodAt.set(m.zone, m.at);
      else if (m.type === 'done') done = m;
    });

    // Sampling: every second, lag per group and CPU per process.
    const samples: Sample[] = [];
    const groups = new Map<string, string[]>([[`${run}.detector`, [topics.queries]]]);
    const last = new Map(cpu0);
    let replayCpuLast: ProcCpu | null = null;
    const sampleOnce = async () => {
      const cpu: Sample['cpu'] = {};
      for (const name of PROCS) {
        const pid = pids[name];
        const c = pid ? procCpu(pid) : null;
        if (!c) continue;
        const prev = name === 'ingest replay' ? replayCpuLast : last.get(name);
        if (prev) cpu[name] = (c.ticks - prev.ticks) / CLK_TCK / ((c.at - prev.at) / 1000);
        if (name === 'ingest replay') replayCpuLast = c;
        else last.set(name, c);
      }
      // Groups appear as the services join (Nest's transport names its own): discover them.
      for (const g of (await admin.listGroups()).groups)
        if (g.groupId.startsWith(run) && !g.groupId.endsWith('.harness') && !groups.has(g.groupId))
          groups.set(g.groupId, []);
      const lag: Record<string, number> = {};
      const ends = new Map<string, Promise<Map<number, bigint>>>();
      for (const [groupId, ts] of groups) {
        if (ts.length === 0) {
          const committed = await admin.fetchOffsets({ groupId });
          for (const c of committed)
            if (c.partitions.some((p) => Number(p.offset) >= 0)) ts.push(c.topic);
        }
        lag[groupId] = ts.length ? await groupLag(admin, groupId, ts, ends) : 0;
      }
      let published = 0;
      const queriesEnd = ends.get(topics.queries) ?? topicEnd(admin, topics.queries);
      for (const v of (await queriesEnd).values()) published += Number(v);
      samples.push({
        t: startAt === null ? 0 : (Date.now() - startAt) / 1000,
        published,
        lag,
        cpu,
      });
    };
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const next = performance.now() + 1000;
        await sampleOnce().catch((e: unknown) => log(`sample failed: ${String(e)}`));
        await sleep(Math.max(0, next - performance.now()));
      }
    })();

    const code = await replayExit;
    if (code !== 0 || !done) throw new Error(`replay exited ${code}\n${replayErr}`);
    const d = done as Record<string, number>;
    if (startAt === null) throw new Error('replay published nothing');
    const start: number = startAt;
    log(
      `${label}: replay acknowledged ${fmt(d.records!)} queries in ${((d.ackedAt! - start) / 1000).toFixed(1)} s`,
    );

    // Caught up: the detector's committed offsets reach the end of the queries topic.
    const detectorGroup = `${run}.detector`;
    let caughtUpAt = 0;
    let cpuCaught: Map<ProcName, ProcCpu> = new Map();
    await until(
      async () => {
        for (const dmn of daemons.values())
          if (dmn.exited()) throw new Error(`${dmn.name} exited\n${tail(dmn)}`);
        if ((await groupLag(admin, detectorGroup, [topics.queries])) > 0) return undefined;
        caughtUpAt = Date.now();
        cpuCaught = new Map();
        for (const name of PROCS) {
          const pid = pids[name];
          const c = pid ? procCpu(pid) : null;
          if (c) cpuCaught.set(name, c);
        }
        return true;
      },
      30 * 60_000,
      () => 'the detector to catch up',
      100,
    );
    log(
      `${label}: detector caught up ${((caughtUpAt - start) / 1000).toFixed(1)} s after the first publish`,
    );
    // Drained: every group at lag 0 (the last offender windows reach reputation).
    let drainedAt: number | null = null;
    for (const deadline = Date.now() + 120_000; Date.now() < deadline;) {
      await sleep(500);
      const s = samples[samples.length - 1];
      if (s && s.t * 1000 + start > caughtUpAt && Object.values(s.lag).every((v) => v === 0)) {
        drainedAt = s.t * 1000 + start;
        break;
      }
    }
    await sleep(2000); // the last alerts reach the harness
    sampling = false;
    await sampler;
    const loadAfter = load();

    const cpu = {} as Record<ProcName, number | null>;
    const cpuToCaughtUp = {} as Record<ProcName, number | null>;
    const rss: Partial<Record<ProcName, number>> = {};
    const faults: Partial<Record<ProcName, number>> = {};
    for (const name of PROCS) {
      if (name === 'ingest replay') {
        cpu[name] = d.cpuSeconds! - replayCpuAtStart;
        cpuToCaughtUp[name] = cpu[name];
        rss[name] = d.maxRssBytes!;
        if (d.minorFaults !== undefined) faults[name] = d.minorFaults - replayFaultsAtStart;
        continue;
      }
      const pid = pids[name];
      const c1 = pid ? procCpu(pid) : null;
      const c0 = cpu0.get(name);
      const cc = cpuCaught.get(name);
      cpu[name] = c1 && c0 ? (c1.ticks - c0.ticks) / CLK_TCK : null;
      if (c1 && c0) faults[name] = c1.faults - c0.faults;
      cpuToCaughtUp[name] = cc && c0 ? (cc.ticks - c0.ticks) / CLK_TCK : null;
      const hwm = pid ? procHwm(pid) : null;
      if (hwm !== null) rss[name] = hwm;
    }

    const profiles: RunResult['profiles'] = {};
    if (PROFILE) {
      for (const svc of SERVICES) daemons.get(svc)!.proc.kill('SIGWINCH');
      for (const svc of SERVICES) {
        const file = join(profDir, `${svc}.cpuprofile`);
        await until(
          () => (existsSync(`${file}.done`) ? true : undefined),
          60_000,
          () => `${svc} profile`,
        );
        if (existsSync(file)) profiles[svc] = summariseProfile(file);
      }
      const replayProf = join(profDir, 'ingest-replay.cpuprofile');
      if (existsSync(replayProf)) profiles['ingest replay'] = summariseProfile(replayProf);
    }

    const started = new Map<string, AlertSeen>();
    for (const a of alerts)
      if (a.phase === 'started' && !started.has(a.zone)) started.set(a.zone, a);
    const floodZones = new Set(capture.floods.map((f) => f.zone));
    const floods: FloodResult[] = capture.floods.map((f) => {
      const a = started.get(f.zone) ?? null;
      const first = floodAt.get(f.zone) ?? null;
      return {
        zone: f.zone,
        kind: f.kind,
        firstPublishedAt: first,
        alertAt: a?.publishedAt ?? null,
        latencyMs: a && first !== null ? a.publishedAt - first : null,
        eventDelayMs: a ? a.at - f.firstTs : null,
      };
    });
    const batches = samples.length ? samples[samples.length - 1]!.published : 0;
    // Messages each topic received (what the downstream stages had to read).
    const messages: Record<string, number> = {};
    for (const [k, name] of Object.entries(topics)) {
      let n = 0;
      for (const v of (await topicEnd(admin, name)).values()) n += Number(v);
      messages[k] = n;
    }
    return {
      label,
      speed,
      targetQps,
      records: d.records!,
      malformed: d.malformed!,
      lostBatches: d.lostBatches!,
      batches,
      messages,
      replayAckedS: (d.ackedAt! - start) / 1000,
      detectorCaughtUpS: (caughtUpAt - start) / 1000,
      drainedS: drainedAt === null ? null : (drainedAt - start) / 1000,
      sustainedQps: d.records! / ((caughtUpAt - start) / 1000),
      publishQps: d.records! / ((d.ackedAt! - start) / 1000),
      cpu,
      cpuToCaughtUp,
      rss,
      faults,
      samples,
      groups: Object.fromEntries([...groups.keys()].map((g) => [g, g.slice(run.length + 1)])),
      floods,
      falseAlerts: [...started.keys()].filter((z) => !floodZones.has(z)),
      loadBefore,
      loadAfter,
      profiles,
    };
  } finally {
    replayProc?.kill('SIGKILL');
    await harness.disconnect().catch(() => undefined);
    await Promise.all([...daemons.values()].map((d) => d.stop()));
    // The last 64 KiB of each service's log, for a look after the run.
    mkdirSync(join(WORK, 'logs'), { recursive: true });
    for (const [svc, d] of daemons)
      writeFileSync(
        join(WORK, 'logs', `${label.replace(/[^a-z0-9]+/gi, '-')}-${svc}.log`),
        d.log(),
      );
    await admin
      .deleteTopics({ topics: Object.values(topics) })
      .catch((e: unknown) => log(`deleting topics: ${String(e)}`));
    await admin.disconnect();
    rmSync(join(WORK, `${run}.floods.json`), { force: true });
    // Only this run's keys (the Redis is shared: never FLUSH).
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${run}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
    redis.disconnect();
  }
}

// ---------------------------------------------------------------------------------------------
// Report

const quantile = (xs: number[], q: number): number | null => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
};
const ms = (v: number | null) => (v === null ? '—' : `${fmt(v)} ms`);
const secs = (v: number | null, d = 1) => (v === null ? '—' : `${v.toFixed(d)} s`);

function groupLabel(r: RunResult, group: string): string {
  return r.groups[group] ?? group;
}

/** The run with the median sustained rate (the lower middle one of an even count). */
function medianRun(runs: readonly RunResult[]): RunResult {
  const sorted = [...runs].sort((a, b) => a.sustainedQps - b.sustainedQps);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

function render(capture: Capture, runs: RunResult[]): string {
  const out: string[] = [];
  // Several unpaced runs: the median one is detailed (CPU to caught-up, lag over time).
  const unpacedRuns = runs.filter((r) => r.speed === 0);
  const unpaced = unpacedRuns.length ? medianRun(unpacedRuns) : null;
  out.push('## End to end: a capture through every service (`pnpm bench e2e`)');
  out.push('');
  out.push(
    `Machine: ${machineLine()}. Load average (1/5/15 min) at the start: ${runs[0]?.loadBefore ?? load()}.`,
  );
  out.push('');
  out.push(
    `Command: \`pnpm bench e2e\` (\`node --expose-gc --require @swc-node/register bench/e2e.bench.ts\`; E2E_QUERIES=${QUERIES}, E2E_PARTITIONS=${PARTITIONS}, E2E_LOADS=${LOADS.join(',')}${unpacedRuns.length > 1 ? `, E2E_UNPACED_RUNS=${unpacedRuns.length}` : ''}${PROFILE ? ', E2E_PROFILE=1' : ''}${NODE_FLAGS.length ? `, E2E_NODE_FLAGS='${NODE_FLAGS.join(' ')}'` : ''}${CAPTURE_VARIANT ? `, E2E_SEED=${SEED}, E2E_FLOOD_KINDS=${FLOOD_KINDS.join(',')}${LOOKALIKES.length ? `, E2E_LOOKALIKES=${LOOKALIKES.join(',')}` : ''}${ZONES === DEFAULT_ZONES ? '' : `, E2E_ZONES=${ZONES}`}` : ''}${process.env.INGEST_BATCH_PER ? `, INGEST_BATCH_PER=${process.env.INGEST_BATCH_PER}` : ''}). Every service is its own process (\`node services/<svc>/dist/main.js\`, shipped defaults, LOG_LEVEL=${process.env.E2E_LOG_LEVEL ?? 'info'}); the ingest is \`bench/e2e-replay.ts\` — the built ingest's openPublisher + replayFile, as \`sluice replay\` — in its own process. Real broker and Redis, shared with whatever else runs on the box; fresh topics (${PARTITIONS} partitions), groups, Redis prefix and processes per run.`,
  );
  out.push('');
  const flood0 = capture.floods[0]!;
  out.push(
    `Capture (traffic-sim, generated once into .local/e2e/): ${fmt(capture.queries)} queries with their responses (${fmt(capture.packets)} packets, ${fmt(capture.bytes / 2 ** 20)} MiB pcap) over ${capture.eventSeconds} s of event time — ${fmt(capture.meanRate)} queries/s on average: ordinary traffic on ${capture.zones.length} zones at ${fmt(capture.benignQps)}/s (Zipf over zones and names, 0.5 % new names, NXDOMAIN for names that do not exist), plus ${capture.floods.length} floods of ${FLOOD_SECONDS} s at ${fmt(flood0.qps)}/s each (${[...new Set(capture.floods.map((f) => f.kind))].join(', ')}; 2000 resolvers each) on ten different zones, one every ${FLOOD_EVERY_S} s from t = ${FIRST_FLOOD_S} s${capture.lookalikes?.length ? `; between them, benign look-alikes at the same rate on zones no flood touches (${capture.lookalikes.map((l) => l.kind).join(', ')}: an alert there counts as false)` : ''}. traffic-sim seed '${capture.seed ?? DEFAULT_SEED}'.`,
  );
  out.push('');
  out.push('### Runs');
  out.push('');
  out.push(
    markdownTable(
      [
        'run',
        'pace',
        'queries',
        'replay acknowledged',
        '**first publish → detector caught up**',
        '**sustained queries/s**',
        'all groups drained',
        'floods alerted',
        'false alerts',
        'load avg before → after',
      ],
      runs.map((r) => [
        r.label,
        r.speed === 0
          ? 'unpaced'
          : `${r.speed.toFixed(2)}× event time (${fmt(r.targetQps ?? 0)} q/s)`,
        fmt(r.records),
        `${secs(r.replayAckedS)} (${fmt(r.publishQps)}/s)`,
        `**${secs(r.detectorCaughtUpS)}**`,
        `**${fmt(r.sustainedQps)}/s**`,
        secs(r.drainedS),
        `${r.floods.filter((f) => f.alertAt !== null).length}/${r.floods.length}`,
        r.falseAlerts.length ? r.falseAlerts.join(', ') : '0',
        `${r.loadBefore} → ${r.loadAfter}`,
      ]),
    ),
  );
  out.push('');
  out.push(
    `Sustained = queries ÷ (first query handed to the publisher → the detector's committed offsets reach the end of the queries topic). Malformed: ${runs.map((r) => r.malformed).join(' / ')}; batches lost: ${runs.map((r) => r.lostBatches).join(' / ')}.`,
  );
  if (unpacedRuns.length > 1 && unpaced) {
    const rates = unpacedRuns.map((r) => r.sustainedQps);
    out.push(
      '',
      `**Unpaced, ${unpacedRuns.length} runs back to back: median ${fmt(unpaced.sustainedQps)}/s** (${unpaced.label}; ${fmt(Math.min(...rates))}–${fmt(Math.max(...rates))}/s). ${runs.some((r) => r.speed > 0) ? 'The median paces the runs below; the' : 'The'} CPU columns that count to caught-up and the lag over time are its.`,
    );
  }
  out.push('');

  if (runs[0]?.messages) {
    out.push('Messages each topic received:');
    out.push('');
    out.push(
      markdownTable(
        ['run', ...Object.keys(runs[0].messages)],
        runs.map((r) => [r.label, ...Object.values(r.messages ?? {}).map((v) => fmt(v))]),
      ),
    );
    out.push('');
  }

  // CPU and memory.
  out.push('### CPU seconds and peak RSS per process');
  out.push('');
  out.push(
    `From the replay's first query until every group drained (the replay: from its first query to its last acknowledgement, process.cpuUsage() — module loading and connecting excluded); /proc/<pid>/stat utime+stime, VmHWM; page faults: minor faults over the same span (/proc/<pid>/stat minflt; the replay's from process.resourceUsage()), each a fresh page the kernel had to map — on this workplace's VMs one costs ~15–18 µs of the process's CPU (docs/benchmarks/e2e.md, seventh session). The broker and Redis are shared: their figures include anything else on them during the run. "per M" = CPU seconds per million queries; a core does 1 M queries in that many seconds, so with ${'2'} cores the pipeline cannot exceed 2 ÷ (sum per M) million queries/s.`,
  );
  out.push('');
  const head = ['process'];
  for (const r of runs) head.push(`${r.label}: CPU s`, `${r.label}: per M`);
  if (unpaced)
    head.push(`${unpaced.label}: CPU s to caught-up`, `${unpaced.label}: cores busy (mean)`);
  head.push(...runs.map((r) => `${r.label}: peak RSS`));
  // Saved runs from before the faults were sampled have none: no column then.
  const faultRuns = runs.filter((r) => r.faults !== undefined);
  head.push(...faultRuns.map((r) => `${r.label}: page faults per M`));
  const rows: (string | number)[][] = [];
  for (const name of PROCS) {
    const row: (string | number)[] = [name];
    for (const r of runs) {
      const c = r.cpu[name];
      row.push(
        c === null ? '—' : c.toFixed(1),
        c === null ? '—' : ((c / r.records) * 1e6).toFixed(2),
      );
    }
    if (unpaced) {
      const c = unpaced.cpuToCaughtUp[name];
      row.push(
        c === null ? '—' : c.toFixed(1),
        c === null ? '—' : (c / unpaced.detectorCaughtUpS).toFixed(2),
      );
    }
    for (const r of runs) row.push(r.rss[name] ? `${fmt(r.rss[name] / 2 ** 20)} MiB` : '—');
    for (const r of faultRuns) {
      const f = r.faults![name];
      row.push(f === undefined ? '—' : fmt((f / r.records) * 1e6));
    }
    rows.push(row);
  }
  const total: (string | number)[] = ['**total**'];
  for (const r of runs) {
    const sum = PROCS.reduce((s, n) => s + (r.cpu[n] ?? 0), 0);
    total.push(`**${sum.toFixed(1)}**`, `**${((sum / r.records) * 1e6).toFixed(2)}**`);
  }
  if (unpaced) {
    const sum = PROCS.reduce((s, n) => s + (unpaced.cpuToCaughtUp[n] ?? 0), 0);
    total.push(sum.toFixed(1), (sum / unpaced.detectorCaughtUpS).toFixed(2));
  }
  for (let i = 0; i < runs.length; i++) total.push('');
  for (const r of faultRuns) {
    const sum = PROCS.reduce((s, n) => s + (r.faults![n] ?? 0), 0);
    total.push(`**${fmt((sum / r.records) * 1e6)}**`);
  }
  rows.push(total);
  out.push(markdownTable(head, rows));
  out.push('');

  // Lag over time.
  if (unpaced) {
    const groups = Object.keys(unpaced.groups);
    out.push(`### Consumer lag over time (${unpaced.label})`);
    out.push('');
    const every = Math.max(1, Math.ceil(unpaced.samples.length / 30));
    const per = unpaced.batches > 0 ? unpaced.records / unpaced.batches : 0;
    out.push(
      `Sampled every second (kafkajs admin fetchTopicOffsets / fetchOffsets: committed lag, in Kafka messages; one query message carries ≈ ${fmt(per)} queries); every ${every}. row shown, all rows in .local/e2e/last-run.json. CPU columns: cores busy over the preceding second.`,
    );
    out.push('');
    out.push(
      markdownTable(
        [
          't (s)',
          'query batches published',
          ...groups.map((g) => `lag: ${groupLabel(unpaced, g)}`),
          ...PROCS.filter((p) => p !== 'bench harness').map((p) => `CPU ${p}`),
        ],
        unpaced.samples
          .filter((_, i) => i % every === 0 || i === unpaced.samples.length - 1)
          .map((s) => [
            s.t.toFixed(0),
            fmt(s.published),
            ...groups.map((g) => (s.lag[g] === undefined ? '—' : fmt(s.lag[g]))),
            ...PROCS.filter((p) => p !== 'bench harness').map((p) =>
              s.cpu[p] === undefined ? '—' : s.cpu[p].toFixed(2),
            ),
          ]),
      ),
    );
    out.push('');
  }

  // Latency.
  const paced = runs.filter((r) => r.speed > 0);
  if (paced.length) {
    out.push('### Ingest-to-alert latency, paced replays');
    out.push('');
    out.push(
      `Latency = the alert's Kafka timestamp (the detector's producer clock at publish) − the wall time the replay handed the flood's first query to the ingest publisher (before batching, so batching linger counts). The replay keeps the capture's event-time pace × the speed factor; the detector decides in event time (1 s ticks), so part of the latency is event time that has to pass on the wall clock: from the first flood query to the end of the tick that alerts ("event delay"), plus the allowed lateness (${LATENESS_MS} ms) before that tick may close, divided by the speed — the floor no pipeline beats at that pace. The rest is the pipeline: "pipeline delay" = latency − (event delay + ${LATENESS_MS} ms) ÷ speed. p99 of ${capture.floods.length} floods is the largest.`,
    );
    out.push('');
    out.push(
      markdownTable(
        [
          'run',
          'pace',
          'alerted',
          'latency p50',
          '**latency p99**',
          'event delay p50 (event time)',
          'event-time floor p50 (wall)',
          'pipeline delay p50',
          'pipeline delay p99',
        ],
        paced.map((r) => {
          const lat = r.floods.flatMap((f) => (f.latencyMs === null ? [] : [f.latencyMs]));
          const ev = r.floods.flatMap((f) => (f.eventDelayMs === null ? [] : [f.eventDelayMs]));
          const pipe = r.floods.flatMap((f) =>
            f.latencyMs === null || f.eventDelayMs === null
              ? []
              : [f.latencyMs - (f.eventDelayMs + LATENESS_MS) / r.speed],
          );
          return [
            r.label,
            `${r.speed.toFixed(2)}× (${fmt(r.targetQps ?? 0)} q/s)`,
            `${lat.length}/${r.floods.length}`,
            ms(quantile(lat, 0.5)),
            `**${ms(quantile(lat, 0.99))}**`,
            ms(quantile(ev, 0.5)),
            ms(((quantile(ev, 0.5) ?? 0) + LATENESS_MS) / r.speed),
            ms(quantile(pipe, 0.5)),
            ms(quantile(pipe, 0.99)),
          ];
        }),
      ),
    );
    out.push('');
    out.push(
      markdownTable(
        ['flood', 'kind', ...paced.map((r) => `${r.label}: latency (event delay)`)],
        capture.floods.map((f, i) => [
          f.zone,
          f.kind,
          ...paced.map((r) => {
            const x = r.floods[i]!;
            return x.latencyMs === null
              ? 'not alerted'
              : `${fmt(x.latencyMs)} ms (${fmt(x.eventDelayMs ?? 0)} ms)`;
          }),
        ]),
      ),
    );
    out.push('');
  }

  // Profiles.
  for (const r of runs) {
    const names = Object.keys(r.profiles) as ProcName[];
    if (!names.length) continue;
    out.push(`### CPU profile, ${r.label}: top self time per process`);
    out.push('');
    out.push(
      "V8 sampling profiler (1 ms) over the measured run; self time, share of the process's busy (non-idle) samples.",
    );
    out.push('');
    for (const name of names) {
      const p = r.profiles[name]!;
      out.push(
        `**${name}** — busy ${(p.busyMs / 1000).toFixed(1)} s; by area: ${p.areas
          .slice(0, 8)
          .map(([a, v]) => `${a} ${((100 * v) / p.busyMs).toFixed(0)} %`)
          .join(', ')}`,
      );
      out.push('');
      out.push(
        markdownTable(
          ['self', 'function', 'where'],
          p.top
            .slice(0, 12)
            .map((f) => [`${(100 * f.share).toFixed(1)} %`, `\`${f.name}\``, f.where || f.area]),
        ),
      );
      out.push('');
    }
  }
  return out.join('\n');
}

async function main(): Promise<void> {
  // E2E_RENDER=<last-run.json>: print the section again from a saved run (no measuring).
  if (process.env.E2E_RENDER) {
    const saved = JSON.parse(readFileSync(process.env.E2E_RENDER, 'utf8')) as {
      capture: Capture;
      runs: RunResult[];
    };
    process.stdout.write(`${render(saved.capture, saved.runs)}\n`);
    return;
  }
  const capture = await ensureCapture(QUERIES);
  const kafka = createKafka({
    brokers: BROKERS.split(','),
    clientId: 'sluice-e2e-bench',
    sasl: null,
    tls: { enabled: false, caFile: null },
    topicPartitions: PARTITIONS,
    replicationFactor: 1,
  });
  const runs: RunResult[] = [];
  let capacity = FIXED_CAPACITY;
  if (capacity === null) {
    const unpaced: RunResult[] = [];
    for (let i = 1; i <= UNPACED_RUNS; i++) {
      log(`unpaced run ${i} of ${UNPACED_RUNS} (load ${load()})`);
      const label = UNPACED_RUNS > 1 ? `unpaced ${i}` : 'unpaced';
      unpaced.push(await runOnce(kafka, capture, label, 0, null));
    }
    runs.push(...unpaced);
    capacity = medianRun(unpaced).sustainedQps;
    log(`capacity ${fmt(capacity)} queries/s`);
  }
  for (const l of LOADS) {
    const target = l * capacity;
    const speed = target / capture.meanRate;
    log(
      `paced run at ${l * 100} % (${fmt(target)} q/s, ${speed.toFixed(2)}× event time; load ${load()})`,
    );
    runs.push(await runOnce(kafka, capture, `${Math.round(l * 100)} %`, speed, target));
  }
  writeFileSync(join(WORK, 'last-run.json'), JSON.stringify({ capture, runs }, null, 2));
  process.stdout.write(`${render(capture, runs)}\n`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(
      `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
