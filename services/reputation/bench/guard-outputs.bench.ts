/**
 * Zone guard outputs (issue 10, item 1): how they scale with the number of known names, and how
 * fast a guard reaches real enforcers.
 * 1. Scaling, N known names ∈ {1k, 10k, 100k, 1M} (each N in its own child process, so peak RSS is
 *    that N's alone): decideGuard, the dnsdist guard CDB, RPZ records / zone text / zone-set update /
 *    AXFR / IXFR / SOA answers, the Kafka message and the feed decision (JSON), the dnsdist Lua
 *    snippet (≤ 100k), and whether the Kafka broker accepts the messages on an 8 MiB topic.
 * 2. Update latency on the wall clock, from publishing the known-names + alert messages to Kafka
 *    until a real dnsdist 1.7 (in front of NSD) refuses / a real BIND 9.18 (RPZ secondary over
 *    TSIG + NOTIFY, min-update-interval 0) rewrites a random name under the guarded zone; and the
 *    lift, from the alert's `ended` until a random name reaches the authoritative again. The
 *    reputation service runs in-process (as the e2e tests start it) on private topics and a
 *    private Redis key prefix.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import * as dnsPacket from 'dns-packet';
import {
  alertSchema,
  blocklistEntrySchema,
  decodeMessage,
  encodeMessage,
  knownNamesSchema,
  TopicSpecs,
  type Alert,
  type BlocklistEntry,
} from '@sluice/contracts';
import { BatchingProducer, createKafka, provisionTopics, type Kafka } from '@sluice/kafka';
import { createRedis } from '@sluice/redis';
import { formatMiB, machineLine, markdownTable, nsdConfig, PeakRss } from '@sluice/testing';
import { decideGuard, type GuardSettings } from '../src/core/zone-guard';
import { dnsdistConfigLua, dnsdistGuardCdb } from '../src/core/dnsdist-kv';
import { rpzRecordsByZone, type RpzRecord } from '../src/core/rpz';
import { RpzZoneSet } from '../src/core/rpz-zones';
import { answerRequest } from '../src/core/xfr';
import { renderDnsdistLua, renderRpz, toDecision } from '../src/core/render';
import { alertMessage, knownNames } from '../test/fixtures/offenders';
import { freePort, spawnDaemon, type Spawned } from '../test/integration/nameservers';
import {
  serviceConfig,
  startService,
  type RunningService,
} from '../test/integration/service.helpers';

process.env.KAFKA_BROKERS ??= '127.0.0.1:9092';
process.env.REDIS_URL ??= 'redis://127.0.0.1:6379';
process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';
const RESULT = '@@result@@';

const SCALE_SIZES = [1_000, 10_000, 100_000, 1_000_000];
const LUA_MAX = 100_000;
const TRIALS = Number(process.env.BENCH_TRIALS ?? 5);
const DNSDIST_SIZES = [100, 100_000];
const BIND_SIZES = [100, 30_000, 100_000];
const ENFORCE_TIMEOUT_MS = 30_000;
const HOLD_MS = 1000;
const SWEEP_MS = 250;
const ORIGIN = 'rpz.sluice';
const SCALE_ZONE = 'shop.example.com';
const GUARDED = 'guarded.test';
const WILDCARD_A = '192.0.2.99';
const MAX_MESSAGE_BYTES = TopicSpecs.blocklist.maxMessageBytes ?? 0;
const DEFAULT_MAX_NAMES = 100_000; // GUARD_MAX_NAMES default (reputation.config.ts)
const log = (s: string) => process.stderr.write(`${s}\n`);
const fmt = (n: number) => n.toLocaleString('en-US');
const mib = (b: number) => `${(b / 2 ** 20).toFixed(2)} MiB`;
const ms = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));

// ───────────────────────────── names ─────────────────────────────

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Realistic known names, 1–3 labels below the zone: service names (www, mail, api…) with regions
 * and environments, hashed CDN labels, numbered hosts. Deterministic for a seed; apex first.
 */
function makeNames(n: number, zone: string, seed = 42): string[] {
  const rnd = mulberry32(seed);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)]!;
  const int = (k: number) => Math.floor(rnd() * k);
  const hex = (len: number) => {
    let s = '';
    for (let i = 0; i < len; i++) s += '0123456789abcdef'[int(16)];
    return s;
  };
  const services = [
    'www',
    'mail',
    'api',
    'cdn',
    'static',
    'img',
    'm',
    'login',
    'auth',
    'smtp',
    'imap',
    'vpn',
    'shop',
    'blog',
    'docs',
    'status',
    'app',
    'assets',
    'media',
    'ws',
    'autodiscover',
    'ftp',
  ];
  const regions = ['eu', 'us', 'ap', 'eu-west', 'us-east', 'de', 'fr', 'nl', 'uk', 'sg', 'br'];
  const envs = ['prod', 'stage', 'dev', 'int', 'v1', 'v2', 'corp', 'internal', 'edge'];
  const hosts = ['host', 'web', 'srv', 'node', 'db', 'mx', 'lb', 'k8s-worker'];
  const out = new Set<string>([zone]);
  while (out.size < n) {
    const r = rnd();
    let name: string;
    if (r < 0.05) name = pick(services);
    else if (r < 0.22) name = `${pick(services)}.${pick(regions)}`;
    else if (r < 0.37) name = `${pick(services)}.${pick(envs)}.${pick(regions)}`;
    else if (r < 0.62)
      name = `${hex(8 + int(9))}.${pick(['cdn', 'edge', 'img', 'static', 'media'])}`;
    else if (r < 0.87)
      name = `${pick(hosts)}${String(int(100_000)).padStart(4, '0')}.${pick(regions)}`;
    else name = `${pick(services)}${int(50)}.${pick(envs)}.${pick(regions)}`;
    out.add(`${name}.${zone}`);
  }
  return [...out];
}

function randomLabel(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  let s = '';
  for (const b of randomBytes(12)) s += alphabet[b % alphabet.length];
  return s;
}

function guardSettings(maxNames: number, action: GuardSettings['action']): GuardSettings {
  return {
    enabled: true,
    action,
    actionWithZoneData: action,
    holdMs: 300_000,
    staleMs: 120_000,
    allMinQps: 50,
    maxLeakShare: 0.05,
    maxNames,
    shadow: false,
    allowZones: [],
  };
}

// ───────────────────────────── part 1: scaling (child process per N) ─────────────────────────────

type Measured = { ms: number; bytes?: number; count?: number } | { error: string };

interface ScaleResult {
  n: number;
  rssBase: number;
  rssGrowth: number;
  namesMsg: Measured;
  namesDecode: Measured;
  decide: Measured;
  decideCapped: { ms: number; kept: number; truncated: boolean };
  cdb: Measured;
  rpzRecords: Measured;
  rpzText: Measured | null;
  zoneSet: Measured;
  axfr: Measured | null;
  ixfr: Measured | null;
  soa: Measured | null;
  kafkaJson: Measured;
  feedJson: Measured;
  lua: Measured | null;
  kafkaEntry: string;
  kafkaNames: string;
}

/** Median of `reps` timed runs (the first call at a size also pays for JIT compilation). */
function timed<T>(reps: number, fn: () => T): { ms: number; out: T } {
  const times: number[] = [];
  let out!: T;
  for (let i = 0; i < reps; i++) {
    const s = performance.now();
    out = fn();
    times.push(performance.now() - s);
  }
  times.sort((a, b) => a - b);
  return { ms: times[Math.floor(times.length / 2)]!, out };
}

function measure<T>(reps: number, fn: () => T, size: (out: T) => Partial<Measured>): Measured {
  try {
    const r = timed(reps, fn);
    return { ms: r.ms, ...size(r.out) } as Measured;
  } catch (e) {
    return { error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
  }
}

async function kafkaAccepts(
  kafka: Kafka,
  topic: string,
  key: string,
  value: Buffer,
): Promise<string> {
  const producer = kafka.producer({ allowAutoTopicCreation: false, retry: { retries: 0 } });
  await producer.connect();
  const s = performance.now();
  try {
    await producer.send({ topic, acks: -1, messages: [{ key, value }] });
    return `accepted (${ms(performance.now() - s)} ms)`;
  } catch (e) {
    const err = e as { type?: string; message?: string };
    return `rejected: ${err.type ?? err.message ?? String(e)}`;
  } finally {
    await producer.disconnect();
  }
}

async function scaleChild(n: number, topic: string): Promise<void> {
  const reps = n <= 100_000 ? 3 : 1;
  const names = makeNames(n, SCALE_ZONE);
  const alert = alertMessage({ zone: SCALE_ZONE, phase: 'started', excessQps: 5000 });
  const known = knownNames(alert, names);
  global.gc?.();
  const rssBase = process.memoryUsage.rss();
  const rss = new PeakRss();
  const now = Date.now();

  let namesBuf: Buffer = Buffer.alloc(0);
  const namesMsg = measure(
    reps,
    () => (namesBuf = encodeMessage(knownNamesSchema, known)),
    (b) => ({ bytes: b.length }),
  );
  const namesDecode = measure(
    reps,
    () => decodeMessage(knownNamesSchema, namesBuf),
    (k) => ({ count: k.names.length }),
  );
  // GUARD_MAX_NAMES up to the list (config allows ≤ 1,000,000), to see each output at full size.
  const cfg = guardSettings(n, 'refused');
  const inputs = { alert, names: known, zoneData: null, leak: null };
  let entry!: BlocklistEntry;
  const decide = measure(
    reps,
    () => (entry = decideGuard(inputs, null, now, cfg)!),
    (e) => ({ count: e.guard!.knownNames.length }),
  );
  const capped = timed(reps, () =>
    decideGuard(inputs, null, now, guardSettings(DEFAULT_MAX_NAMES, 'refused')),
  );
  const cdb = measure(
    reps,
    () => dnsdistGuardCdb([entry]),
    (b) => ({ bytes: b.length }),
  );
  const zoneName = `${SCALE_ZONE}.${ORIGIN}`;
  const rpzRecords = measure(
    reps,
    () => rpzRecordsByZone([entry], ORIGIN),
    (m) => ({ count: m.get(zoneName)?.length ?? 0 }),
  );
  let records: RpzRecord[] | null = null;
  try {
    records = rpzRecordsByZone([entry], ORIGIN).get(zoneName) ?? [];
  } catch {
    // reported by the row above
  }
  const recs = records;
  const rpzText: Measured | null =
    recs === null
      ? null
      : measure(
          reps,
          () => renderRpz([], { origin: ORIGIN, zoneName, serial: 1, records: recs }),
          (t) => ({ bytes: Buffer.byteLength(t) }),
        );
  // The service's own RPZ path: zone set update (diff for IXFR), then what BIND asks for.
  const zones = new RpzZoneSet(ORIGIN, 1000);
  zones.update([]);
  const emptySerial = zones.get(zoneName)!.serial;
  const zoneSet = measure(
    1,
    () => zones.update([entry], now + 1000),
    (c) => ({ count: c.length }),
  );
  const query = (type: 'AXFR' | 'IXFR' | 'SOA') =>
    dnsPacket.encode({
      type: 'query',
      id: 7,
      questions: [{ type, name: zoneName }],
      ...(type === 'IXFR'
        ? {
            authorities: [
              {
                type: 'SOA',
                name: zoneName,
                ttl: 60,
                data: {
                  mname: 'localhost',
                  rname: 'hostmaster.localhost',
                  serial: emptySerial,
                  refresh: 60,
                  retry: 10,
                  expire: 86400,
                  minimum: 60,
                },
              },
            ],
          }
        : {}),
    });
  const xfr = (type: 'AXFR' | 'IXFR' | 'SOA') =>
    measure(
      reps,
      () => answerRequest(query(type), zones, { keys: [], requireTsig: false }, 'tcp'),
      (r) => ({
        bytes: r.messages.reduce((a, m) => a + m.length, 0),
        count: r.messages.length,
      }),
    );
  // Only meaningful when the update went through (otherwise the zone is still empty).
  const updated = !('error' in zoneSet);
  const axfr = updated ? xfr('AXFR') : null;
  const ixfr = updated ? xfr('IXFR') : null;
  const soa = updated ? xfr('SOA') : null;
  let entryBuf: Buffer = Buffer.alloc(0);
  const kafkaJson = measure(
    reps,
    () => (entryBuf = encodeMessage(blocklistEntrySchema, entry)),
    (b) => ({ bytes: b.length }),
  );
  const feedJson = measure(
    reps,
    () => JSON.stringify({ new: [toDecision(entry, now)], deleted: [] }),
    (t) => ({ bytes: Buffer.byteLength(t) }),
  );
  const lua =
    n <= LUA_MAX
      ? measure(
          reps,
          () => renderDnsdistLua([entry]),
          (t) => ({ bytes: Buffer.byteLength(t) }),
        )
      : null;
  const rssPeak = rss.stop();
  // Real broker, topic with the blocklist topic's max.message.bytes (8 MiB).
  const kafka = createKafka({
    brokers: process.env.KAFKA_BROKERS!.split(','),
    clientId: 'bench-guard-scale',
    sasl: null,
    tls: { enabled: false, caFile: null },
    topicPartitions: 1,
    replicationFactor: 1,
  });
  const kafkaEntry = await kafkaAccepts(kafka, topic, entry.id, entryBuf);
  const kafkaNames = await kafkaAccepts(kafka, topic, SCALE_ZONE, namesBuf);
  const result: ScaleResult = {
    n,
    rssBase,
    rssGrowth: rssPeak - rssBase,
    namesMsg,
    namesDecode,
    decide,
    decideCapped: {
      ms: capped.ms,
      kept: capped.out!.guard!.knownNames.length,
      truncated: capped.out!.guard!.namesTruncated,
    },
    cdb,
    rpzRecords,
    rpzText,
    zoneSet,
    axfr,
    ixfr,
    soa,
    kafkaJson,
    feedJson,
    lua,
    kafkaEntry,
    kafkaNames,
  };
  process.stdout.write(`${RESULT}${JSON.stringify(result)}\n`);
}

/** Largest N for which rpzRecordsByZone still returns (bisection on one generated list). */
function rpzThresholdChild(): void {
  const names = makeNames(300_000, SCALE_ZONE);
  const alert = alertMessage({ zone: SCALE_ZONE, phase: 'started', excessQps: 5000 });
  const known = knownNames(alert, names);
  const works = (k: number) => {
    const e = decideGuard(
      { alert, names: known, zoneData: null, leak: null },
      null,
      Date.now(),
      guardSettings(k, 'refused'),
    )!;
    try {
      rpzRecordsByZone([e], ORIGIN);
      return true;
    } catch {
      return false;
    }
  };
  let lo = 1_000;
  let hi = 300_000;
  if (works(hi))
    return void process.stdout.write(`${RESULT}${JSON.stringify({ ok: hi, fail: null })}\n`);
  while (hi - lo > 100) {
    const mid = Math.floor((lo + hi) / 2);
    if (works(mid)) lo = mid;
    else hi = mid;
  }
  process.stdout.write(`${RESULT}${JSON.stringify({ ok: lo, fail: hi })}\n`);
}

function runChild(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: process.env,
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.once('error', reject);
    child.once('exit', (code, signal) =>
      code === 0 && out.includes(RESULT)
        ? resolve(out.slice(out.lastIndexOf(RESULT) + RESULT.length))
        : reject(new Error(`child ${args.join(' ')}: ${code ?? signal}`)),
    );
  });
}

// ───────────────────────────── part 2: latency to real enforcers ─────────────────────────────

const RCODE = { NOERROR: 0, NXDOMAIN: 3, REFUSED: 5 } as const;

/** UDP prober from one loopback source: a fresh random name under the zone every 10 ms. */
class Prober {
  private readonly sock = createSocket('udp4');
  private readonly waiting = new Map<number, (p: dnsPacket.DecodedPacket, t: number) => void>();
  private nextId = 1;

  constructor(
    private readonly port: number,
    private readonly source: string,
  ) {}

  async open(): Promise<void> {
    await new Promise<void>((resolve) => this.sock.bind(0, this.source, () => resolve()));
    this.sock.on('message', (msg) => {
      const t = performance.now();
      let p: dnsPacket.DecodedPacket;
      try {
        p = dnsPacket.decode(msg);
      } catch {
        return;
      }
      const cb = this.waiting.get(p.id ?? -1);
      if (cb) {
        this.waiting.delete(p.id ?? -1);
        cb(p, t);
      }
    });
  }

  private send(name: string, cb: (p: dnsPacket.DecodedPacket, t: number) => void): void {
    const id = (this.nextId = (this.nextId % 65_535) + 1);
    this.waiting.set(id, cb);
    const q = dnsPacket.encode({
      type: 'query',
      id,
      flags: dnsPacket.RECURSION_DESIRED,
      questions: [{ type: 'A', name }],
    });
    this.sock.send(q, this.port, '127.0.0.1');
  }

  /** Time (performance.now) of the first answer to a random name that satisfies `ok`, or null. */
  until(zone: string, ok: (p: dnsPacket.DecodedPacket) => boolean, timeoutMs: number) {
    return new Promise<number | null>((resolve) => {
      let done = false;
      const finish = (t: number | null) => {
        if (done) return;
        done = true;
        clearInterval(iv);
        clearTimeout(to);
        this.waiting.clear();
        resolve(t);
      };
      const probe = () =>
        this.send(`${randomLabel()}.${zone}`, (p, t) => {
          if (ok(p)) finish(t);
        });
      const iv = setInterval(probe, 10);
      const to = setTimeout(() => finish(null), timeoutMs);
      probe();
    });
  }

  /** One query, its rcode (or -1 after 2 s). */
  ask(name: string): Promise<number> {
    return new Promise((resolve) => {
      const to = setTimeout(() => resolve(-1), 2000);
      this.send(name, (p) => {
        clearTimeout(to);
        resolve((p.flags ?? 0) & 15);
      });
    });
  }

  close(): void {
    this.sock.close();
  }
}

const rcodeIs = (code: number) => (p: dnsPacket.DecodedPacket) => ((p.flags ?? 0) & 15) === code;
const reachesAuth = (p: dnsPacket.DecodedPacket) =>
  ((p.flags ?? 0) & 15) === RCODE.NOERROR &&
  (p.answers ?? []).some((a) => a.type === 'A' && a.data === WILDCARD_A);

/** Records the first time each condition holds, polled every 2 ms on the service's event loop. */
class Marks {
  readonly at = new Map<string, number>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly checks: Record<string, () => boolean>) {
    this.timer = setInterval(() => this.poll(), 2);
  }

  private poll(): void {
    for (const [k, check] of Object.entries(this.checks))
      if (!this.at.has(k) && check()) this.at.set(k, performance.now());
  }

  stop(): Map<string, number> {
    this.poll();
    clearInterval(this.timer);
    return this.at;
  }
}

interface Trial {
  acked: number;
  decided: number | null;
  output: number | null;
  transferred: number | null;
  reloaded: number | null;
  enforced: number | null;
  knownOk: number;
  knownAsked: number;
  liftRemoved: number | null;
  liftOutput: number | null;
  lifted: number | null;
}

interface Harness {
  svc: RunningService;
  producer: BatchingProducer;
  alerts: string;
  names: string;
  prober: Prober;
  /** A marker that changes when the enforcer's input changes (CDB file, RPZ serial). */
  outputMarker: () => string;
  /** BIND: has it logged the transfer of the current policy-zone serial / an RPZ reload since? */
  transferred: (() => boolean) | null;
  reloads: (() => number) | null;
  blockedRcode: number;
}

async function publish(h: Harness, alert: Alert, names: string[] | null): Promise<void> {
  if (names)
    await h.producer.send(h.names, [
      { key: alert.zone, value: encodeMessage(knownNamesSchema, knownNames(alert, names)) },
    ]);
  await h.producer.send(h.alerts, [{ key: alert.zone, value: encodeMessage(alertSchema, alert) }]);
  await h.producer.flush();
}

async function trial(h: Harness, names: string[], timeoutMs: number): Promise<Trial> {
  const ready = await h.prober.until(GUARDED, reachesAuth, 60_000);
  if (ready === null) throw new Error('the authoritative does not answer random names');
  // Settle, and start at a random phase of dnsdist's 1 s reload check (else trials lock to it).
  await new Promise((r) => setTimeout(r, 500 + Math.random() * 1000));
  const stats = h.svc.runtime.pipeline.stats;
  const guards0 = stats.guards;
  const removed0 = stats.removed;
  const marker0 = h.outputMarker();
  const reloads0 = h.reloads?.() ?? 0;
  const started = alertMessage({ zone: GUARDED, phase: 'started', excessQps: 5000 });
  let marks = new Marks({
    decided: () => stats.guards > guards0,
    output: () => h.outputMarker() !== marker0,
    ...(h.transferred
      ? { transferred: () => h.outputMarker() !== marker0 && h.transferred!() }
      : {}),
    ...(h.reloads ? { reloaded: () => h.reloads!() > reloads0 } : {}),
  });
  const t0 = performance.now();
  await publish(h, started, names);
  const acked = performance.now() - t0;
  const enforcedAt = await h.prober.until(GUARDED, rcodeIs(h.blockedRcode), timeoutMs);
  let m = marks.stop();
  const rel = (k: string, map: Map<string, number>, base: number) =>
    map.has(k) ? map.get(k)! - base : null;
  const out: Trial = {
    acked,
    decided: rel('decided', m, t0),
    output: rel('output', m, t0),
    transferred: rel('transferred', m, t0),
    reloaded: rel('reloaded', m, t0),
    enforced: enforcedAt === null ? null : enforcedAt - t0,
    knownOk: 0,
    knownAsked: 0,
    liftRemoved: null,
    liftOutput: null,
    lifted: null,
  };
  if (enforcedAt !== null) {
    // The guard's point: the names the zone has still answer (sampled).
    for (let i = 0; i < 10; i++) {
      const n = names[Math.floor(Math.random() * names.length)]!;
      out.knownAsked++;
      if ((await h.prober.ask(n)) === RCODE.NOERROR) out.knownOk++;
    }
  }
  // The enforcer's input as of the entry's removal (the `ended` update itself rewrites the CDB).
  let atRemoval: string | null = null;
  marks = new Marks({
    removed: () => stats.removed > removed0,
    output: () => {
      if (stats.removed === removed0) return false;
      atRemoval ??= h.outputMarker();
      return h.outputMarker() !== atRemoval;
    },
  });
  const t1 = performance.now();
  const ended = { ...started, phase: 'ended' as const, at: Date.now(), endedAt: Date.now() };
  await publish(h, ended, null);
  const liftedAt = await h.prober.until(GUARDED, reachesAuth, 60_000);
  m = marks.stop();
  out.liftRemoved = rel('removed', m, t1);
  out.liftOutput = rel('output', m, t1);
  out.lifted = liftedAt === null ? null : liftedAt - t1;
  // Let the sweep remove the entry even when the guard never reached the enforcer.
  const deadline = Date.now() + 10_000;
  while (stats.removed === removed0 && stats.guards > guards0 && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 100));
  return out;
}

interface SizeRun {
  size: number;
  trials: Trial[];
  note: string;
}

async function runSizes(
  h: Harness,
  sizes: readonly number[],
  trials: number,
  label: string,
): Promise<SizeRun[]> {
  // Warm-up (discarded): the guard consumer's group must be joined (it starts at the latest
  // offset), and the first guard pays for JIT compilation.
  const warm = makeNames(100, GUARDED, 7);
  for (let i = 0; ; i++) {
    const t = await trial(h, warm, 10_000);
    if (t.enforced !== null) break;
    if (i >= 5) throw new Error(`${label}: the warm-up guard never reached the enforcer`);
  }
  const out: SizeRun[] = [];
  for (const size of sizes) {
    const names = makeNames(size, GUARDED, size);
    const run: SizeRun = { size, trials: [], note: '' };
    for (let i = 0; i < trials; i++) {
      log(`${label}: ${fmt(size)} names, trial ${i + 1}/${trials}`);
      const t = await trial(h, names, ENFORCE_TIMEOUT_MS);
      run.trials.push(t);
      if (t.enforced === null) {
        run.note = `never enforced within ${ENFORCE_TIMEOUT_MS / 1000} s; further trials skipped`;
        break;
      }
    }
    out.push(run);
  }
  return out;
}

interface Infra {
  kafka: Kafka;
  topics: string[];
  prefixes: string[];
  groups: string[];
  dirs: string[];
  daemons: Spawned[];
}

async function privateTopics(infra: Infra, tag: string) {
  const id = `bench.guard.${Date.now().toString(36)}.${randomBytes(3).toString('hex')}.${tag}`;
  const t = {
    input: `${id}.in`,
    output: `${id}.out`,
    alerts: `${id}.alerts`,
    names: `${id}.names`,
    deadLetter: `${id}.dlq`,
  };
  await provisionTopics(
    infra.kafka,
    [
      { name: t.input, compacted: false },
      { name: t.output, compacted: true, maxMessageBytes: TopicSpecs.blocklist.maxMessageBytes },
      { name: t.alerts, compacted: false },
      { name: t.names, compacted: true, maxMessageBytes: TopicSpecs.knownNames.maxMessageBytes },
      { name: t.deadLetter, compacted: false },
    ],
    { partitions: 1, replicationFactor: 1 },
  );
  infra.topics.push(...Object.values(t));
  return t;
}

async function service(infra: Infra, tag: string, over: Record<string, string>) {
  const t = await privateTopics(infra, tag);
  const prefix = `bench:guard:${randomBytes(4).toString('hex')}:`;
  infra.prefixes.push(prefix);
  const config = serviceConfig({
    REDIS_KEY_PREFIX: prefix,
    REPUTATION_INPUT_TOPIC: t.input,
    REPUTATION_OUTPUT_TOPIC: t.output,
    REPUTATION_ALERTS_TOPIC: t.alerts,
    REPUTATION_KNOWN_NAMES_TOPIC: t.names,
    REPUTATION_DEADLETTER_TOPIC: t.deadLetter,
    GUARD_HOLD_MS: String(HOLD_MS),
    BLOCK_SWEEP_MS: String(SWEEP_MS),
    ...over,
  });
  infra.groups.push(config.REPUTATION_GROUP_ID, `${config.REPUTATION_GROUP_ID}-guard`);
  const svc = await startService(config);
  const producer = new BatchingProducer(infra.kafka);
  await producer.connect();
  return { svc, producer, ...t };
}

const zoneFile = (z: string) =>
  `$TTL 60\n@ SOA ns.${z}. hostmaster.${z}. 1 60 30 86400 60\n@ NS ns.${z}.\nns A 127.0.0.1\nwww A 192.0.2.80\n* A ${WILDCARD_A}\n`;

function fileMarker(path: string): () => string {
  return () => {
    try {
      const s = statSync(path);
      return `${s.ino}:${s.mtimeMs}:${s.size}`;
    } catch {
      return 'none';
    }
  };
}

async function dnsdistRuns(infra: Infra) {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-guard-dd-'));
  infra.dirs.push(dir);
  const nsdPort = await freePort();
  const ddPort = await freePort();
  writeFileSync(join(dir, `${GUARDED}.zone`), zoneFile(GUARDED));
  writeFileSync(
    join(dir, 'nsd.conf'),
    nsdConfig({
      dir,
      port: nsdPort,
      zones: [{ name: GUARDED, file: `${GUARDED}.zone` }],
      server: ['verbosity: 1', 'rrl-ratelimit: 0', 'rrl-whitelist-ratelimit: 0'],
    }),
  );
  const nsd = spawnDaemon('nsd', ['-d', '-c', join(dir, 'nsd.conf')]);
  infra.daemons.push(nsd);
  const clients = join(dir, 'sluice.cdb');
  const guardCdb = join(dir, 'sluice-guard.cdb');
  writeFileSync(
    join(dir, 'dnsdist.conf'),
    `setLocal("127.0.0.1:${ddPort}")
setACL({"127.0.0.0/8"})
newServer({address="127.0.0.1:${nsdPort}", checkName="www.${GUARDED}.", checkInterval=1})
${dnsdistConfigLua({ clientsCdbPath: clients, guardCdbPath: guardCdb, v4: [24], v6: [48] })}`,
  );
  const dd = spawnDaemon('dnsdist', [
    '--supervised',
    '--disable-syslog',
    '-C',
    join(dir, 'dnsdist.conf'),
  ]);
  infra.daemons.push(dd);
  const prober = new Prober(ddPort, '127.0.0.5');
  await prober.open();
  if ((await prober.until(GUARDED, reachesAuth, 30_000)) === null)
    throw new Error(`dnsdist/NSD not answering: ${dd.log().slice(-1500)} ${nsd.log().slice(-500)}`);
  const versions = {
    dnsdist: /dnsdist (\S+)/.exec(dd.log())?.[1] ?? '1.7',
  };

  const over = {
    RPZ_ENABLED: 'false',
    DNSDIST_CDB_PATH: clients,
    DNSDIST_GUARD_CDB_PATH: guardCdb,
  };
  const a = await service(infra, 'dd', over);
  const h: Harness = {
    svc: a.svc,
    producer: a.producer,
    alerts: a.alerts,
    names: a.names,
    prober,
    outputMarker: fileMarker(guardCdb),
    transferred: null,
    reloads: null,
    blockedRcode: RCODE.REFUSED,
  };
  let main: SizeRun[];
  try {
    main = await runSizes(h, DNSDIST_SIZES, TRIALS, 'dnsdist');
  } finally {
    await a.svc.close();
    await a.producer.disconnect();
  }
  // The same, with RPZ left at its default (RPZ_ENABLED=true, no secondaries): one trial per size.
  const b = await service(infra, 'dd-rpz', { ...over, RPZ_ENABLED: 'true' });
  let withRpz: SizeRun[];
  try {
    withRpz = await runSizes(
      { ...h, svc: b.svc, producer: b.producer, alerts: b.alerts, names: b.names },
      DNSDIST_SIZES,
      1,
      'dnsdist (RPZ also on)',
    );
  } finally {
    await b.svc.close();
    await b.producer.disconnect();
    prober.close();
  }
  return { main, withRpz, versions };
}

async function bindRuns(infra: Infra) {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-guard-bind-'));
  infra.dirs.push(dir);
  const bindPort = await freePort();
  const secret = randomBytes(32).toString('base64');
  const s = await service(infra, 'bind', {
    GUARD_ACTION: 'nxdomain',
    RPZ_NOTIFY: `127.0.0.1:${bindPort}`,
    RPZ_TSIG_KEYS: `sluice-xfr:${secret}`,
  });
  const policy = `${GUARDED}.${ORIGIN}`;
  writeFileSync(join(dir, `${GUARDED}.zone`), zoneFile(GUARDED));
  writeFileSync(
    join(dir, 'named.conf'),
    `key "sluice-xfr" { algorithm hmac-sha256; secret "${secret}"; };
options {
  directory "${dir}";
  pid-file "${join(dir, 'named.pid')}";
  session-keyfile "${join(dir, 'session.key')}";
  managed-keys-directory "${dir}";
  listen-on port ${bindPort} { 127.0.0.1; };
  listen-on-v6 { none; };
  recursion yes;
  allow-recursion { 127.0.0.0/8; };
  dnssec-validation no;
  notify no;
  response-policy { zone "${policy}" min-update-interval 0; } recursive-only no qname-wait-recurse no;
};
controls { };
zone "${GUARDED}" { type primary; file "${join(dir, `${GUARDED}.zone`)}"; };
zone "${policy}" {
  type secondary;
  primaries port ${s.svc.runtime.rpzPort} { 127.0.0.1 key sluice-xfr; };
  file "${join(dir, `${policy}.db`)}";
  allow-notify { 127.0.0.1; };
};
`,
  );
  const bind = spawnDaemon('named', ['-g', '-c', join(dir, 'named.conf')]);
  infra.daemons.push(bind);
  const prober = new Prober(bindPort, '127.0.0.6');
  await prober.open();
  try {
    if ((await prober.until(GUARDED, reachesAuth, 30_000)) === null)
      throw new Error(`BIND not answering: ${bind.log().slice(-1500)}`);
    const transferred = new RegExp(
      `zone ${policy.replace(/\./g, '\\.')}/IN: transferred serial`,
      'g',
    );
    const transfers = () => bind.log().match(transferred)?.length ?? 0;
    const deadline = Date.now() + 30_000;
    while (transfers() === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (transfers() === 0) throw new Error(`no initial transfer: ${bind.log().slice(-2000)}`);
    const rpz = s.svc.runtime.rpz!;
    const reload = new RegExp(`rpz: ${policy.replace(/\./g, '\\.')}: reload done`, 'g');
    const h: Harness = {
      svc: s.svc,
      producer: s.producer,
      alerts: s.alerts,
      names: s.names,
      prober,
      outputMarker: () => String(rpz.zones.currentSerial),
      transferred: () =>
        bind.log().includes(`${policy}/IN: transferred serial ${rpz.zones.currentSerial}`),
      reloads: () => bind.log().match(reload)?.length ?? 0,
      blockedRcode: RCODE.NXDOMAIN,
    };
    const runs = await runSizes(h, BIND_SIZES, TRIALS, 'BIND');
    const failures = (
      bind
        .log()
        .match(/failed while receiving responses|IXFR failed|end of file|connection reset/gi) ?? []
    ).length;
    const version = /BIND (\S+)/.exec(bind.log())?.[1] ?? '9.18';
    return { runs, version, failures, served: { ...rpz.served } };
  } finally {
    prober.close();
    await s.svc.close();
    await s.producer.disconnect();
  }
}

// ───────────────────────────── report ─────────────────────────────

function cell(m: Measured | null, what: 'bytes' | 'count' | 'none' = 'bytes'): string {
  if (m === null) return '—';
  if ('error' in m) return `**${m.error.split(':')[0]}**`;
  const size =
    what === 'bytes' && m.bytes !== undefined
      ? `${mib(m.bytes)}, `
      : what === 'count' && m.count !== undefined
        ? `${fmt(m.count)}, `
        : '';
  return `${size}${ms(m.ms)} ms`;
}

function stat(xs: Array<number | null>): string {
  const v = xs.filter((x): x is number => x !== null).sort((a, b) => a - b);
  if (v.length === 0) return 'never';
  const med = v[Math.floor((v.length - 1) / 2)]!;
  const missing = xs.length - v.length;
  return `${ms(v[0]!)} / ${ms(med)} / ${ms(v[v.length - 1]!)}${missing ? ` (${missing} never)` : ''}`;
}

function latencyTable(runs: SizeRun[], enforcer: string, transfer: boolean): string {
  const rows: string[][] = [];
  for (const r of runs) {
    const t = r.trials;
    // The lift only means something where the guard was enforced.
    const lift = t.filter((x) => x.enforced !== null);
    const known = t.reduce((a, x) => a + x.knownOk, 0);
    const asked = t.reduce((a, x) => a + x.knownAsked, 0);
    rows.push([
      fmt(r.size),
      String(t.length),
      stat(t.map((x) => x.acked)),
      stat(t.map((x) => x.decided)),
      stat(t.map((x) => x.output)),
      ...(transfer ? [stat(t.map((x) => x.transferred)), stat(t.map((x) => x.reloaded))] : []),
      `**${stat(t.map((x) => x.enforced))}**`,
      asked ? `${known}/${asked}` : '—',
      lift.length ? stat(lift.map((x) => x.liftRemoved)) : '—',
      lift.length ? stat(lift.map((x) => x.liftOutput)) : '—',
      lift.length ? `**${stat(lift.map((x) => x.lifted))}**` : '—',
    ]);
    if (r.note) rows[rows.length - 1]![0] += ` (${r.note})`;
  }
  return markdownTable(
    [
      'known names',
      'trials',
      'Kafka ack',
      'guard decided',
      transfer ? 'RPZ serial bumped' : 'guard CDB written',
      ...(transfer ? ['BIND logged transfer', 'BIND logged RPZ reload done'] : []),
      `${enforcer} enforces`,
      'known names answered',
      'lift: entry removed',
      transfer ? 'lift: RPZ serial bumped' : 'lift: guard CDB written',
      'lift: random name reaches auth',
    ],
    rows,
  );
}

async function main(): Promise<void> {
  const infra: Infra = {
    kafka: createKafka({
      brokers: process.env.KAFKA_BROKERS!.split(','),
      clientId: 'bench-guard',
      sasl: null,
      tls: { enabled: false, caFile: null },
      topicPartitions: 1,
      replicationFactor: 1,
    }),
    topics: [],
    prefixes: [],
    groups: [],
    dirs: [],
    daemons: [],
  };
  const out: string[] = [];
  try {
    // Part 1.
    const bigTopic = `bench.guard.${Date.now().toString(36)}.${randomBytes(3).toString('hex')}.size`;
    await provisionTopics(
      infra.kafka,
      [{ name: bigTopic, compacted: false, maxMessageBytes: MAX_MESSAGE_BYTES }],
      { partitions: 1, replicationFactor: 1 },
    );
    infra.topics.push(bigTopic);
    const scale: ScaleResult[] = [];
    for (const n of SCALE_SIZES) {
      log(`scale: ${fmt(n)} known names`);
      scale.push(JSON.parse(await runChild(['--scale', String(n), bigTopic])) as ScaleResult);
    }
    log('scale: RPZ threshold');
    const threshold = JSON.parse(await runChild(['--rpz-threshold'])) as {
      ok: number;
      fail: number | null;
    };
    // Part 2.
    log('latency: dnsdist');
    const dd = await dnsdistRuns(infra);
    log('latency: BIND');
    const bind = await bindRuns(infra);

    const redisVersion = await (async () => {
      const r = createRedis({ url: process.env.REDIS_URL!, keyPrefix: '' });
      const v = (await r.info('server')).match(/redis_version:(\S+)/)?.[1] ?? '?';
      r.disconnect();
      return v;
    })();

    out.push(
      '## Zone guard outputs: scaling with known names, and update latency to dnsdist and BIND',
    );
    out.push('');
    out.push(
      `Machine: ${machineLine()}. Kafka on ${process.env.KAFKA_BROKERS}, Redis ${redisVersion} on loopback, dnsdist ${dd.versions.dnsdist} (Debian) in front of NSD 4, BIND ${bind.version} (Debian).`,
    );
    out.push('');
    out.push(
      'Command: `pnpm bench guard-outputs` (services/reputation/bench/guard-outputs.bench.ts).',
    );
    out.push('');
    out.push(
      `### Output size and build time by number of known names (one guard entry for \`${SCALE_ZONE}\`)`,
    );
    out.push('');
    out.push(
      'Names: 1–3 labels under the zone — service names (www, mail, api…) with regions/environments, hashed CDN labels, numbered hosts; deterministic. Each N runs in its own process (`GUARD_MAX_NAMES` = N so every output carries all names); times are the median of 3 runs (1 run at 1M); the 2-core machine is shared, so small-N times are noisy. **Bold** = the call threw.',
    );
    out.push('');
    const col = (f: (r: ScaleResult) => string) => scale.map(f);
    const rows: Array<[string, ...string[]]> = [
      ['known-names message (Kafka in): encode', ...col((r) => cell(r.namesMsg))],
      [
        'known-names message: decode + schema (guard consumer)',
        ...col((r) => cell(r.namesDecode, 'none')),
      ],
      ['decideGuard (names kept, time)', ...col((r) => cell(r.decide, 'count'))],
      [
        `decideGuard at default GUARD_MAX_NAMES (${fmt(DEFAULT_MAX_NAMES)})`,
        ...col(
          (r) =>
            `${fmt(r.decideCapped.kept)} kept${r.decideCapped.truncated ? ' (truncated)' : ''}, ${ms(r.decideCapped.ms)} ms`,
        ),
      ],
      ['dnsdist guard CDB (dnsdistGuardCdb)', ...col((r) => cell(r.cdb))],
      ['RPZ records (rpzRecordsByZone: records, time)', ...col((r) => cell(r.rpzRecords, 'count'))],
      ['RPZ zone text (renderRpz)', ...col((r) => cell(r.rpzText))],
      [
        'RPZ zone set update (RpzZoneSet.update, IXFR diff)',
        ...col((r) => cell(r.zoneSet, 'none')),
      ],
      ['RPZ AXFR answer (wire, dns-packet)', ...col((r) => cell(r.axfr))],
      ['RPZ IXFR answer from the empty version', ...col((r) => cell(r.ixfr))],
      ['RPZ SOA query answer', ...col((r) => cell(r.soa, 'none'))],
      ['Kafka blocklist message (encodeMessage, schema-checked)', ...col((r) => cell(r.kafkaJson))],
      ['HTTP feed decision (`{new:[toDecision]}` JSON)', ...col((r) => cell(r.feedJson))],
      ['dnsdist Lua snippet (renderDnsdistLua)', ...col((r) => cell(r.lua))],
      [`blocklist message on an 8 MiB topic (real broker)`, ...col((r) => r.kafkaEntry)],
      ['known-names message on an 8 MiB topic (real broker)', ...col((r) => r.kafkaNames)],
      [
        'RSS before / peak growth',
        ...col((r) => `${formatMiB(r.rssBase)} / +${formatMiB(r.rssGrowth)}`),
      ],
    ];
    out.push(markdownTable(['output', ...SCALE_SIZES.map((n) => `N = ${fmt(n)}`)], rows));
    out.push('');
    const perName = (f: (r: ScaleResult) => Measured) => {
      const [a, b] = [scale[1]!, scale[2]!].map(f);
      return a && b && !('error' in a) && !('error' in b) && a.bytes && b.bytes
        ? (b.bytes - a.bytes) / (scale[2]!.n - scale[1]!.n)
        : null;
    };
    const bpn = perName((r) => r.kafkaJson);
    const npn = perName((r) => r.namesMsg);
    const fits = (b: number | null, base: Measured) =>
      b === null || 'error' in base || base.bytes === undefined
        ? '?'
        : fmt(Math.floor((MAX_MESSAGE_BYTES - base.bytes + b * scale[0]!.n) / b / 1000) * 1000);
    const rpzErr = scale.find((r) => 'error' in r.rpzRecords);
    out.push(
      `Kafka limit: the blocklist and known-names topics allow ${mib(MAX_MESSAGE_BYTES)} messages (\`TopicSpecs.*.maxMessageBytes\`). ` +
        `A guard entry costs ${bpn?.toFixed(1) ?? '?'} bytes per name on Kafka, the known-names message ${npn?.toFixed(1) ?? '?'}: ` +
        `with these names the entry stops fitting at about N ≈ ${fits(bpn, scale[0]!.kafkaJson)} and the known-names message at N ≈ ${fits(npn, scale[0]!.namesMsg)}. ` +
        `At the default GUARD_MAX_NAMES (${fmt(DEFAULT_MAX_NAMES)}) the entry fits; GUARD_MAX_NAMES is capped at 200,000 by config validation, so a guard always fits (at 1,000,000 the broker rejects both, row above).`,
    );
    out.push('');
    out.push(
      rpzErr
        ? `RPZ: \`rpzRecordsByZone\` throws from N = ${fmt(rpzErr.n)} in the table (${'error' in rpzErr.rpzRecords ? rpzErr.rpzRecords.error : ''}); bisection: works up to ${fmt(threshold.ok)} names, fails from ${threshold.fail === null ? '—' : fmt(threshold.fail)}.`
        : `RPZ: every size renders (bisection found no failure up to ${fmt(threshold.ok)} names). Before the fix of 2026-11-30 (records were spread into \`push\`, past V8's argument limit) it failed from ~62,700 names, below the default GUARD_MAX_NAMES, and took the dnsdist output down with it; both are fixed and tested (zone-guard.spec.ts, 150,000 names).`,
    );
    out.push('');
    out.push(
      'The dnsdist guard CDB is the slowest output to build (`writeCdb`, core/cdb.ts), and it is on the critical path of every dnsdist update: it is rebuilt whole on each refresh. decideGuard merges and filters every name before applying GUARD_MAX_NAMES, so a 1M-name input costs ~1 s even when capped; it runs on each alert, known-names message and offender window that carries the zone. A SOA query answers from the zone head (name and serial) without copying its records.',
    );
    out.push('');
    out.push(
      `### Update latency to real enforcers (wall clock, ms, min / median / max over ${TRIALS} trials)`,
    );
    out.push('');
    out.push(
      `From publishing the known-names and alert messages (BatchingProducer, acks=all) until a UDP prober sending a fresh random name under \`${GUARDED}\` every 10 ms gets the guard's answer; lift: from publishing the alert's \`ended\` until a random name is answered by the authoritative again (zone wildcard \`* A ${WILDCARD_A}\`). GUARD_HOLD_MS=${HOLD_MS}, BLOCK_SWEEP_MS=${SWEEP_MS}; the service debounces whole-list refreshes by 500 ms. Intermediate columns: when the service counted the new guard, when the enforcer's input changed (CDB file replaced / RPZ serial bumped), when BIND logged the transfer of that serial and its RPZ reload. Each trial starts 0.5–1.5 s (random) after the previous lift, so trials do not lock to dnsdist's once-a-second file check. 10 known names sampled per trial must still answer NOERROR during the guard. One warm-up trial (100 names) discarded. The reputation service runs in the bench process.`,
    );
    out.push('');
    out.push(
      `**dnsdist ${dd.versions.dnsdist}** (guard CDB via newCDBKVStore(path, 1), GUARD_ACTION=refused, RPZ_ENABLED=false):`,
    );
    out.push('');
    out.push(latencyTable(dd.main, 'dnsdist', false));
    out.push('');
    out.push(
      '**dnsdist with RPZ left on** (RPZ_ENABLED=true, its default; nothing transfers the zone), one trial per size:',
    );
    out.push('');
    out.push(latencyTable(dd.withRpz, 'dnsdist', false));
    out.push('');
    out.push(
      `**BIND ${bind.version}** (authoritative for \`${GUARDED}\`, policy zone \`${GUARDED}.${ORIGIN}\` as RPZ secondary, TSIG hmac-sha256, NOTIFY, min-update-interval 0; GUARD_ACTION=nxdomain):`,
    );
    out.push('');
    out.push(latencyTable(bind.runs, 'BIND', true));
    out.push('');
    out.push(
      `Sluice's RPZ server answered: ${Object.entries(bind.served)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}; BIND logged ${bind.failures} failed transfer(s).`,
    );
    process.stdout.write(`${out.join('\n')}\n`);
  } finally {
    for (const d of infra.daemons.reverse()) await d.stop().catch(() => undefined);
    for (const dir of infra.dirs) rmSync(dir, { recursive: true, force: true });
    const admin = infra.kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: infra.topics }).catch((e: unknown) => log(String(e)));
    await admin.deleteGroups(infra.groups).catch(() => undefined);
    await admin.disconnect();
    const raw = createRedis({ url: process.env.REDIS_URL!, keyPrefix: '' });
    for (const prefix of infra.prefixes) {
      let cursor = '0';
      do {
        const [next, keys] = await raw.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length) await raw.unlink(...keys);
      } while (cursor !== '0');
    }
    raw.disconnect();
  }
}

const mode = process.argv[2];
const run =
  mode === '--scale'
    ? scaleChild(Number(process.argv[3]), process.argv[4]!)
    : mode === '--rpz-threshold'
      ? Promise.resolve(rpzThresholdChild())
      : main();
void run.then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
