import { type Rng } from './rng';
import { type StreamSpec } from './stream-kinds';

// When a stream sends: its active spans, ramp and pulses, and event times within them.

// Per-event maths through module-scope bindings: under jest's vm sandbox `Math.x` is a slow
// global lookup on every call.
const { round, sqrt } = Math;

/**
 * The mean rate of a stream at an offset from the scenario start (ramp and pulses applied):
 * ground truth for tests and benchmarks.
 */
export function streamQpsAt(s: StreamSpec, offsetMs: number): number {
  const u = offsetMs - s.startMs;
  if (u < 0 || u >= s.durationMs) return 0;
  if (s.onMs !== undefined && s.offMs !== undefined && u % (s.onMs + s.offMs) >= s.onMs) return 0;
  return s.rampMs !== undefined && s.rampMs > 0 && u < s.rampMs ? (s.qps * u) / s.rampMs : s.qps;
}

/** The spans of one stream where it is active (offsets from the scenario start), in order. */
export function activeSpans(s: StreamSpec): { startMs: number; endMs: number }[] {
  const end = s.startMs + s.durationMs;
  if (s.onMs === undefined || s.offMs === undefined) return [{ startMs: s.startMs, endMs: end }];
  const out: { startMs: number; endMs: number }[] = [];
  for (let a = s.startMs; a < end; a += s.onMs + s.offMs)
    out.push({ startMs: a, endMs: Math.min(end, a + s.onMs) });
  return out;
}

/** Microsecond-resolution event time, like a pcap or dnstap timestamp. */
export function drawTs(rng: Rng, from: number, to: number): number {
  return round((from + rng.next() * (to - from)) * 1000) / 1000;
}

export function checkStream(s: StreamSpec): void {
  if ((s.onMs === undefined) !== (s.offMs === undefined))
    throw new RangeError(`stream ${s.kind} on ${s.zone}: give both onMs and offMs, or neither`);
  if (s.onMs !== undefined && (s.onMs <= 0 || s.offMs! < 0))
    throw new RangeError(`stream ${s.kind} on ${s.zone}: onMs must be > 0 and offMs >= 0`);
  if (s.rampMs !== undefined && s.rampMs < 0)
    throw new RangeError(`stream ${s.kind} on ${s.zone}: rampMs must be >= 0`);
}

export interface Span {
  /** Expected queries of the span ÷ qps, in ms (its length, scaled down on the ramp). */
  weightMs: number;
  drawTs: (rng: Rng) => number;
}

/**
 * The parts of [from, to) where a ramped and/or pulsed stream starting at `origin` (epoch ms)
 * is on, split where the ramp ends, each with its share of the rate. On the ramp the density
 * rises linearly, so times are drawn by its inverse CDF.
 */
export function shapedSpans(s: StreamSpec, origin: number, from: number, to: number): Span[] {
  const on: [number, number][] = [];
  if (s.onMs !== undefined && s.offMs !== undefined) {
    const period = s.onMs + s.offMs;
    for (let k = Math.floor((from - origin) / period); origin + k * period < to; k++) {
      const a = Math.max(from, origin + k * period);
      const b = Math.min(to, origin + k * period + s.onMs);
      if (b > a) on.push([a, b]);
    }
  } else {
    on.push([from, to]);
  }
  const ramp = s.rampMs ?? 0;
  const rampEnd = origin + ramp;
  const out: Span[] = [];
  for (const [a, b] of on) {
    if (ramp > 0 && a < rampEnd) {
      const u = a - origin;
      const v = Math.min(b, rampEnd) - origin;
      out.push({
        weightMs: (v * v - u * u) / (2 * ramp),
        drawTs: (rng) => round((origin + sqrt(u * u + rng.next() * (v * v - u * u))) * 1000) / 1000,
      });
    }
    const c = Math.max(a, ramp > 0 ? rampEnd : a);
    if (b > c) out.push({ weightMs: b - c, drawTs: (rng) => drawTs(rng, c, b) });
  }
  return out;
}
