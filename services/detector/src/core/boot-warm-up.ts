import {
  decodeQueryColumns,
  encodeQueryBatch,
  QueryColumns,
  type QueryEvent,
  type ShardSummary,
} from '@sluice/contracts';
import { DetectorCore } from './detector-core';
import { type DetectorSettings } from './settings';
import { MergeStage } from './shard/merge-stage';
import { ShardStage } from './shard/shard-stage';

/**
 * Boot-time warm-up of the compiled code (not the baseline's warmupTicks). V8 optimises a function only once it has run hot, so a process that has
 * never seen a flood scores the first seconds of its first one in its slower tiers, compiling
 * as it goes — at the moment it is busiest. A hot zone split over K shard processes pays that
 * K times: measured, 0.15–0.25 CPU s per process at a flood's onset, which put K = 4 at 15–25 %
 * over 1/K (hot-zone bench). Here a short synthetic flood goes through throwaway instances of
 * both detection paths before the consumers start, so that cost is paid at boot instead.
 * Nothing is kept: the instances are dropped, and the core's only module state is scratch
 * buffers and a cache of a pure function (label-score.ts), so detection is unchanged
 * (boot-warm-up.spec.ts).
 */
export interface BootWarmUpReport {
  queries: number;
  /** Alerts raised by the synthetic flood per path: 0 means its code paths stayed cold. */
  alerts: { detector: number; shardStage: number };
  cpuMs: number;
}

/** RFC 6761 reserves .invalid: never a zone anyone serves. */
export const BOOT_WARM_UP_ZONE = 'warm-up.sluice.invalid';
const T0 = 1_000_000_000_000;
const BENIGN_TICKS = 40;
const FLOOD_TICKS = 12;
const QUIET_TICKS = 30;
const BENIGN_QPS = 300;
const FLOOD_QPS = 8000;
const BATCH = 2000;
/** Passes of the merge stage over the warm-up's shard summaries (see bootWarmUp). */
const MERGE_PASSES = 5;
/** Mirai's label alphabet (architecture.md): 12 characters of a–w and 0–8. */
const MIRAI = 'abcdefghijklmnopqrstuvw012345678';
const WORDS = (
  'www mail api cdn static img login shop news blog media app dev portal vpn smtp imap ' +
  'docs status auth pay store help search assets video m mx ns1 ns2 admin files'
).split(' ');

/** xorshift32: the same traffic on every boot. */
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 4294967296;
  };
}

/**
 * What a response says, in plausible proportions (not measured ones): an optimised function that
 * meets a case it never ran (a NODATA answer, a SERVFAIL, a query whose response was not seen) is
 * thrown back to V8's slower tiers and compiled again — each recompile of the per-query pass
 * costs ~40–60 ms of CPU, and a shard process paid it at a flood's onset (hot-zone bench,
 * --trace-deopt) when the warm-up answered every benign query NOERROR with one record.
 */
function benignAnswer(
  rand: () => number,
  qtype: number,
): { rcode: number | null; ancount: number | null } {
  const r = rand();
  if (r < 0.04) return { rcode: null, ancount: null };
  if (r < 0.07) return { rcode: 3, ancount: 0 };
  if (r < 0.075) return { rcode: 2, ancount: 0 };
  if (r < 0.078) return { rcode: 5, ancount: 0 };
  if (qtype !== 1 && r < 0.4) return { rcode: 0, ancount: 0 };
  return { rcode: 0, ancount: 1 + Math.floor(rand() * 3) };
}

/** A flood's queries: mostly NXDOMAIN, some dropped or failed by the loaded nameserver. */
function floodAnswer(rand: () => number): { rcode: number | null; ancount: number | null } {
  const r = rand();
  if (r < 0.1) return { rcode: null, ancount: null };
  if (r < 0.13) return { rcode: 2, ancount: 0 };
  return { rcode: 3, ancount: 0 };
}

const QTYPES = [1, 1, 1, 1, 28, 28, 15, 16, 65, 2];

/** Benign names repeat from a small vocabulary; the flood asks 12 random characters, once each. */
export function* syntheticTraffic(): Generator<QueryEvent> {
  const rand = prng(0x5eed);
  const pick = (n: number) => Math.floor(rand() * n);
  // One label or several (a name's labels are counted: a loop branch single labels never take).
  const names = WORDS.flatMap((w) => [
    w,
    `${w}-${WORDS[pick(WORDS.length)]}`,
    `${w}${pick(20)}`,
    `${w}.${WORDS[pick(WORDS.length)]}`,
  ]);
  // Resolvers of both families (RFC 2544 and RFC 3849 documentation ranges).
  const resolver = (pool: number) =>
    rand() < 0.1
      ? `2001:db8:${(pick(pool) >> 8).toString(16)}::${(pick(pool) & 255).toString(16)}`
      : `198.18.${pick(pool) >> 8}.${pick(pool) & 255}`;
  const event = (ts: number, qname: string, flood: boolean): QueryEvent => {
    const qtype = flood ? (rand() < 0.9 ? 1 : 28) : QTYPES[pick(QTYPES.length)]!;
    const edns = flood ? rand() < 0.2 : rand() < 0.9;
    return {
      ts,
      resolver: flood ? resolver(4096) : resolver(256),
      resolverPort: 1024 + pick(60000),
      transport: !flood && rand() < 0.02 ? 'tcp' : 'udp',
      // '' is the apex (SOA, NS, MX of the zone itself)
      qname: qname === '' ? BOOT_WARM_UP_ZONE : `${qname}.${BOOT_WARM_UP_ZONE}`,
      qtype,
      qclass: 1,
      rd: flood || rand() < 0.1,
      cd: !flood && rand() < 0.05,
      do: edns && rand() < 0.6,
      ednsSize: edns ? (rand() < 0.8 ? 1232 : 4096) : null,
      id: pick(65536),
      zone: BOOT_WARM_UP_ZONE,
      ...(flood ? floodAnswer(rand) : benignAnswer(rand, qtype)),
    };
  };
  let tick = 0;
  const phase = function* (ticks: number, qps: number, flood: boolean) {
    for (const end = tick + ticks; tick < end; tick++)
      for (let i = 0; i < qps; i++) {
        const ts = T0 + tick * 1000 + (i * 1000) / qps;
        if (!flood)
          yield event(
            ts,
            rand() < 0.03 ? '' : names[Math.floor(names.length * rand() ** 2)]!,
            false,
          );
        else {
          let label = '';
          for (let c = 0; c < 12; c++) label += MIRAI[pick(MIRAI.length)];
          yield event(ts, label, true);
        }
      }
  };
  yield* phase(BENIGN_TICKS, BENIGN_QPS, false);
  yield* phase(FLOOD_TICKS, FLOOD_QPS, true);
  yield* phase(QUIET_TICKS, BENIGN_QPS, false);
}

/** The synthetic traffic as the batches the consumers decode. */
function syntheticBatches(): Buffer[] {
  const out: Buffer[] = [];
  let events: QueryEvent[] = [];
  const flush = () => {
    out.push(encodeQueryBatch({ v: 1, source: 'warm-up', zone: BOOT_WARM_UP_ZONE, events }));
    events = [];
  };
  for (const e of syntheticTraffic()) if (events.push(e) >= BATCH) flush();
  if (events.length) flush();
  return out;
}

/**
 * Run the synthetic flood through a throwaway DetectorCore and, when this process runs hot-zone
 * shards, a throwaway shard and merge stage (K = 1: the same code as any shard of K), through the
 * entry points the runtimes use (decodeQueryColumns, ingestColumns, bufferColumns).
 */
export function bootWarmUp(settings: DetectorSettings, o: { shards: boolean }): BootWarmUpReport {
  const start = process.cpuUsage();
  const batches = syntheticBatches();
  const columns = new QueryColumns();
  const alerts = { detector: 0, shardStage: 0 };
  let queries = 0;

  const core = new DetectorCore(settings);
  for (const b of batches) {
    core.ingestColumns(0, decodeQueryColumns(b, columns));
    queries += columns.count;
    alerts.detector += core.advance(0).alerts.length;
  }
  alerts.detector += core.drain(0, settings.maxEndQuietTicks * settings.tickMs).alerts.length;

  if (o.shards) {
    const origin =
      Math.floor((T0 - settings.allowedLatenessMs) / settings.tickMs) * settings.tickMs;
    const stage = new ShardStage(BOOT_WARM_UP_ZONE, 0, 1, settings, origin);
    const merge = new MergeStage(BOOT_WARM_UP_ZONE, 1, settings, origin);
    // The merge stage runs once a tick, not once a query: one pass of 82 ticks left it in V8's
    // slower tiers (hot-zone bench, 120 ticks at K = 4: 0.12–0.19 CPU s after one pass, 0.08–0.12
    // after five). The summaries, kept as the wire carries them (JSON), go through more stages,
    // whose decisions are serialised as the runtime publishes them.
    const summaries: string[] = [];
    const close = (watermark: number) => {
      while (stage.ready && stage.nextTick + settings.tickMs <= watermark) {
        const summary = stage.closeTick();
        summaries.push(JSON.stringify(summary));
        for (const r of merge.accept(summary)) {
          alerts.shardStage += r.out.alerts.length;
          stage.applyDecision(r.decision);
        }
      }
    };
    for (const b of batches) {
      const c = decodeQueryColumns(b, columns);
      for (let i = 0; i < c.count; i++) stage.bufferColumns(c, i);
      close(stage.maxTs - settings.allowedLatenessMs);
    }
    close(stage.maxTs + (settings.maxEndQuietTicks + 1) * settings.tickMs);
    for (let pass = 1; pass < MERGE_PASSES; pass++) {
      const again = new MergeStage(BOOT_WARM_UP_ZONE, 1, settings, origin);
      for (const s of summaries)
        for (const r of again.accept(JSON.parse(s) as ShardSummary)) JSON.stringify(r.decision);
    }
  }
  const cpu = process.cpuUsage(start);
  return { queries, alerts, cpuMs: (cpu.user + cpu.system) / 1000 };
}
