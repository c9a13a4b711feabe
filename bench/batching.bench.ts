/**
 * What the ingest's batching costs the detector: the same queries (the detector bench's traffic:
 * 3,000 q/s of ordinary traffic and a Mirai flood from t = 50 s, 100 s of event time) cut into
 * Kafka messages per zone or per partition (INGEST_BATCH_PER), with batches closed each second
 * (≤ 500 per zone, ≤ 2,000 per partition: an unpaced replay's full batches) or each 50 ms (the
 * ingest's linger at real-time pace), over 50 zones and over 2,000. Decode + detector core, as
 * the consumer runs, passes alternating; median queries per CPU-second. The messages are cut by
 * the ingest's own QueryBatcher (one partition here). Markdown on stdout.
 *   pnpm bench batching      (BENCH_ROUNDS=7; BENCH_ZONES=50,2000)
 */
import { decodeQueryColumns, QueryColumns, type QueryEvent } from '@sluice/contracts';
import { machineLine, markdownTable } from '@sluice/testing';
import { simulate, type ScenarioSpec } from '@sluice/traffic-sim';
import { DetectorCore } from '../services/detector/src/core/detector-core';
import { QueryBatcher } from '../services/ingest/src/core/query-batcher';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const WARM_UP = 2;
const ZONE_COUNTS = (process.env.BENCH_ZONES ?? '50,2000').split(',').map(Number);
const T0 = Date.parse('2026-01-01T00:00:00Z');
const log = (s: string) => process.stderr.write(`[batching] ${s}\n`);

/**
 * Messages as the ingest cuts them: its own QueryBatcher, per zone or with every zone bound for
 * one partition, drained at each window's end as the linger does.
 */
function cut(events: readonly QueryEvent[], perPartition: boolean, windowMs: number, max: number) {
  const out: Buffer[] = [];
  const batcher = new QueryBatcher(
    (b) => out.push(b.value),
    max,
    max * 40,
    undefined,
    null,
    perPartition ? () => 0 : null,
  );
  let window = -1;
  for (const e of events) {
    const w = Math.floor(e.ts / windowMs);
    if (w !== window) {
      batcher.drain();
      window = w;
    }
    batcher.add(e, 'bench');
  }
  batcher.drain();
  return out;
}

let sink = 0;
const columns = new QueryColumns();
/** CPU seconds for decode + detect over `messages`, one partition, as the consumer runs. */
function detect(messages: readonly Buffer[]): number {
  const c0 = process.cpuUsage();
  const core = new DetectorCore();
  for (let i = 0; i < messages.length; i++) {
    core.ingestColumns(0, decodeQueryColumns(messages[i]!, columns));
    if (i % 20 === 19) sink += core.advance(0).alerts.length;
  }
  sink += core.drain(0, 60_000).alerts.length;
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1e6;
}

const rows: (string | number)[][] = [];
for (const zones of ZONE_COUNTS) {
  const spec: ScenarioSpec = {
    seed: 5,
    startTime: T0,
    durationMs: 100_000,
    zones,
    benignQps: 3000,
    withResponses: true,
    streams: [
      { kind: 'mirai', zone: 'zone-1.example', startMs: 50_000, durationMs: 40_000, qps: 4000 },
    ],
  };
  log(`${zones} zones: generating`);
  const events = [...simulate(spec)];
  const variants: Array<[string, Buffer[]]> = [
    ['per zone, closed each second (≤ 500)', cut(events, false, 1000, 500)],
    ['per partition, closed each second (≤ 2,000)', cut(events, true, 1000, 2000)],
    ['per zone, closed each 50 ms', cut(events, false, 50, 2000)],
    ['per partition, closed each 50 ms', cut(events, true, 50, 2000)],
  ];
  const rates = variants.map(() => [] as number[]);
  for (let r = 0; r < WARM_UP + ROUNDS; r++) {
    log(`${zones} zones: round ${r + 1} of ${WARM_UP + ROUNDS}`);
    variants.forEach(([, messages], v) => {
      const rate = events.length / detect(messages);
      if (r >= WARM_UP) rates[v]!.push(rate);
    });
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  variants.forEach(([what, messages], v) => {
    const m = median(rates[v]!);
    const base = median(rates[v & ~1]!);
    rows.push([
      zones.toLocaleString('en-US'),
      what,
      messages.length.toLocaleString('en-US'),
      Math.round(events.length / messages.length).toLocaleString('en-US'),
      `${Math.round(m).toLocaleString('en-US')}/s`,
      `${(m / base).toFixed(2)}×`,
    ]);
  });
}
if (sink < 0) log('unreachable');

console.log(`## Detector: what the ingest's batching costs it

${machineLine()}

Command: \`pnpm bench batching\` (bench/batching.bench.ts; BENCH_ROUNDS=${ROUNDS}, BENCH_ZONES=${ZONE_COUNTS.join(',')})

The detector bench's traffic (459,434 queries over 100 s of event time, a Mirai flood from 50 s) cut into messages by the ingest's QueryBatcher, per zone or per partition (\`INGEST_BATCH_PER\`): closed each second, as an unpaced replay fills them, or each 50 ms, the ingest's linger at real-time pace. Decode + detector core on one partition, as the consumer runs; median of ${ROUNDS} alternating passes after ${WARM_UP} warm-up rounds, queries per CPU-second. The ratio compares per partition with per zone at the same closing.

${markdownTable(['zones', 'messages', 'count', 'queries per message', 'decode + detect per CPU-second', 'vs per zone'], rows)}
`);
