/**
 * Hot-zone catch-up (issue 13): how fast a hot zone split over K shard consumers and one merge
 * consumer works through a backlog on the real broker. N minutes of the zone's traffic are
 * published to the hot topic up front (one partition per shard, as the ingest does); the shard
 * and merge runtimes, in this process, then go through it tick by tick — each tick one round
 * trip shard → summaries → merge → decisions → shard (the per-tick barrier). Reported: ticks/s
 * and × real time from the first tick closed to the last tick decided, and one round trip taken
 * apart from the runtimes' trace points (median per tick). The alerts must be the ones the two
 * stages raise in one process, field for field, or the bench fails.
 *
 * BENCH_CATCHUP_MINUTES (3), BENCH_CATCHUP_FLOOD_QPS (5000), BENCH_CATCHUP_K ("1,2,4"), BENCH_CATCHUP_ROUNDS (2, alternating K),
 * BENCH_CATCHUP_WAIT_MS (the runtimes' fetch wait, 100 as in the integration test).
 * With BENCH_CATCHUP_BASELINE=<dir> the runtimes of another commit (copied there by
 * hot-zone-catchup.sh) run too, alternating with this checkout's. Markdown on stdout.
 */
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  alertSchema,
  decodeMessage,
  encodeQueryBatch,
  hotZoneKey,
  hotZoneShard,
  type Alert,
  type QueryEvent,
} from '@sluice/contracts';
import { type Kafka } from '@sluice/kafka';
import { createTestTopics, machineLine, markdownTable, testKafka, waitFor } from '@sluice/testing';
import { simulate, zoneName } from '@sluice/traffic-sim';
import { type Producer } from 'kafkajs';
import { withDefaults } from '../src/core/settings';
import { ShardedDetector } from '../src/core/shard/sharded-detector';
import { HotMergeRuntime, type HotMergeOptions } from '../src/hot-zone/hot-merge.runtime';
import { HotShardRuntime, type HotShardOptions } from '../src/hot-zone/hot-shard.runtime';
import { type HotZoneTraceEvent } from '../src/hot-zone/trace';

const HOT = zoneName(0);
const T0 = Date.parse('2026-01-01T00:00:00Z');
const settings = withDefaults({});
const minutes = Number(process.env.BENCH_CATCHUP_MINUTES ?? 3);
const splits = (process.env.BENCH_CATCHUP_K ?? '1,2,4').split(',').map(Number);
const rounds = Number(process.env.BENCH_CATCHUP_ROUNDS ?? 2);
const waitMs = Number(process.env.BENCH_CATCHUP_WAIT_MS ?? 100);
const baselineDir = process.env.BENCH_CATCHUP_BASELINE;
const floodQps = Number(process.env.BENCH_CATCHUP_FLOOD_QPS ?? 5000);

interface Runtimes {
  Shard: new (kafka: Kafka, o: HotShardOptions) => HotShardRuntime;
  Merge: new (kafka: Kafka, o: HotMergeOptions) => HotMergeRuntime;
}
const variants: [string, Runtimes][] = [
  ['this checkout', { Shard: HotShardRuntime, Merge: HotMergeRuntime }],
];
if (baselineDir) {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const s = require(join(baselineDir, 'hot-shard.runtime')) as {
    HotShardRuntime: Runtimes['Shard'];
  };
  const m = require(join(baselineDir, 'hot-merge.runtime')) as {
    HotMergeRuntime: Runtimes['Merge'];
  };
  /* eslint-enable @typescript-eslint/no-require-imports */
  const name = process.env.BENCH_CATCHUP_BASELINE_NAME ?? 'baseline';
  variants.unshift([name, { Shard: s.HotShardRuntime, Merge: m.HotMergeRuntime }]);
}

/** The zone's own traffic: benign 500 q/s, a Mirai flood (5,000 q/s) from 40 % to 55 % of the span. */
function traffic(): QueryEvent[] {
  const durationMs = minutes * 60_000;
  return [
    ...simulate({
      seed: 1313,
      startTime: T0,
      durationMs,
      zones: 1,
      benignQps: 500,
      withResponses: true,
      streams: [
        {
          kind: 'mirai',
          zone: HOT,
          startMs: Math.round(durationMs * 0.4),
          durationMs: Math.round(durationMs * 0.15),
          qps: floodQps,
        },
      ],
    }),
  ].filter((e) => e.zone === HOT);
}

/** As the ingest keys a hot zone: one batch per shard and second, key zone#shard, partition = shard. */
async function publish(producer: Producer, topic: string, k: number, events: QueryEvent[]) {
  const messages: { key: string; partition: number; value: Buffer }[] = [];
  let slice: QueryEvent[] = [];
  const flush = () => {
    const byShard: QueryEvent[][] = Array.from({ length: k }, () => []);
    for (const e of slice) byShard[hotZoneShard(e.qname, HOT, k)]!.push(e);
    byShard.forEach((list, shard) => {
      // Batches of ≤ 5,000 queries (a broker takes 1 MiB messages by default).
      for (let i = 0; i < list.length; i += 5000)
        messages.push({
          key: hotZoneKey(HOT, shard),
          partition: shard,
          value: encodeQueryBatch({
            v: 1,
            source: 'bench',
            zone: HOT,
            events: list.slice(i, i + 5000),
          }),
        });
    });
    slice = [];
  };
  for (const e of events) {
    if (slice.length > 0 && Math.floor(e.ts / 1000) !== Math.floor(slice[0]!.ts / 1000)) flush();
    slice.push(e);
  }
  if (slice.length) flush();
  for (const m of messages) await producer.send({ topic, acks: -1, messages: [m] });
}

interface Run {
  ticks: number;
  seconds: number;
  /** Publishing the backlog and the shards reading it, s. */
  loaded: number;
  legs: Map<string, number>;
  alertsSame: boolean;
}

/** Topics of every run, deleted at the end (a producer's metadata would trip on a topic deleted sooner). */
const created: string[] = [];

/** Share of the catch-up the shards spent closing ticks (median round); the rest waits on the barrier. */
function closingShare(runs: Run[]): string {
  const shares = runs
    .map((r) => (r.legs.get(CLOSING) ?? NaN) / 1000 / r.seconds)
    .filter(Number.isFinite)
    .sort((a, b) => a - b);
  return shares.length ? `${(shares[Math.floor(shares.length / 2)]! * 100).toFixed(0)} %` : '–';
}

const exact = (a: Alert) => JSON.stringify({ ...a, topResolvers: null });

async function run(
  kafka: Kafka,
  producer: Producer,
  rt: Runtimes,
  k: number,
  events: QueryEvent[],
  expected: Alert[],
): Promise<Run> {
  const [hotQueries] = await createTestTopics(kafka, ['catchup-queries'], { partitions: k });
  const [summaries, decisions, alerts, zoneStats, offenders, knownNames] = await createTestTopics(
    kafka,
    ['cu-summaries', 'cu-decisions', 'cu-alerts', 'cu-stats', 'cu-offenders', 'cu-names'],
    { partitions: 1 },
  );
  // Trace points per (event, tick): the last time seen (the last shard's, for shard events).
  const stamps = new Map<HotZoneTraceEvent, Map<number, number>>();
  const first = new Map<HotZoneTraceEvent, Map<number, number>>();
  const trace = (event: HotZoneTraceEvent, _zone: string, tick: number) => {
    const now = performance.now();
    let m = stamps.get(event);
    if (!m) stamps.set(event, (m = new Map<number, number>()));
    m.set(tick, now);
    let f = first.get(event);
    if (!f) first.set(event, (f = new Map<number, number>()));
    if (!f.has(tick)) f.set(tick, now);
  };
  const stops: (() => Promise<void>)[] = [];
  const shards: HotShardRuntime[] = [];
  for (let i = 0; i < k; i++) {
    const shard = new rt.Shard(kafka, {
      settings,
      hotZones: { [HOT]: k },
      topics: { hotQueries, summaries, decisions },
      groupId: `${hotQueries}.shards`,
      decisionsGroupId: `${decisions}.${i}`,
      maxWaitTimeMs: waitMs,
      trace,
    });
    await shard.start();
    stops.push(() => shard.stop());
    shards.push(shard);
  }
  await waitFor(
    () => (shards.every((s) => s.assigned.length === 1) ? true : undefined),
    120_000,
    'one partition per shard consumer',
  );
  // The whole backlog is in the shards before the merge stage starts: no tick can close
  // before the merge stage announces the zone's first tick, so the catch-up starts with it.
  const published = performance.now();
  await publish(producer, hotQueries, k, events);
  await waitFor(
    () => (shards.reduce((n, s) => n + s.counters.queries, 0) >= events.length ? true : undefined),
    300_000,
    'the shards to read the backlog',
  );
  const loaded = (performance.now() - published) / 1000;
  const merge = new rt.Merge(kafka, {
    settings,
    topics: { summaries, decisions, alerts, zoneStats, offenders, knownNames },
    groupId: `${summaries}.merge`,
    maxWaitTimeMs: waitMs,
    trace,
  });
  await merge.start();
  stops.push(() => merge.stop());
  // Done when the decisions stop for 3 s (Kafka has no end: the last ticks wait for lateness).
  let last = -1;
  let since = performance.now();
  await waitFor(
    () => {
      const n = merge.counters.decisions;
      if (n !== last) {
        last = n;
        since = performance.now();
        return undefined;
      }
      return n > 0 && performance.now() - since > 3000 ? true : undefined;
    },
    1_800_000,
    'the merge stage to decide every tick',
  );
  for (const stop of stops.reverse()) await stop();
  const got = await readAlerts(kafka, alerts);
  const closes = [...(first.get('shard-close') ?? new Map<number, number>()).values()];
  const decided = [...(stamps.get('decision-in') ?? new Map<number, number>()).values()];
  const ticks = merge.counters.decisions;
  const seconds = (Math.max(...decided) - Math.min(...closes)) / 1000;
  created.push(hotQueries, summaries, decisions, alerts, zoneStats, offenders, knownNames);
  return {
    ticks,
    seconds,
    loaded,
    legs: legs(stamps, first),
    alertsSame: got.map(exact).join('\n') === expected.map(exact).join('\n') && expected.length > 0,
  };
}

const CLOSING = 'closing';

/** One round trip taken apart: median per tick of each leg, ms. */
function legs(
  last: Map<HotZoneTraceEvent, Map<number, number>>,
  first: Map<HotZoneTraceEvent, Map<number, number>>,
): Map<string, number> {
  const at = (m: Map<HotZoneTraceEvent, Map<number, number>>, e: HotZoneTraceEvent, t: number) =>
    m.get(e)?.get(t);
  const spans: [string, (t: number) => number | undefined][] = [
    // From the first shard starting the tick to the last shard's summary handed to the producer.
    [
      'shards close the tick (score, summary, encode, gzip)',
      (t) => d(at(first, 'shard-close', t), at(last, 'summary-send', t)),
    ],
    [
      'summary: send → acknowledged',
      (t) => d(at(last, 'summary-send', t), at(last, 'summary-acked', t)),
    ],
    [
      'summary: send → in the merge handler (last shard’s)',
      (t) => d(at(last, 'summary-send', t), at(last, 'summary-in', t)),
    ],
    [
      'merge: last summary in → decided',
      (t) => d(at(last, 'summary-in', t), at(last, 'decided', t)),
    ],
    [
      'merge: decided → decision sent (outputs first)',
      (t) => d(at(last, 'decided', t), at(last, 'decision-send', t)),
    ],
    [
      'decision: send → acknowledged',
      (t) => d(at(last, 'decision-send', t), at(last, 'decision-acked', t)),
    ],
    [
      'decision: send → in the last shard’s handler',
      (t) => d(at(last, 'decision-send', t), at(last, 'decision-in', t)),
    ],
    [
      'shard: decision in → next tick starts closing',
      (t) => d(at(last, 'decision-in', t), at(first, 'shard-close', t + settings.tickMs)),
    ],
    [
      'round trip: tick starts closing → next tick starts closing',
      (t) => d(at(first, 'shard-close', t), at(first, 'shard-close', t + settings.tickMs)),
    ],
  ];
  const ticks = [...(first.get('shard-close')?.keys() ?? [])];
  const out = new Map<string, number>();
  for (const [name, f] of spans) {
    const v = ticks
      .map(f)
      .filter((x): x is number => x !== undefined)
      .sort((a, b) => a - b);
    out.set(name, v.length ? v[Math.floor(v.length / 2)]! : NaN);
  }
  // The time the shards spent closing ticks, all ticks (the rest of the catch-up is the barrier).
  let closing = 0;
  for (const t of ticks) closing += spans[0]![1](t) ?? 0;
  out.set(CLOSING, ticks.length ? closing : NaN);
  return out;
}

const d = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined ? undefined : b - a;

async function readAlerts(kafka: Kafka, topic: string): Promise<Alert[]> {
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const end = Number(offsets[0]!.high);
  const out: Alert[] = [];
  if (end === 0) return out;
  const consumer = kafka.consumer({ groupId: `${topic}.read`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  let seen = 0;
  await consumer.run({
    eachMessage: async ({ message }) => {
      seen++;
      const a = decodeMessage(alertSchema, message.value);
      if (a.phase !== 'updated') out.push(a);
    },
  });
  await waitFor(() => (seen >= end ? true : undefined), 60_000, 'the alerts read back');
  await consumer.disconnect();
  return out;
}

async function main(): Promise<void> {
  const events = traffic();
  const kafka = testKafka('hot-zone-catchup');
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const expected = new Map<number, Alert[]>();
  for (const k of splits)
    expected.set(
      k,
      new ShardedDetector({}, { shardsFor: () => k })
        .process(0, events)
        .alerts.filter((a) => a.phase !== 'updated'),
    );
  const results = new Map<string, Run[]>();
  for (let r = 0; r < rounds; r++)
    for (const k of r % 2 ? [...splits].reverse() : splits)
      for (const [name, rt] of r % 2 ? [...variants].reverse() : variants) {
        process.stderr.write(`round ${r + 1}, ${name}, K = ${k} … `);
        const res = await run(kafka, producer, rt, k, events, expected.get(k)!);
        process.stderr.write(
          `backlog in ${res.loaded.toFixed(1)} s, ${res.ticks} ticks in ${res.seconds.toFixed(1)} s\n`,
        );
        if (!res.alertsSame)
          throw new Error(`${name}, K = ${k}: the alerts differ from the in-process ones`);
        const key = `${name}\0${k}`;
        results.set(key, [...(results.get(key) ?? []), res]);
      }
  await producer.disconnect();
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: created }).catch(() => undefined);
  await admin.disconnect();

  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const rows: string[][] = [];
  for (const [name] of variants)
    for (const k of splits) {
      const runs = results.get(`${name}\0${k}`)!;
      const s = median(runs.map((x) => x.seconds));
      const ticks = runs[0]!.ticks;
      rows.push([
        name,
        `K = ${k}`,
        String(ticks),
        runs.map((x) => x.seconds.toFixed(1)).join(', '),
        (ticks / s).toFixed(1),
        `${(ticks / s).toFixed(1)}×`,
        ((s * 1000) / ticks).toFixed(1),
        closingShare(runs),
        runs.every((x) => x.alertsSame) ? 'identical' : 'DIFFER',
      ]);
    }
  const out: string[] = [];
  out.push(
    '## Hot zone: catching up a backlog through the per-tick barrier (`pnpm bench hot-zone-catchup`)',
    '',
  );
  out.push(
    `${machineLine()}; load average at the end ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}.`,
    `Command: \`${baselineDir ? 'bash services/detector/bench/hot-zone-catchup.sh <commit> <rounds>' : 'node --require @swc-node/register services/detector/bench/hot-zone-catchup.bench.ts'}\`, BENCH_CATCHUP_MINUTES=${minutes}, BENCH_CATCHUP_FLOOD_QPS=${floodQps}, BENCH_CATCHUP_ROUNDS=${rounds}, fetch wait ${waitMs} ms.`,
    '',
    `${events.length.toLocaleString('en')} queries of one zone (${minutes} min: 500 q/s benign, a Mirai flood at ${floodQps.toLocaleString('en')} q/s over 15 % of it), published to the hot topic up front; K shard consumers and one merge consumer in one process on the local broker. Time from the first tick closed to the last tick's decision in a shard; a tick is 1 s of traffic, so ticks/s is × real time. Alerts compared with the in-process stages field for field.`,
    '',
  );
  out.push(
    markdownTable(
      [
        'runtimes',
        'split',
        'ticks',
        'seconds (rounds)',
        'ticks/s',
        '× real time',
        'ms per tick',
        'shards closing ticks',
        'alerts',
      ],
      rows,
    ),
    '',
  );
  const legRows: string[][] = [];
  const names = [...(results.values().next().value?.[0]?.legs.keys() ?? [])].filter(
    (n) => n !== CLOSING,
  );
  for (const leg of names)
    legRows.push([
      leg,
      ...variants.flatMap(([name]) =>
        splits.map((k) => {
          const runs = results.get(`${name}\0${k}`)!;
          const v = median(runs.map((x) => x.legs.get(leg) ?? NaN));
          return Number.isFinite(v) ? v.toFixed(1) : '–';
        }),
      ),
    ]);
  out.push(
    'One round trip, median per tick (ms; trace points of the runtimes, performance.now()):',
    '',
    markdownTable(
      ['leg', ...variants.flatMap(([name]) => splits.map((k) => `${name} K = ${k}`))],
      legRows,
    ),
  );
  process.stdout.write(`${out.join('\n')}\n`);
  // kafkajs and its sockets may keep the loop alive a while after every client disconnected.
  process.exit(0);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
