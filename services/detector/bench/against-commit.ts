// A/B: the detector core of another commit (.baseline) vs this checkout's (.current), alternating
// passes in one process; rates from CPU time (the box is shared). Run by against-commit.sh.
import { join } from 'node:path';
import { decodeQueryBatch, QueryColumns, type QueryEvent } from '@sluice/contracts';
import { simulate, zoneName } from '@sluice/traffic-sim';
import { toMessages } from './bench-messages';
// Both sides are copies put there by against-commit.sh, loaded the same way: the other commit's
// core in .baseline, this checkout's in .current (absent from a clean checkout, hence required at
// run time rather than imported). The API is the one this bench calls.
interface SideCore {
  ingest(partition: number, events: readonly QueryEvent[]): number;
  ingestColumns?(partition: number, c: QueryColumns): number;
  advance(partition: number): { alerts: unknown[] };
  drain(partition: number, extraMs?: number): { alerts: unknown[] };
}
type Decode = (buf: Buffer, into: QueryColumns) => QueryColumns;
interface Side {
  core: () => SideCore;
  /** Its commit's columnar decoder, when it has one (a core with ingestColumns reads those). */
  decode: Decode | null;
  columns: QueryColumns;
}
function side(dir: string): Side {
  const at = join(__dirname, '..', dir);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const m = require(join(at, 'detector-core')) as { DetectorCore: new () => SideCore };
  const optional = <T>(file: string): T | null => {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      return require(join(at, 'contracts', file)) as T;
    } catch {
      return null;
    }
  };
  const codec = optional<{ decodeQueryColumns?: Decode }>('query-batch-codec');
  const cols = optional<{ QueryColumns: new () => QueryColumns }>('query-batch-columns');
  return {
    core: () => new m.DetectorCore(),
    decode: codec?.decodeQueryColumns ?? null,
    columns: cols ? new cols.QueryColumns() : new QueryColumns(),
  };
}
// ONLY=1 (a profile of this checkout alone) needs no baseline.
// The side loaded first runs ~10-15 % faster (a commit against itself: 1.14 with this side first,
// 0.91 with it second), so against-commit.sh runs this twice, once each way (LOAD_FIRST).
const currentFirst = process.env.LOAD_FIRST !== 'baseline';
const current = currentFirst ? side('.current') : null!;
const baseline = process.env.ONLY ? null! : side('.baseline');
const currentSide = currentFirst ? current : side('.current');
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
const gc = () => (globalThis as { gc?: () => void }).gc?.();
const run = (which: 'head' | 'now'): [number, string] => {
  const c0 = process.cpuUsage();
  const alerts: string[] = [];
  const { core: make, decode, columns } = which === 'head' ? baseline : currentSide;
  const core = make();
  for (let i = 0; i < messages.length; i++) {
    if (core.ingestColumns && decode) core.ingestColumns(0, decode(messages[i]!.value, columns));
    else core.ingest(0, decodeQueryBatch(messages[i]!.value).events);
    if (i % 20 === 19) alerts.push(...core.advance(0).alerts.map((a) => JSON.stringify(a)));
  }
  alerts.push(...core.drain(0, 60_000).alerts.map((a) => JSON.stringify(a)));
  const u = process.cpuUsage(c0);
  return [(u.user + u.system) / 1e6, alerts.join('\n')];
};
import { PerformanceObserver } from 'node:perf_hooks';
let gcMs = 0;
// ONLY=1: this checkout's core alone (for a profile: ONLY=1 node --cpu-prof … after one run of
// against-commit.sh has filled .current), with its garbage-collection time.
let gcOn = false;
new PerformanceObserver((l) => {
  if (gcOn) for (const e of l.getEntries()) gcMs += e.duration;
}).observe({ entryTypes: ['gc'] });
if (!process.env.ONLY)
  console.error(
    `baseline fed ${baseline.core().ingestColumns && baseline.decode ? 'its own columns decode' : 'QueryEvents'}`,
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
  // Each run starts from a collected heap, and the order flips every pass: run second, either
  // side read ~10 % slower (the first one's garbage, collected on the second's time).
  let th: number, ah: string, tn: number, an: string;
  if (p % 2 === 0) {
    gc();
    [th, ah] = run('head');
    gc();
    [tn, an] = run('now');
  } else {
    gc();
    [tn, an] = run('now');
    gc();
    [th, ah] = run('head');
  }
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
