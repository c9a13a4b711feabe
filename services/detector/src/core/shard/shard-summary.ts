/**
 * What a hot zone's stages exchange. The shapes are the contracts' (`shardSummarySchema`,
 * `mergeDecisionSchema` in packages/contracts/src/hot-zone.ts), because they travel on Kafka:
 *
 * A `ShardSummary` is what one shard saw in one tick: everything the merge stage needs to
 * decide, and all of it mergeable — integer counters (summed; `counts` is Tick's checkpoint
 * order, its float slots 4, 8, 9 left 0), HyperLogLog registers (max), fingerprint histograms
 * (summed), float sums per block (`floats`: [block, scoreSum, nsEntropy, nsScore, bits per char
 * of never-seen names], summed block by block in block order so the total is the same bits for
 * any K), bottom-k samples by hash (`samples`, `train`: the union's bottom k is the zone's), the
 * repeat sample's [sampled, asked again], the blocks' vocabulary versions summed, a stats
 * window's top resolvers at its last tick, the offender window that ended at the tick before
 * (if an alert owned it) and the known names the last decision asked for.
 *
 * A `MergeDecision` is the merge stage's verdict on a tick, applied by every shard before it
 * closes the next: the alert open after it (learning freezes, filters switch), whether it
 * started or ended, the names the zone model trains on, the hash bound for the next tick's
 * training offers, and whether to send known names.
 */
import { type Evidence } from '@sluice/contracts';

export type { MergeDecision, ShardSummary } from '@sluice/contracts';

/** A never-seen query kept as a sample: [h1, ts, resolver, qname]. */
export type SampleRow = [number, number, string, string];

/** A seen name offered for the zone model's training: [h1, subname as latin1 bytes]. */
export type TrainRow = [number, string];

/** One resolver in an offender window: [resolver, attack, total, evidence]. */
export type OffenderRow = [string, number, number, Evidence[]];
