import { z } from 'zod';
import { evidenceSchema } from './messages';

/**
 * A hot zone is one zone split over K detector shards by name: the ingest publishes its query
 * batches on `Topics.hotQueries` keyed `zone#shard`, each shard stage sends per-tick summaries
 * on `Topics.shardSummaries` and the zone's merge stage answers on `Topics.shardDecisions`
 * (both keyed by zone). The names of a zone fall into HOT_ZONE_BLOCKS fixed blocks; shard i of
 * K holds the blocks b with b mod K = i — the same split in the ingest and in the detector.
 */
export const HOT_ZONE_BLOCKS = 64;
export const HOT_ZONE_MAX_SHARDS = HOT_ZONE_BLOCKS;

const { imul } = Math;

/**
 * The block of a subname (the labels left of the zone, as bytes): the top 6 bits of the
 * detector's second name hash (hash2Bytes' h2 in services/detector; a unit test there holds
 * the two equal).
 */
export function hotZoneBlock(b: Uint8Array, start: number, end: number): number {
  let h = 0x9747b28c ^ (end - start);
  for (let i = start; i < end; i++) {
    h = imul(h ^ b[i]!, 0x5bd1e995);
    h ^= h >>> 15;
  }
  h ^= 0x68e31da4;
  h ^= h >>> 16;
  h = imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return ((h >>> 0) | 1) >>> 26;
}

/** The shard of a query name in a zone split `shards` ways (the subname is the qname less ".zone"). */
export function hotZoneShard(qname: string, zone: string, shards: number): number {
  if (shards <= 1) return 0;
  const sub = qname.length > zone.length ? qname.slice(0, qname.length - zone.length - 1) : '';
  const b = Buffer.from(sub, 'utf8');
  return hotZoneBlock(b, 0, b.length) % shards;
}

/** The message key of a hot zone's query batches for one shard. */
export function hotZoneKey(zone: string, shard: number): string {
  return `${zone}#${shard}`;
}

export function parseHotZoneKey(key: string): { zone: string; shard: number } | null {
  const at = key.lastIndexOf('#');
  if (at <= 0) return null;
  const shard = Number(key.slice(at + 1));
  return Number.isInteger(shard) && shard >= 0 && shard < HOT_ZONE_MAX_SHARDS
    ? { zone: key.slice(0, at), shard }
    : null;
}

/**
 * One `zone:K` entry of a hot-zone list (DETECTOR_HOT_ZONES, INGEST_HOT_ZONES: the ingest and
 * the detector must be given the same list), or null when it is not one.
 */
export function parseHotZoneEntry(entry: string): { zone: string; shards: number } | null {
  const m = /^([a-z0-9_.-]+):(\d+)$/i.exec(entry.trim());
  if (!m || m[1]!.startsWith('.')) return null;
  const shards = Number(m[2]);
  if (shards < 1 || shards > HOT_ZONE_MAX_SHARDS) return null;
  return { zone: m[1]!.toLowerCase().replace(/\.$/, ''), shards };
}

const pair = z.tuple([z.number(), z.number()]);
const hll = z
  .object({
    p: z.number().int(),
    sparse: z.array(z.number()).optional(),
    dense: z.string().optional(),
  })
  .nullable();
const heavyHitter = z.object({ key: z.string(), count: z.number(), error: z.number() });
const alertRef = z.object({ alertId: z.string(), onset: z.number() });

/** One shard's tick of a hot zone (services/detector/src/core/shard/shard-summary.ts explains each field). */
export const shardSummarySchema = z.object({
  v: z.literal(1),
  zone: z.string().min(1),
  shard: z.number().int().min(0),
  shards: z.number().int().min(1).max(HOT_ZONE_MAX_SHARDS),
  tick: z.number(),
  // 16 before the surge's flatness counts (fresh names tracked, their coincidences), 18 since.
  counts: z.array(z.number()).min(16).max(18),
  floats: z
    .array(z.tuple([z.number().int(), z.number(), z.number(), z.number(), z.number()]))
    .max(HOT_ZONE_BLOCKS),
  hll,
  freshHll: hll,
  fp: z.object({
    n: z.number(),
    random: z.number(),
    rd: z.number(),
    edns: z.number(),
    bpcSum: z.number(),
    firstLabelLengths: z.array(pair),
    labelsPerName: z.array(pair),
    qtypes: z.array(pair),
    chars: z.array(z.number()).length(128),
  }),
  samples: z.array(z.tuple([z.number(), z.number(), z.string(), z.string()])),
  nsTop: z.array(heavyHitter),
  repeat: pair,
  vocabularyVersion: z.number(),
  train: z.array(z.tuple([z.number(), z.string()])),
  statsTop: z.array(heavyHitter).nullable(),
  offenders: z
    .object({
      windowStart: z.number(),
      windowEnd: z.number(),
      rows: z.array(z.tuple([z.string(), z.number(), z.number(), z.array(evidenceSchema)])),
    })
    .nullable(),
  knownNames: z
    .object({ names: z.array(z.tuple([z.string(), z.number()])), picked: z.number() })
    .nullable(),
});
export type ShardSummary = z.infer<typeof shardSummarySchema>;

/** The merge stage's verdict on one tick of a hot zone, applied by every shard before the next. */
export const mergeDecisionSchema = z.object({
  v: z.literal(1),
  zone: z.string().min(1),
  tick: z.number(),
  alert: alertRef.nullable(),
  started: z.boolean(),
  ended: z.boolean(),
  train: z.array(z.string()),
  trainBelow: z.number(),
  wantNames: z.object({ asOf: z.number() }).nullable(),
});
export type MergeDecision = z.infer<typeof mergeDecisionSchema>;

/**
 * On `Topics.shardSummaries`: a shard's first word about a zone (`hello`, its first tick), then
 * its summaries. On `Topics.shardDecisions`: the merge stage's `start` (the zone's first tick,
 * the same for every shard: the first hello it read) and its decisions.
 */
export const shardMessageSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('hello'),
    zone: z.string().min(1),
    shard: z.number().int().min(0),
    shards: z.number().int().min(1).max(HOT_ZONE_MAX_SHARDS),
    firstTick: z.number(),
  }),
  z.object({ type: z.literal('summary'), summary: shardSummarySchema }),
]);
export type ShardMessage = z.infer<typeof shardMessageSchema>;

export const mergeMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('start'), zone: z.string().min(1), origin: z.number() }),
  z.object({ type: z.literal('decision'), decision: mergeDecisionSchema }),
]);
export type MergeMessage = z.infer<typeof mergeMessageSchema>;
