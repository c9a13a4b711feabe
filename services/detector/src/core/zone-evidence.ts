import { HyperLogLog } from './hyperloglog';
import { type DetectorSettings } from './settings';
import { nxOf, type Tick } from './tick';
import { type ZoneBaseline } from './zone-baseline';

/** One horizon's verdict on each signal. */
export interface Evaluation {
  n: number;
  ns: number;
  expected: number;
  excess: number;
  z: number;
  hot: boolean;
  cold: boolean;
  candidate: boolean;
  /** Responses that answered nothing (NXDOMAIN, NODATA, SERVFAIL, REFUSED) above the baseline. */
  failHot: boolean;
  failCold: boolean;
  failZ: number;
  /** Volume above the baseline, carried by many names the zone had not established. */
  surgeHot: boolean;
  /**
   * The surge still holds (an alert's hysteresis, as zEnd for never-seen names): the same
   * volume, half the distinct names. Implied by surgeHot.
   */
  surgeHeld: boolean;
}

export const FLOOR_RANDOM = 1;
export const FLOOR_FAILURES = 2;
export const FLOOR_SURGE = 4;

/**
 * The anomaly tests over the last `h` ticks of `ring` against the zone's baseline: never-seen
 * names, failed answers and the surge of names the zone had not established. Each is divided
 * by the zone's sensitivity `k`.
 */
export function assess(
  ring: readonly Tick[],
  h: number,
  b: ZoneBaseline,
  s: DetectorSettings,
  k: number,
  warm: boolean,
): Evaluation {
  const from = Math.max(0, ring.length - h);
  let n = 0;
  let ns = 0;
  let rcs = 0;
  let fails = 0;
  let fresh = 0;
  let tracked = 0;
  let pairs = 0;
  let coincidences = 0;
  for (let i = from; i < ring.length; i++) {
    const t = ring[i]!;
    n += t.n - t.allow;
    ns += t.ns;
    rcs += t.rcs;
    fails += t.fails;
    fresh += t.fresh;
    tracked += t.freshTracked;
    pairs += (t.freshTracked * (t.freshTracked - 1)) / 2;
    coincidences += t.freshColl;
  }
  const span = ring.length - from;
  const expected = b.share * n;
  const excess = ns - expected;
  const sd = Math.sqrt(span * b.varResid + expected + (0.25 * expected) ** 2 + 1);
  const z = excess / sd;
  const minExcess = (s.minExcessQps * span * s.tickMs) / 1000;

  // Responses: the share that answered nothing, against the zone's own share…
  const failExpected = b.failShare * rcs;
  const failExcess = fails - failExpected;
  const failZ =
    failExcess / Math.sqrt(span * b.varFail + failExpected + (0.25 * failExpected) ** 2 + 1);
  // …and above the zone's usual count of them: a flash crowd that taught the baseline a low
  // share must not make the zone's ordinary mix look like a flood once it passes.
  // Only against a learned response baseline: responses that just started (pairing switched
  // on, a checkpoint from before they counted) would otherwise all look like excess.
  const responsesKnown = b.meanRc > 0 && b.meanRc >= s.minResponseShare * b.meanN;
  const failHot =
    responsesKnown &&
    rcs >= s.minResponseShare * n &&
    fails - b.meanFail * span >= minExcess / k &&
    fails >= s.minRatio * b.meanFail * span &&
    failZ >= s.zStart / k &&
    failExcess >= minExcess / k &&
    fails >= s.minRatio * failExpected;

  // Query-only, for floods whose names repeat: volume far above the baseline, most of it for
  // names the zone had not established, and many distinct ones (a new deployment brings a
  // few hundred names; a dictionary or a replayed list thousands) — or fewer, asked flatly
  // (see flatSpread). Distinct names are only counted when the volume already qualifies:
  // merging sketches is not free.
  const nExpected = b.meanN * span;
  const nExcess = n - nExpected;
  const nZ = nExcess / Math.sqrt(span * b.varN + nExpected + (0.25 * nExpected) ** 2 + 1);
  let surgeHot = false;
  let surgeHeld = false;
  if (
    warm &&
    n >= s.surgeMinRatio * nExpected &&
    nZ >= s.zStart / k &&
    nExcess >= minExcess / k &&
    fresh >= s.surgeFreshShare * nExcess
  ) {
    const distinct = new HyperLogLog(s.hllPrecision);
    for (let i = from; i < ring.length; i++) {
      const f = ring[i]!.freshHll;
      if (f) distinct.merge(f);
    }
    const d = distinct.count();
    const enough = (share: number) =>
      d >= share * s.minRatio * span * b.meanFreshD &&
      (d >= (share * s.surgeMinNames) / k ||
        (d >= (share * s.surgeFlatMinNames) / k &&
          flatSpread(d, fresh, tracked, pairs, coincidences, s)));
    surgeHot = enough(1);
    surgeHeld = surgeHot || enough(0.5);
  }
  return {
    n,
    ns,
    expected,
    excess,
    z,
    hot: z >= s.zStart / k && excess >= minExcess / k && ns >= s.minRatio * expected,
    cold: z < s.zEnd || excess < minExcess / 2,
    candidate: z >= s.zEnd && excess > 0,
    failHot,
    failCold:
      !responsesKnown ||
      rcs < s.minResponseShare * n ||
      failZ < s.zEnd ||
      failExcess < minExcess / 2,
    failZ,
    surgeHot,
    surgeHeld,
  };
}

/** Below this many coincidences a flat spread would show, flatness is not measured. */
const FLAT_MIN_EXPECTED = 10;

/**
 * Whether `d` distinct fresh names are asked flatly, as a replayed list or a word list is, not
 * with the heavy tail of real popularity. Within each tick, `pairs` of the `tracked` fresh
 * queries (those the vocabulary holds, at least half of them) could coincide and
 * `coincidences` did (same name): pairs ÷ coincidences estimates the effective number of names
 * (1 ÷ Σ share², per tick, so the horizon's length does not matter). A flat spread has about
 * as many as it has distinct names; a heavy-tailed one far fewer. Why not "(resolver, name)
 * asked once"? Behind a caching resolver every pair is asked once per TTL — a legitimate
 * deployment looks exactly like a replay for its first TTL, longer than any detection target.
 */
function flatSpread(
  d: number,
  fresh: number,
  tracked: number,
  pairs: number,
  coincidences: number,
  s: DetectorSettings,
): boolean {
  return (
    tracked >= 0.5 * fresh &&
    pairs >= FLAT_MIN_EXPECTED * d &&
    pairs >= s.surgeFlatShare * d * coincidences
  );
}

/**
 * This tick reaches the cold-zone floor (× factor, ÷ sensitivity): enough random never-seen
 * names, or enough NXDOMAIN answers, making up most of their kind. A bit set of FLOOR_*.
 */
export function floorHot(
  t: Tick,
  s: DetectorSettings,
  k: number,
  factor = 1,
  withSurge = false,
): number {
  const min = (factor * s.coldMinRandomQps * s.tickMs) / 1000 / k;
  let hot = 0;
  if (t.nsRandom >= min && t.nsRandom >= s.coldMinRandomShare * t.ns) hot |= FLOOR_RANDOM;
  // NXDOMAIN only: a zone the server does not serve (REFUSED) or a v4-only zone asked for
  // AAAA (NODATA) can fail most queries without anyone attacking it.
  const nx = nxOf(t);
  if (nx >= min && nx >= s.coldMinFailShare * t.rcs) hot |= FLOOR_FAILURES;
  // Query-only, no baseline: thousands of distinct names, spread flat (most queries of the
  // tick for a name not asked before in it). A zone going live is asked for a few names
  // (www, mail, the apex) over and over; a dictionary flood is not.
  if (withSurge && t.freshHll !== null) {
    const scored = t.n - t.allow;
    const distinct = t.freshHll.count();
    if (distinct >= (factor * s.surgeMinNames) / k && distinct >= s.coldSurgeFlatShare * scored)
      hot |= FLOOR_SURGE;
  }
  return hot;
}

/**
 * The low-and-slow floor for a zone without a baseline: over the long horizon (at least
 * coldSlowTicks of it), random never-seen names or NXDOMAIN answers average coldSlowQps
 * (÷ sensitivity) and make up most of their kind.
 */
export function slowFloorHot(
  ring: readonly Tick[],
  s: DetectorSettings,
  k: number,
  randomCounts: boolean,
): boolean {
  const from = Math.max(0, ring.length - s.longHorizonTicks);
  const span = ring.length - from;
  if (span < s.coldSlowTicks) return false;
  let nsRandom = 0;
  let ns = 0;
  let nx = 0;
  let rcs = 0;
  for (let i = from; i < ring.length; i++) {
    const t = ring[i]!;
    nsRandom += t.nsRandom;
    ns += t.ns;
    nx += nxOf(t);
    rcs += t.rcs;
  }
  const min = (s.coldSlowQps * span * s.tickMs) / 1000 / k;
  // Names that come back are churn here too (a deleted host still asked for), not a flood.
  return (
    randomCounts &&
    ((nsRandom >= min && nsRandom >= s.coldMinRandomShare * ns) ||
      (nx >= min && nx >= s.coldMinFailShare * rcs))
  );
}
