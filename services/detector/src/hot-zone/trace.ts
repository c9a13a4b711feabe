/**
 * Points of a hot zone's per-tick round trip (shard → summaries → merge → decisions → shard),
 * reported to an optional hook so a benchmark can time each leg. No hook, no cost.
 */
export type HotZoneTraceEvent =
  /** A shard starts closing a tick (score, summarise). */
  | 'shard-close'
  /** A shard hands its closed ticks' summaries to the producer. */
  | 'summary-send'
  /** The broker acknowledged them. */
  | 'summary-acked'
  /** The merge stage's handler has a tick's summary. */
  | 'summary-in'
  /** The merge stage decided a tick. */
  | 'decided'
  /** The merge stage hands decisions to the producer. */
  | 'decision-send'
  /** The broker acknowledged them. */
  | 'decision-acked'
  /** A shard runtime's handler has a tick's decision. */
  | 'decision-in';

export type HotZoneTrace = (
  event: HotZoneTraceEvent,
  zone: string,
  tick: number,
  shard?: number,
) => void;
