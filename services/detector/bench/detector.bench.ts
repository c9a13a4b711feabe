/**
 * Detector benchmarks: throughput beside a raw decode loop (in process and through the real
 * broker), time-to-detect in event time per scenario, and peak RSS through a 20-million
 * unique-name flood. Markdown on stdout, progress on stderr.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  decodeQueryBatch,
  decodeQueryColumns,
  QueryColumns,
  type Alert,
  type QueryEvent,
} from '@sluice/contracts';
import { createKafka, provisionTopics } from '@sluice/kafka';
import { formatMiB, formatRate, machineLine, markdownTable } from '@sluice/testing';
import {
  simulate,
  simulateLabelled,
  zoneName,
  type ScenarioSpec,
  type StreamKind,
} from '@sluice/traffic-sim';
import { DetectorCore } from '../src/core/detector-core';
import { DetectorPipeline } from '../src/detector.pipeline';
import { toMessages } from './bench-messages';
import {
  ADVERSARIAL_CASES,
  BENIGN_CASES,
  buildScenario,
  judge,
  runAlerts,
} from '../test/adversarial-scenarios';

const log = (m: string) => process.stderr.write(`${m}\n`);
const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
/** The highest severity any of an attack's messages gave (the last ones follow it down). */
const peakSeverity = (alerts: readonly Alert[]) =>
  SEVERITIES[Math.max(0, ...alerts.map((a) => SEVERITIES.indexOf(a.severity)))];
const T0 = Date.parse('2026-01-01T00:00:00Z');
const VICTIM = zoneName(0);
const gc = () => (globalThis as { gc?: () => void }).gc?.();

const cpuSeconds = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1e6;

interface Timed {
  wall: number;
  cpu: number;
}

/** Wall-clock and process CPU seconds of one call (CPU includes V8's GC helper threads). */
function timed(fn: () => void): Timed {
  const c = process.cpuUsage();
  const s = process.hrtime.bigint();
  fn();
  const wall = Number(process.hrtime.bigint() - s) / 1e9;
  return { wall, cpu: cpuSeconds(process.cpuUsage(c)) };
}

async function throughput(): Promise<string> {
  const spec: ScenarioSpec = {
    seed: 5,
    startTime: T0,
    durationMs: 100_000,
    zones: 50,
    benignQps: 3000,
    withResponses: true,
    streams: [{ kind: 'mirai', zone: VICTIM, startMs: 50_000, durationMs: 40_000, qps: 4000 }],
  };
  log('throughput: generating');
  const messages = toMessages(simulate(spec));
  const events = messages.reduce((n, m) => n + m.count, 0);
  // Pre-decoded input for the core-alone row: one set of columns per message.
  const decoded = messages.map((m) => decodeQueryColumns(m.value));
  const rows: (string | number)[][] = [];
  // Warm-up pass for the JIT, then measured passes.
  let sink = 0;
  const columns = new QueryColumns();
  const rawDecode = () => {
    for (const m of messages) sink += decodeQueryBatch(m.value).events.length;
  };
  const rawColumns = () => {
    for (const m of messages) sink += decodeQueryColumns(m.value, columns).count;
  };
  // As the consumer runs: each batch decoded into reused columns, then the core.
  const detect = () => {
    const core = new DetectorCore();
    for (let i = 0; i < messages.length; i++) {
      core.ingestColumns(0, decodeQueryColumns(messages[i]!.value, columns));
      if (i % 20 === 19) sink += core.advance(0).alerts.length;
    }
    sink += core.drain(0, 60_000).alerts.length;
  };
  const coreOnly = () => {
    const core = new DetectorCore();
    for (let i = 0; i < decoded.length; i++) {
      core.ingestColumns(0, decoded[i]!);
      if (i % 20 === 19) sink += core.advance(0).alerts.length;
    }
    sink += core.drain(0, 60_000).alerts.length;
  };
  // Warm-up passes before measuring: the first passes of the detector loops run while V8's
  // background compiler threads optimise them (CPU above wall: 551k/s on the wall clock but 375k
  // per CPU-second in a first pass, steady at ~0.9–1 M from about the fourth on the same box). A
  // consumer runs for hours; its start is what the service's boot warm-up is for. The first
  // (cold) pass of decode + detect is reported on its own row.
  const warmUps = Math.max(1, Number(process.env.DETECTOR_BENCH_WARMUP_PASSES ?? 3));
  const cold = timed(detect);
  for (let w = 0; w < warmUps; w++) {
    rawDecode();
    rawColumns();
    if (w > 0) detect();
    coreOnly();
  }
  // Passes alternate between the four loops and each row takes its median: on a shared 2-core
  // box one pass of each swung by ±30 % (a row could even beat the one it contains).
  const passes = Number(process.env.DETECTOR_BENCH_PASSES ?? 5);
  log(`throughput: measuring in process (${passes} passes)`);
  const times: Timed[][] = [[], [], [], []];
  for (let p = 0; p < passes; p++)
    [rawDecode, rawColumns, detect, coreOnly].forEach((loop, k) => times[k]!.push(timed(loop)));
  // Each row takes the pass with the median wall time, and reports that pass's CPU time too.
  const median = (xs: Timed[]) => [...xs].sort((a, b) => a.wall - b.wall)[xs.length >> 1]!;
  const [tRaw, tColumns, tDet, tCore] = times.map(median) as [Timed, Timed, Timed, Timed];
  const inProcess = (what: string, t: Timed) => [
    'in process',
    what,
    formatRate(events / t.wall),
    formatRate(events / t.cpu),
    (tRaw.wall / t.wall).toFixed(2),
  ];
  rows.push(inProcess('raw decode loop (decodeQueryBatch only)', tRaw));
  rows.push(inProcess('columnar decode loop (decodeQueryColumns into reused columns)', tColumns));
  rows.push(inProcess('decode + detector core (columns, as the consumer runs)', tDet));
  rows.push(inProcess('detector core alone (pre-decoded)', tCore));
  rows.push(inProcess('decode + detector core, first pass (JIT cold, not a median)', cold));

  // Through the broker: the same messages on a fresh topic, consumed by a plain decode loop
  // and by the real pipeline (with Redis checkpoints off: pure processing cost).
  log('throughput: publishing to the broker');
  const kafka = createKafka({
    brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
    clientId: 'detector-bench',
    sasl: null,
    tls: { enabled: false, caFile: null },
    topicPartitions: 1,
    replicationFactor: 1,
  });
  const suffix = `${Date.now().toString(36)}`;
  const topics = ['queries', 'alerts', 'offenders', 'stats', 'dlq', 'names'].map(
    (t) => `bench.detector.${t}.${suffix}`,
  );
  await provisionTopics(
    kafka,
    topics.map((name) => ({ name, compacted: false, retentionMs: 3_600_000 })),
    {
      partitions: 1,
      replicationFactor: 1,
    },
  );
  const [qTopic, aTopic, oTopic, sTopic, dTopic, nTopic] = topics as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  // Produce requests under ~800 KB (one record batch per request on a single partition).
  let chunk: { key: string; value: Buffer }[] = [];
  let bytes = 0;
  for (const m of messages) {
    if (bytes + m.value.length > 800_000 && chunk.length) {
      await producer.send({ topic: qTopic, acks: -1, messages: chunk });
      chunk = [];
      bytes = 0;
    }
    chunk.push({ key: m.key, value: m.value });
    bytes += m.value.length;
  }
  if (chunk.length) await producer.send({ topic: qTopic, acks: -1, messages: chunk });
  await producer.disconnect();

  log('throughput: raw kafka decode loop');
  const rawConsumer = kafka.consumer({
    groupId: `bench-raw-${suffix}`,
    maxBytesPerPartition: 4 * 1024 * 1024,
  });
  let rawCount = 0;
  let rawStart = 0;
  let rawCpu = process.cpuUsage();
  let rawDone!: () => void;
  const rawFinished = new Promise<void>((r) => (rawDone = r));
  await rawConsumer.connect();
  await rawConsumer.subscribe({ topics: [qTopic], fromBeginning: true });
  await rawConsumer.run({
    eachBatch: ({ batch }) => {
      if (rawStart === 0) {
        rawStart = performance.now();
        rawCpu = process.cpuUsage();
      }
      for (const m of batch.messages) rawCount += decodeQueryBatch(m.value!).events.length;
      if (rawCount >= events) rawDone();
      return Promise.resolve();
    },
  });
  await rawFinished;
  const tKafkaRaw = (performance.now() - rawStart) / 1000;
  const cpuKafkaRaw = cpuSeconds(process.cpuUsage(rawCpu));
  await rawConsumer.disconnect();

  log('throughput: detector pipeline through kafka');
  const pipeline = new DetectorPipeline(kafka, {
    groupId: `bench-det-${suffix}`,
    topics: {
      queries: qTopic,
      alerts: aTopic,
      offenders: oTopic,
      zoneStats: sTopic,
      deadLetter: dTopic,
      knownNames: nTopic,
    },
    settings: {},
    fromBeginning: true,
    checkpoints: null,
    checkpointIntervalMs: 5000,
  });
  const pStart = performance.now();
  const pCpu = process.cpuUsage();
  await pipeline.start();
  while (pipeline.core.counters.events < events) await new Promise((r) => setTimeout(r, 20));
  const tKafkaDet = (performance.now() - pStart) / 1000;
  // The whole service path on CPU time (kafkajs fetches, decode, detect, outputs produced,
  // offsets committed; the group join is mostly waiting): what one detector core carries.
  const cpuKafkaDet = cpuSeconds(process.cpuUsage(pCpu));
  await pipeline.stop();
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics });
  await admin.disconnect();
  rows.push([
    'via Kafka',
    'kafkajs eachBatch + decodeQueryBatch',
    formatRate(events / tKafkaRaw),
    formatRate(events / cpuKafkaRaw),
    '1.00',
  ]);
  rows.push([
    'via Kafka',
    'DetectorPipeline (decode, detect, publish outputs, commit; incl. group join)',
    formatRate(events / tKafkaDet),
    formatRate(events / cpuKafkaDet),
    (tKafkaRaw / tKafkaDet).toFixed(2),
  ]);
  if (sink < 0) log(String(sink));
  return [
    `### Throughput (${events.toLocaleString('en-US')} queries, 50 zones, Mirai flood on one; JSON encoding 1)`,
    '',
    markdownTable(
      ['path', 'what', 'queries/s (wall)', 'queries per CPU-second', 'vs its baseline'],
      rows,
    ),
    '',
    `The ratio column compares each detector row with the raw decode loop measured in the same run on the same path. In process: the median of ${passes} passes of each loop, alternating (wall clock), after ${warmUps} warm-up passes of each (DETECTOR_BENCH_WARMUP_PASSES; the cold row is the very first pass, before any). Queries per CPU-second divide by the process's user + system time in that pass, so V8's garbage-collector threads on the second core count against the loop: it is the per-core figure. Via Kafka, the same from the first batch (raw loop) or from start() (the pipeline: its group join is mostly waiting) to the last query.`,
  ].join('\n');
}

interface TtdCase {
  label: string;
  kind: StreamKind | null;
  qpsFactor: number;
  /** Absolute attack rate instead of a multiple of the victim's baseline. */
  qps?: number;
  resolvers?: number;
  allowlist?: string[];
  diurnal?: boolean;
}

function ttd(): string {
  const benignQps = 2000;
  const onset = 90_000;
  const base: Omit<ScenarioSpec, 'streams'> = {
    seed: 17,
    startTime: T0,
    durationMs: 150_000,
    zones: 10,
    benignQps,
    withResponses: true,
  };
  // The victim's own benign rate, measured from the generator (its Zipf share of benignQps).
  let victimBenign = 0;
  for (const e of simulateLabelled({ ...base, durationMs: 20_000 }))
    if (e.event.zone === VICTIM) victimBenign++;
  const victimQps = victimBenign / 20;
  const cases: TtdCase[] = [
    { label: 'mirai flood', kind: 'mirai', qpsFactor: 3 },
    { label: 'mirai flood', kind: 'mirai', qpsFactor: 10 },
    { label: 'randomlabel (flamethrower-like)', kind: 'randomlabel', qpsFactor: 3 },
    { label: 'hex labels', kind: 'hex', qpsFactor: 3 },
    { label: 'dictionary words', kind: 'dictionary', qpsFactor: 3 },
    { label: 'nxns-like', kind: 'nxns', qpsFactor: 3 },
    { label: 'low-and-slow, 2000 resolvers', kind: 'lowslow', qpsFactor: 0.3, resolvers: 2000 },
    { label: 'low-and-slow, 2000 resolvers', kind: 'lowslow', qpsFactor: 0.1, resolvers: 2000 },
    {
      label: 'low-and-slow, 2000 resolvers at ≈ 1 qps each',
      kind: 'lowslow',
      qpsFactor: 0,
      qps: 2000,
      resolvers: 2000,
    },
    { label: 'benign: CDN hash names (repeat)', kind: 'cdn', qpsFactor: 3 },
    { label: 'benign: flash crowd on existing names', kind: 'flashcrowd', qpsFactor: 10 },
    {
      label: 'benign: RUM beacons (allowlisted)',
      kind: 'rum',
      qpsFactor: 3,
      allowlist: [`rum.${VICTIM}`],
    },
    {
      label: 'benign: ordinary traffic, ±60 % day/night swing, 10 min',
      kind: null,
      qpsFactor: 0,
      diurnal: true,
    },
  ];
  const filter = process.env.DETECTOR_BENCH_TTD_FILTER ?? '';
  const rows = cases
    .filter((c) => c.label.includes(filter))
    .map((c) => {
      log(`ttd: ${c.label} ×${c.qpsFactor}`);
      const qps = c.qps ?? Math.round(c.qpsFactor * victimQps);
      const spec: ScenarioSpec = {
        ...base,
        ...(c.diurnal
          ? { durationMs: 600_000, diurnal: { amplitude: 0.6, periodMs: 240_000 } }
          : {}),
        streams: c.kind
          ? [
              {
                kind: c.kind,
                zone: VICTIM,
                startMs: onset,
                durationMs: 40_000,
                qps,
                ...(c.resolvers ? { resolvers: c.resolvers } : {}),
              },
            ]
          : [],
      };
      const core = new DetectorCore({ allowlist: c.allowlist ?? [] });
      const alerts: Alert[] = [];
      let batch: QueryEvent[] = [];
      for (const e of simulate(spec)) {
        batch.push(e);
        if (batch.length >= 1000) {
          alerts.push(...core.process(0, batch).alerts);
          batch = [];
        }
      }
      alerts.push(...core.process(0, batch).alerts, ...core.drain(0, 60_000).alerts);
      const started = alerts.filter((a) => a.phase === 'started');
      const hit = started.find((a) => a.zone === VICTIM);
      const others = started.filter((a) => a !== hit).length;
      const end = alerts.find((a) => a.phase === 'ended' && a.zone === VICTIM);
      const isAttack = c.kind !== null && !c.label.startsWith('benign');
      const target = c.kind === 'lowslow' ? 15 : 2;
      const delay = hit ? (hit.at - (T0 + onset)) / 1000 : null;
      const update = alerts.find((a) => a.phase === 'updated' && a.zone === VICTIM);
      return [
        c.label,
        c.kind ? `${qps} qps (${(qps / victimQps).toFixed(1)}× ${victimQps.toFixed(0)})` : '—',
        isAttack
          ? delay === null
            ? 'MISSED'
            : `${delay.toFixed(1)} s`
          : hit
            ? 'FALSE ALERT'
            : 'no alert (correct)',
        isAttack
          ? delay !== null && delay <= target
            ? `≤ ${target} s ✓`
            : `≤ ${target} s ✗`
          : '—',
        end ? `${((end.at - (T0 + onset + 40_000)) / 1000).toFixed(0)} s` : '—',
        update
          ? `${update.fingerprint.generator} / ${update.severity}`
          : hit
            ? `${hit.fingerprint.generator} / ${hit.severity}`
            : '—',
        others,
      ];
    });
  return [
    `### Time to detect (event time; victim ${VICTIM} at ${victimQps.toFixed(0)} qps of a ${benignQps} qps mix over 10 zones; onset at 90 s after a 30 s warm-up)`,
    '',
    markdownTable(
      [
        'scenario',
        'attack rate',
        'detected after onset',
        'target',
        '"ended" after attack stops',
        'fingerprint / severity',
        'alerts on other zones',
      ],
      rows,
    ),
    '',
    'Event time only: these figures are identical at any replay speed or batch size (the unit and integration tests assert that determinism). The onset is on a tick boundary, so the first tick after it closes 1 s later; live, add the allowed lateness (1 s by default) and batch latency for wall-clock time.',
  ].join('\n');
}

/**
 * Issue 11's adversarial shapes (the scenarios of src/core/adversarial.spec.ts marked `bench`)
 * on this benchmark's mix, with and without responses, held to the issue's targets.
 * DETECTOR_BENCH_TTD_FILTER=<text> keeps only the rows whose name contains it.
 */
function adversarialTtd(): string {
  const filter = process.env.DETECTOR_BENCH_TTD_FILTER ?? '';
  const mix = { startTime: T0, onsetMs: 90_000, zones: 10, benignQps: 2000 };
  const cases = [...ADVERSARIAL_CASES, ...BENIGN_CASES].filter(
    (c) => c.bench && c.name.includes(filter),
  );
  const rows: (string | number)[][] = [];
  for (const c of cases)
    for (const withResponses of [true, false]) {
      log(`ttd: ${c.name}${withResponses ? ' (responses)' : ''}`);
      const built = buildScenario(c, { ...mix, withResponses });
      const alerts = runAlerts(new DetectorCore({ allowlist: c.allowlist ?? [] }), built.spec);
      const v = judge(built, alerts, c);
      const mine = alerts.filter((a) => a.zone === built.victim);
      const last = mine.filter((a) => a.phase === 'updated').at(-1) ?? mine[0];
      const rate = built.zoneQps
        ? `${built.attackQps} qps (${(built.attackQps / built.zoneQps).toFixed(1)}× ${built.zoneQps.toFixed(0)})`
        : `${built.attackQps} qps (zone silent before)`;
      const detected = !built.isAttack
        ? v.falseAlerts
          ? 'FALSE ALERT'
          : 'no alert (correct)'
        : v.ttdMs === null
          ? 'MISSED'
          : `${(v.ttdMs / 1000).toFixed(1)} s`;
      rows.push([
        c.name,
        withResponses ? 'yes' : 'no',
        rate,
        detected,
        built.isAttack ? `≤ ${(v.targetMs / 1000).toFixed(0)} s` : '—',
        built.isAttack ? v.starts : '—',
        v.endedAfterMs === null ? '—' : `${(v.endedAfterMs / 1000).toFixed(0)} s`,
        last ? `${last.fingerprint.generator} / ${peakSeverity(mine)}` : '—',
        v.drift
          ? `score ${v.drift.first.meanRandomScore ?? '?'} → ${v.drift.last.meanRandomScore ?? '?'}, bits/char ${v.drift.first.bitsPerChar ?? '?'} → ${v.drift.last.bitsPerChar ?? '?'}`
          : '—',
        v.violations.length ? `✗ ${v.violations.join('; ')}` : '✓',
      ]);
    }
  return [
    `### Time to detect — adversarial shapes (issue 11; victim ${VICTIM} in a 2000 qps mix over 10 zones, onset at 90 s)`,
    '',
    markdownTable(
      [
        'scenario',
        'responses',
        'attack rate (× the zone’s volume)',
        'detected after onset',
        'target',
        'alerts on the victim',
        '"ended" after attack stops',
        'fingerprint / severity',
        'drift (first → last update)',
        'targets',
      ],
      rows,
    ),
    '',
    'Targets: ≤ 2 s at ≥ 3× the zone’s volume, ≤ 15 s below (low-and-slow), a ramp before its rate reaches 3×; one alert per attack that stays open through it (pulses included) and ends ≤ 30 s after it (+ the pulse gap); no alert elsewhere; on long floods the generator, mean score, bits/char and fingerprint shares within 5 % of the first alert. The same scenarios, on smaller mixes, are the unit tests in src/core/adversarial.spec.ts.',
  ].join('\n');
}

/** Peak resident memory of this process so far (the kernel's high-water mark). */
function vmHwm(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) * 1024 : process.memoryUsage.rss();
}

async function flood(): Promise<string> {
  const total = 20_000_000;
  const floodQps = 100_000;
  const seconds = total / floodQps;
  log(`flood: ${total.toLocaleString('en-US')} unique names at ${floodQps}/s of event time`);
  const spec: ScenarioSpec = {
    seed: 3,
    startTime: T0,
    durationMs: 60_000 + seconds * 1000 + 30_000,
    zones: 5,
    benignQps: 1000,
    streams: [
      {
        kind: 'lowslow',
        zone: VICTIM,
        startMs: 60_000,
        durationMs: seconds * 1000,
        qps: floodQps,
        resolvers: 5000,
      },
    ],
  };
  gc();
  const rssBefore = process.memoryUsage.rss();
  // The traffic comes from another process (flood-source.ts), as batches on the wire: this
  // process holds the detector and its input buffers, nothing of the generator.
  const child = spawn(
    process.execPath,
    ['--require', '@swc-node/register', join(__dirname, 'flood-source.ts'), JSON.stringify(spec)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const core = new DetectorCore();
  const columns = new QueryColumns();
  let n = 0;
  let flooded = 0;
  let uniqueMax = 0;
  let started = 0;
  let sketchPeak = 0;
  const checkpoints: string[] = [];
  const t0 = performance.now();
  let pending: Buffer = Buffer.alloc(0);
  const handle = (value: Buffer, floodCount: number): void => {
    core.ingestColumns(0, decodeQueryColumns(value, columns));
    const out = core.advance(0);
    const before = n;
    n += columns.count;
    flooded += floodCount;
    started += out.alerts.filter((a) => a.phase === 'started').length;
    for (const s of out.zoneStats)
      if (s.zone === VICTIM)
        uniqueMax = Math.max(uniqueMax, s.uniqueSubnames / ((s.windowEnd - s.windowStart) / 1000));
    if (Math.floor(n / 1_000_000) > Math.floor(before / 1_000_000))
      sketchPeak = Math.max(sketchPeak, core.sketchBytes());
    if (Math.floor(n / 5_000_000) > Math.floor(before / 5_000_000)) {
      const rss = formatMiB(process.memoryUsage.rss());
      checkpoints.push(`${Math.floor(n / 5_000_000) * 5} M: ${rss}`);
      log(`flood: ${n.toLocaleString('en-US')} queries, rss ${rss}`);
    }
  };
  for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    let at = 0;
    while (pending.length - at >= 8) {
      const length = pending.readUInt32LE(at);
      if (pending.length - at < 8 + length) break;
      handle(pending.subarray(at + 8, at + 8 + length), pending.readUInt32LE(at + 4));
      at += 8 + length;
    }
    pending = pending.subarray(at);
  }
  core.drain(0, 60_000);
  const secs = (performance.now() - t0) / 1000;
  const peakRss = vmHwm();
  return [
    `### Memory through a ${total.toLocaleString('en-US')}-unique-name flood`,
    '',
    markdownTable(
      [
        'queries (flood + benign)',
        'unique flood names',
        'peak RSS (VmHWM)',
        'target',
        'RSS before',
        'RSS along the way',
        'sketch state (peak)',
        'unique/s estimated (HLL, 5 s window, peak)',
        'alerts started',
        'wall time (generation + detection)',
      ],
      [
        [
          n.toLocaleString('en-US'),
          flooded.toLocaleString('en-US'),
          formatMiB(peakRss),
          `≤ 512 MiB ${peakRss <= 512 * 2 ** 20 ? '✓' : '✗'}`,
          formatMiB(rssBefore),
          checkpoints.join(', '),
          formatMiB(sketchPeak),
          `${Math.round(uniqueMax).toLocaleString('en-US')} (true ≈ ${floodQps.toLocaleString('en-US')})`,
          started,
          `${secs.toFixed(0)} s`,
        ],
      ],
    ),
    '',
    'The flood is generated by a child process (bench/flood-source.ts) and arrives as encoded batches of 5,000 queries, decoded into reused columns as the consumer does: the peak is the detector process alone (the kernel’s high-water mark, VmHWM), including Node itself and the benchmark’s other code (“RSS before”). Bounded by design: the seen filter rotates at DETECTOR_SEEN_CAPACITY names per generation, one HyperLogLog (2 KiB) per open tick, stats and offender counts by resolver id capped per window (DETECTOR_MAX_TRACKED_RESOLVERS), space-saving top-k (64) for an alert’s top resolvers; queries waiting for the allowed lateness (1 s, ~100–200k at 100k qps) are held as columns (~40 bytes each), not objects.',
  ].join('\n');
}

async function main(): Promise<void> {
  const sections = [`## Detector`, '', machineLine(), '', 'Command: `pnpm bench detector`', ''];
  // The flood runs first, in a fresh heap, so its RSS is not inflated by the other sections' data.
  // DETECTOR_BENCH_ONLY_TTD=1: just the time-to-detect tables (no broker, no flood).
  // DETECTOR_BENCH_ONLY_THROUGHPUT=1: just the throughput table (in process and via Kafka).
  const onlyTtd = process.env.DETECTOR_BENCH_ONLY_TTD === '1';
  const onlyThroughput = process.env.DETECTOR_BENCH_ONLY_THROUGHPUT === '1';
  const floodSection =
    process.env.DETECTOR_BENCH_SKIP_FLOOD !== '1' && !onlyTtd && !onlyThroughput
      ? await flood()
      : null;
  if (process.env.DETECTOR_BENCH_ONLY_FLOOD !== '1') {
    if (!onlyTtd) sections.push(await throughput(), '');
    if (!onlyThroughput) sections.push(ttd(), '', adversarialTtd(), '');
  }
  if (floodSection) sections.push(floodSection, '');
  process.stdout.write(`${sections.join('\n')}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
