// A/B: the detector core of another commit (.baseline, fed QueryEvents) vs this one (columns),
// alternating passes in one process; rates from CPU time (the box is shared).
import { join } from 'node:path';
import {
  decodeQueryBatch,
  decodeQueryColumns,
  QueryColumns,
  type QueryEvent,
} from '@sluice/contracts';
import { simulate, zoneName } from '@sluice/traffic-sim';
import { DetectorCore } from '../src/core/detector-core';
import { toMessages } from './bench-messages';
// The other commit's core, put in .baseline by against-commit.sh (absent from a clean checkout,
// hence required at run time rather than imported). Its API is the one this bench calls.
interface BaselineCore {
  ingest(partition: number, events: readonly QueryEvent[]): number;
  ingestColumns?(partition: number, c: QueryColumns): number;
  advance(partition: number): { alerts: unknown[] };
  drain(partition: number, extraMs?: number): { alerts: unknown[] };
}
const baselinePath = join(__dirname, '../.baseline/detector-core');
const HeadCore = (): BaselineCore => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const m = require(baselinePath) as { DetectorCore: new () => BaselineCore };
  return new m.DetectorCore();
};
// Its commit's decoder, when it has one (a core with ingestColumns reads that commit's columns).
type Decode = (buf: Buffer, into: QueryColumns) => QueryColumns;
const baselineDecode = ((): Decode | null => {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const m = require(join(__dirname, '../.baseline/contracts/query-batch-codec')) as {
      decodeQueryColumns?: Decode;
    };
    return m.decodeQueryColumns ?? null;
  } catch {
    return null;
  }
})();
const BaselineColumns = (() => {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const m = require(join(__dirname, '../.baseline/contracts/query-batch-columns')) as {
      QueryColumns: new () => QueryColumns;
    };
    return m.QueryColumns;
  } catch {
    return QueryColumns;
  }
})();
const T0 = Date.parse('2026-01-01T00:00:00Z');
const messages = toMessages(
  simulate({
    seed: 5,
    startTime: T0,
    durationMs: 100_000,
    zones: 50,
    benignQps: 3000,
    withResponses: true,
    streams: [{ kind: 'mirai', zone: zoneName(0), startMs: 50_000, durationMs: 40_000, qps: 4000 }],
  }),
);
const events = messages.reduce((n, m) => n + m.count, 0);
const cols = new QueryColumns();
const baseCols = new BaselineColumns();
const run = (which: 'head' | 'now'): [number, string] => {
  const c0 = process.cpuUsage();
  const alerts: string[] = [];
  if (which === 'head') {
    const core = HeadCore();
    for (let i = 0; i < messages.length; i++) {
      if (core.ingestColumns && baselineDecode)
        core.ingestColumns(0, baselineDecode(messages[i]!.value, baseCols));
      else core.ingest(0, decodeQueryBatch(messages[i]!.value).events);
      if (i % 20 === 19) alerts.push(...core.advance(0).alerts.map((a) => JSON.stringify(a)));
    }
    alerts.push(...core.drain(0, 60_000).alerts.map((a) => JSON.stringify(a)));
  } else {
    const core = new DetectorCore();
    for (let i = 0; i < messages.length; i++) {
      core.ingestColumns(0, decodeQueryColumns(messages[i]!.value, cols));
      if (i % 20 === 19) alerts.push(...core.advance(0).alerts.map((a) => JSON.stringify(a)));
    }
    alerts.push(...core.drain(0, 60_000).alerts.map((a) => JSON.stringify(a)));
  }
  const u = process.cpuUsage(c0);
  return [(u.user + u.system) / 1e6, alerts.join('\n')];
};
import { PerformanceObserver } from 'node:perf_hooks';
let gcMs = 0;
// ONLY=1: this commit's core alone (for a profile, --cpu-prof), with its garbage-collection time.
let gcOn = false;
new PerformanceObserver((l) => {
  if (gcOn) for (const e of l.getEntries()) gcMs += e.duration;
}).observe({ entryTypes: ['gc'] });
if (!process.env.ONLY)
  console.error(
    `baseline fed ${HeadCore().ingestColumns && baselineDecode ? 'its own columns decode' : 'QueryEvents'}`,
  );
const passes = Number(process.env.PASSES ?? 7);
const t: Record<string, number[]> = { head: [], now: [] };
let same = true;
for (let p = 0; p < passes; p++) {
  if (process.env.ONLY) {
    gcOn = true;
    const [tn] = run('now');
    t.now!.push(tn);
    continue;
  }
  const [th, ah] = run('head');
  const [tn, an] = run('now');
  t.head!.push(th);
  t.now!.push(tn);
  if (ah !== an) same = false;
}
setTimeout(() => {
  if (process.env.ONLY)
    console.log(
      `gc ${gcMs.toFixed(0)} ms of ${(t.now!.reduce((a, b) => a + b, 0) * 1000).toFixed(0)} ms CPU`,
    );
}, 100);
if (process.env.VERBOSE)
  console.error(
    `head ${t.head!.map((x) => x.toFixed(3)).join(' ')}\nnow  ${t.now!.map((x) => x.toFixed(3)).join(' ')}`,
  );
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
if (!process.env.ONLY)
  console.log(
    `${events} queries; identical alerts: ${same}; baseline ${(events / med(t.head!)).toFixed(0)}/s  now ${(events / med(t.now!)).toFixed(0)}/s  ratio ${(med(t.head!) / med(t.now!)).toFixed(2)} (median CPU of ${passes}; median of pass pairs ${med(t.head!.map((h, i) => h / t.now![i]!)).toFixed(2)}; fastest passes ${(Math.min(...t.head!) / Math.min(...t.now!)).toFixed(2)})`,
  );
