/** Every knob of the detection core, with the defaults the service ships. */
export interface DetectorSettings {
  /** Tick length: windows advance in these steps of event time. */
  tickMs: number;
  /** How far behind a zone's newest event a query may arrive and still count. */
  allowedLatenessMs: number;
  /**
   * A silent zone's clock follows its partition's newest event minus this, so an attack on a
   * zone whose traffic stops entirely still ends.
   */
  idleAdvanceMs: number;
  /**
   * A zone silent for this long (its partition's clock ahead by this much) is forgotten, so
   * memory follows the zones that are alive. It relearns its baseline if it comes back.
   */
  evictIdleMs: number;
  /** Horizons (in ticks) the anomaly test runs over: short for floods, long for low-and-slow. */
  shortHorizonTicks: number;
  longHorizonTicks: number;
  /** Ticks of baseline learning before a zone can alert on the statistical test. */
  warmupTicks: number;
  /**
   * Absolute floors for a zone without a baseline (still in warm-up: brand new, or relearning
   * after eviction): it alerts anyway when, for coldTicks consecutive ticks, at least
   * coldMinRandomQps never-seen random-looking names arrive (÷ sensitivity), they are at least
   * coldMinRandomShare of its never-seen names, and they are not asked again (repeat share).
   */
  coldMinRandomQps: number;
  coldMinRandomShare: number;
  /** …or as many responses that answered nothing, at least this share of the responses. */
  coldMinFailShare: number;
  /** The same floors for low-and-slow: this rate averaged over the long horizon (≥ coldSlowTicks). */
  coldSlowQps: number;
  coldSlowTicks: number;
  coldTicks: number;
  baselineAlpha: number;
  warmupAlpha: number;
  /** Start when the excess of never-seen names is this many standard deviations (÷ sensitivity). */
  zStart: number;
  /** Below this (or below half the minimum excess) a tick counts as quiet. */
  zEnd: number;
  /** Minimum excess never-seen queries per second (÷ sensitivity). */
  minExcessQps: number;
  /** Observed never-seen count must be at least this multiple of the expected one. */
  minRatio: number;
  /** Above this share of recently new names being asked again, a burst is churn, not an attack. */
  maxRepeatShare: number;
  /**
   * Responses count as evidence once at least this share of the zone's scored queries have one
   * (a capture of one direction, or pairing off, leaves the decision to the queries).
   */
  minResponseShare: number;
  /**
   * The surge test, for floods whose names repeat (small dictionaries, replayed lists): volume
   * at least surgeMinRatio × the baseline, at least surgeFreshShare of the excess for names
   * the zone had not established surgeEstablishTicks before, and at least surgeMinNames
   * distinct such names in the horizon (÷ sensitivity) — a deployment of new hosts brings
   * hundreds, a dictionary thousands.
   */
  surgeMinRatio: number;
  surgeFreshShare: number;
  surgeMinNames: number;
  surgeEstablishTicks: number;
  /**
   * …or, with fewer names (at least surgeFlatMinNames ÷ sensitivity), when they are asked
   * flatly: the effective number of names (queries² ÷ same-name coincidences within a tick)
   * is at least surgeFlatShare of the distinct ones. A replayed list or a word list is flat
   * (≈ 1); new hosts going live are not (popularity is heavy-tailed, ≈ 0.1–0.3 even behind
   * caching resolvers, which flatten it).
   */
  surgeFlatMinNames: number;
  surgeFlatShare: number;
  /**
   * The same for a zone without a baseline: surgeMinNames distinct names in one tick making up
   * at least this share of its queries, for coldTicks running (a flat spread of many names).
   */
  coldSurgeFlatShare: number;
  /**
   * Consecutive quiet ticks that end an attack (hysteresis). A flood that paused and came back
   * (pulses) needs twice its longest pause, up to maxEndQuietTicks.
   */
  endQuietTicks: number;
  maxEndQuietTicks: number;
  /** At most one `updated` per this much event time. */
  updateEveryMs: number;
  /** Label score at or above which a query counts as random. */
  randomThreshold: number;
  statsEveryTicks: number;
  offenderWindowTicks: number;
  /**
   * Bound on distinct resolvers tracked (and reported) per zone and offender window; every
   * tracked resolver with attack queries is reported, so per-resolver shares stay unbiased.
   */
  maxTrackedResolvers: number;
  /** Names each zone remembers (rotating Bloom generation size). */
  seenCapacity: number;
  seenFalsePositiveRate: number;
  hllPrecision: number;
  topK: number;
  /** Names each zone's vocabulary holds (the zone guard's allow list is drawn from it). */
  knownNamesCapacity: number;
  /** Every this many ticks the vocabulary's counts halve (names asked once and not since go). */
  knownNamesAgingTicks: number;
  /** A known name unasked for this long (event time) is forgotten. */
  knownNamesRetentionMs: number;
  /** At most this many names, and this many bytes of them, per known-names message. */
  knownNamesMax: number;
  knownNamesMaxBytes: number;
  sampleNames: number;
  /** Names the n-gram model learns from per zone and tick (bounds the cost at high rates). */
  trainPerTick: number;
  /** Zones or subtrees measured but never alerted (e.g. RUM beacon domains). */
  allowlist: readonly string[];
  /** Per-zone sensitivity (default 1; 2 = twice as sensitive, 0.5 = half). */
  sensitivity: Readonly<Record<string, number>>;
}

export const defaultSettings: DetectorSettings = {
  tickMs: 1000,
  allowedLatenessMs: 500,
  idleAdvanceMs: 30_000,
  evictIdleMs: 3_600_000,
  shortHorizonTicks: 2,
  longHorizonTicks: 10,
  warmupTicks: 30,
  coldMinRandomQps: 200,
  coldMinRandomShare: 0.6,
  coldMinFailShare: 0.8,
  coldSlowQps: 20,
  coldSlowTicks: 5,
  coldTicks: 2,
  baselineAlpha: 0.02,
  warmupAlpha: 0.2,
  zStart: 6,
  zEnd: 3,
  minExcessQps: 3,
  minRatio: 2,
  maxRepeatShare: 0.3,
  minResponseShare: 0.2,
  surgeMinRatio: 3,
  surgeFreshShare: 0.5,
  surgeMinNames: 500,
  surgeEstablishTicks: 60,
  surgeFlatMinNames: 50,
  surgeFlatShare: 0.5,
  coldSurgeFlatShare: 0.5,
  endQuietTicks: 20,
  maxEndQuietTicks: 300,
  updateEveryMs: 5000,
  randomThreshold: 0.6,
  statsEveryTicks: 5,
  offenderWindowTicks: 10,
  maxTrackedResolvers: 50_000,
  seenCapacity: 500_000,
  seenFalsePositiveRate: 0.01,
  knownNamesCapacity: 50_000,
  knownNamesAgingTicks: 300,
  knownNamesRetentionMs: 86_400_000,
  knownNamesMax: 20_000,
  knownNamesMaxBytes: 1024 * 1024,
  hllPrecision: 11,
  topK: 64,
  sampleNames: 10,
  trainPerTick: 500,
  allowlist: [],
  sensitivity: {},
};

export function withDefaults(partial: Partial<DetectorSettings> = {}): DetectorSettings {
  return { ...defaultSettings, ...partial };
}
