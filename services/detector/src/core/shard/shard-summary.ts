import { type Evidence } from '@sluice/contracts';
import { type FingerprintJson } from '../fingerprint';
import { type HyperLogLog } from '../hyperloglog';
import { type HeavyHitter } from '../space-saving';

type HllJson = ReturnType<HyperLogLog['toJSON']>;

/** A never-seen query kept as a sample: [h1, ts, resolver, qname]. */
export type SampleRow = [number, number, string, string];

/** A seen name offered for the zone model's training: [h1, subname as latin1 bytes]. */
export type TrainRow = [number, string];

/** One resolver in an offender window: [resolver, attack, total, evidence]. */
export type OffenderRow = [string, number, number, Evidence[]];

/**
 * What one shard of a zone saw in one tick: everything the merge stage needs to decide, and all
 * of it mergeable — integer counters (summed), HyperLogLog registers (max), fingerprint
 * histograms (summed), float sums per block (summed block by block in block order, so the total
 * is the same bits for any K), bottom-k samples by hash (the union's bottom k is the zone's).
 */
export interface ShardSummary {
  v: 1;
  zone: string;
  shard: number;
  shards: number;
  /** Tick start (ms). */
  tick: number;
  /** Integer counters, in Tick's checkpoint order (tickToJson), without the float ones (4, 8, 9). */
  counts: number[];
  /** Per block: [block, scoreSum, nsEntropy, nsScore, bitsPerChar of never-seen names]. */
  floats: [number, number, number, number, number][];
  hll: HllJson | null;
  freshHll: HllJson | null;
  fp: FingerprintJson;
  /** The tick's never-seen queries with the smallest h1 (at most sampleNames). */
  samples: SampleRow[];
  /** Resolvers of never-seen queries this tick (space-saving, the shard's top NS_TOP). */
  nsTop: HeavyHitter[];
  /** The repeat sample after this tick: [names sampled, of which asked again]. */
  repeat: [number, number];
  /** Sum of the shard's blocks' vocabulary versions (grows when a name becomes known in an alert). */
  vocabularyVersion: number;
  /** Seen names with the smallest h1 (at most trainPerTick), while no alert is open. */
  train: TrainRow[];
  /** At a stats window's last tick: its top resolvers. */
  statsTop: HeavyHitter[] | null;
  /** The offender window that ended at the previous tick, if an alert owned it. */
  offenders: { windowStart: number; windowEnd: number; rows: OffenderRow[] } | null;
  /** Known names asked for by the previous decision: [name, hits][] best first, and how many qualified. */
  knownNames: { names: [string, number][]; picked: number } | null;
}

/**
 * The merge stage's verdict on a tick, sent back to every shard of the zone before it closes
 * the next tick: the per-query pass of tick t+1 depends on it (an open alert freezes learning
 * and switches the seen filters; the model trains on the chosen names).
 */
export interface MergeDecision {
  v: 1;
  zone: string;
  tick: number;
  /** The alert open after this tick, if any. */
  alert: { alertId: string; onset: number } | null;
  started: boolean;
  ended: boolean;
  /** Names the zone model trains on after this tick, in order (latin1 bytes). */
  train: string[];
  /**
   * Offer only seen names whose h1 is below this for the next tick: the merge stage sets it from
   * this tick's offers so that about trainPerTick names come in from all shards together (each
   * sends ~1/K of them, not trainPerTick each). The same for every K, like everything it sees.
   */
  trainBelow: number;
  /** Send the known names established before `asOf` with the next summary. */
  wantNames: { asOf: number } | null;
}
