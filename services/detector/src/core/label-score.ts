/**
 * How random does the part of a name left of the zone look? Features: length, Shannon
 * entropy, character classes and digit mix, and a character-bigram likelihood under the
 * zone's own vocabulary (learned from names the zone has seen before, on top of a small
 * generic prior of host and English words). Scores are in [0, 1]; ≥ threshold counts as random.
 */

// Module-scope bindings: under jest's vm sandbox `Math.x` in the scoring loops is a global
// lookup per call (several times slower in the unit tests); the same functions either way.
const { clz32, floor, log2, min } = Math;
const SYMBOLS = 40;
const BOUNDARY = 39;

/** A string's UTF-8 bytes (every scorer works on bytes, as names come off the wire). */
export function utf8(text: string): Uint8Array {
  return Buffer.from(text, 'utf8');
}

function symbolOf(code: number): number {
  if (code >= 97 && code <= 122) return code - 97; // a-z
  if (code >= 48 && code <= 57) return 26 + code - 48; // 0-9
  if (code === 45) return 36; // -
  if (code === 95) return 37; // _
  if (code === 46) return BOUNDARY; // '.' separates labels like a word boundary
  return 38;
}
/** symbolOf for every byte: one read per character in the scoring loops, no branches. */
const SYMBOL = Uint8Array.from({ length: 256 }, (_, c) => symbolOf(c));

/** Generic prior: what host names and English words look like before a zone has taught us. */
const PRIOR_WORDS =
  'www mail api cdn static images img login account accounts support help shop store news blog media web ' +
  'secure portal admin app apps mobile search video music cloud server services service update updates download ' +
  'files docs dev test stage staging prod production internal external public private remote office home ' +
  'email smtp imap pop exchange calendar meet chat forum community status monitor metrics analytics track ' +
  'tracking ads edge origin assets content data backup vpn gateway proxy router network north south east west ' +
  'central europe america asia pacific region zone global local primary secondary master slave node cluster ' +
  'the and for with from about after again against always another answer around because before between ' +
  'business company country different during education example family government important information ' +
  'interest little market member minute mother number people person picture problem program question ' +
  'research result school second should something student system teacher thing think through together ' +
  'travel under water where which while without woman world would write years young green orange purple ' +
  'silver golden winter summer spring autumn river mountain forest garden window letter paper table light';

export class NgramModel {
  /** Bigram counts: [prev * SYMBOLS + next]. */
  readonly counts = new Float64Array(SYMBOLS * SYMBOLS);
  readonly rows = new Float64Array(SYMBOLS);
  total = 0;
  /**
   * Bumped whenever a row's counts change (train, decay): a cached −log2 P(next | prev) stamped
   * with its row's version is exact while the version holds. Starts at 1, so the zeroed stamps
   * of a new cache are stale (fromJSON fills a model that has no cache yet).
   */
  readonly rowVersion = new Uint32Array(SYMBOLS).fill(1);
  /** The model's −log2 bigram probabilities (mixed with the prior); made on first use. */
  bitsCache: BitsCache | null = null;

  train(text: string, weight = 1): void {
    const b = utf8(text);
    this.trainBytes(b, 0, b.length, weight);
  }

  /** Train on the bytes [start, end) of `b` (a name as it came off the wire). */
  trainBytes(b: Uint8Array, start: number, end: number, weight = 1): void {
    let prev = BOUNDARY;
    for (let i = start; i < end; i++) {
      const s = SYMBOL[b[i]!]!;
      this.counts[prev * SYMBOLS + s]! += weight;
      this.rows[prev]! += weight;
      this.bump(prev);
      prev = s;
    }
    this.counts[prev * SYMBOLS + BOUNDARY]! += weight;
    this.rows[prev]! += weight;
    this.bump(prev);
    this.total += weight * (end - start + 1);
  }

  private bump(row: number): void {
    // A version that wraps (2^32 changes of one row) could meet an old stamp: start afresh.
    if (++this.rowVersion[row]! === 0) {
      this.rowVersion.fill(1);
      this.bitsCache = null;
    }
  }

  private bumpAll(): void {
    for (let r = 0; r < SYMBOLS; r++) this.bump(r);
  }

  /** Bytes held: the counts and, once scoring used it, the cached surprises. */
  get bytes(): number {
    const cache = this.bitsCache;
    return (
      this.counts.byteLength +
      this.rows.byteLength +
      this.rowVersion.byteLength +
      (cache ? cache.entries.byteLength : 0)
    );
  }

  /** Halve all counts: recent vocabulary outweighs old, and counts stay bounded. */
  decay(): void {
    for (let i = 0; i < this.counts.length; i++) this.counts[i]! *= 0.5;
    for (let i = 0; i < this.rows.length; i++) this.rows[i]! *= 0.5;
    this.total *= 0.5;
    this.bumpAll();
  }

  toJSON(): { counts: number[]; total: number } {
    return { counts: Array.from(this.counts), total: this.total };
  }

  static fromJSON(json: { counts: number[]; total: number }): NgramModel {
    const m = new NgramModel();
    json.counts.forEach((c, i) => {
      m.counts[i] = c;
      m.rows[floor(i / SYMBOLS)]! += c;
    });
    m.total = json.total;
    return m;
  }
}

export const GENERIC_PRIOR: NgramModel = (() => {
  const m = new NgramModel();
  for (const w of PRIOR_WORDS.split(' ')) m.train(w);
  return m;
})();

const SMOOTHING = 0.1;
/** Below this many trained characters a zone model is too thin to trust on its own. */
const MIN_ZONE_CHARS = 2000;

/**
 * Mean surprise in bits per character of `text`: an even mix of the zone's own bigram model
 * and the generic prior (interpolation, so a busy zone's vocabulary cannot drown out what
 * ordinary words look like). Uniformly random text scores ≈ 5.5–6.5, host names and words ≈ 3–4.5.
 */
export function bitsPerChar(
  text: string,
  zone: NgramModel | null,
  prior: NgramModel = GENERIC_PRIOR,
): number {
  const b = utf8(text);
  return bitsPerCharBytes(b, 0, b.length, zone, prior);
}

/** P(next | prev) under a model, smoothed: the one formula both the table and the loop use. */
function bigramP(m: NgramModel, prev: number, idx: number): number {
  return (m.counts[idx]! + SMOOTHING) / (m.rows[prev]! + SMOOTHING * SYMBOLS);
}

/** The generic prior never changes after it is built: its probabilities are computed once. */
const PRIOR_P = (() => {
  const t = new Float64Array(SYMBOLS * SYMBOLS);
  for (let prev = 0; prev < SYMBOLS; prev++)
    for (let s = 0; s < SYMBOLS; s++)
      t[prev * SYMBOLS + s] = bigramP(GENERIC_PRIOR, prev, prev * SYMBOLS + s);
  return t;
})();
/** −log2 of the prior alone, for zones whose own model is still too thin to use. */
const PRIOR_BITS = PRIOR_P.map((p) => -log2(p));

/** bitsPerChar of the bytes [start, end) of `b`. */
export function bitsPerCharBytes(
  b: Uint8Array,
  start: number,
  end: number,
  zone: NgramModel | null,
  prior: NgramModel = GENERIC_PRIOR,
): number {
  const useZone = zone !== null && zone.total >= MIN_ZONE_CHARS;
  const generic = prior === GENERIC_PRIOR;
  if (useZone && generic) return zoneBitsPerChar(b, start, end, zone);
  let bits = 0;
  let prev = BOUNDARY;
  for (let i = start; i <= end; i++) {
    const s = i < end ? SYMBOL[b[i]!]! : BOUNDARY;
    const idx = prev * SYMBOLS + s;
    if (!useZone && generic) {
      bits += PRIOR_BITS[idx]!;
    } else {
      const pPrior = generic ? PRIOR_P[idx]! : bigramP(prior, prev, idx);
      const p = useZone ? 0.5 * pPrior + 0.5 * bigramP(zone, prev, idx) : pPrior;
      bits -= log2(p);
    }
    prev = s;
  }
  return bits / (end - start + 1);
}

/**
 * −log2 of the mixed bigram probability, remembered with the version of the row it came from:
 * the probability depends on that row's counts alone (the prior is fixed), so an entry whose
 * stamp matches is exact. A model only changes where it trains, so most bigrams hit: a table
 * read instead of a division and a log2.
 */
class BitsCache {
  /**
   * Per bigram idx: the bits at 2·idx and the row version they were computed at at 2·idx + 1 (0:
   * never), side by side so a lookup touches one cache line, not one in each of two tables
   * (decode + detect 1.01–1.04× against two tables, same run).
   */
  readonly entries = new Float64Array(2 * SYMBOLS * SYMBOLS);
}

/**
 * Per model, not one shared table: zones are scored one after another, and a shared table was
 * refilled at every change of zone (per-model tables: decode + detect 1.09× on the 50-zone
 * bench). 25 KiB per zone model, made once the zone's model is used.
 */
function bitsCacheOf(zone: NgramModel): BitsCache {
  return zone.bitsCache ?? (zone.bitsCache = new BitsCache());
}

/** Remembers −log2 P(s | prev) under the model's current counts (bigram idx = prev · SYMBOLS + s). */
function fillZoneBits(cache: BitsCache, zone: NgramModel, prev: number, idx: number): void {
  const c = zone.counts[idx]!;
  const r = zone.rows[prev]!;
  const p = 0.5 * PRIOR_P[idx]! + 0.5 * ((c + SMOOTHING) / (r + SMOOTHING * SYMBOLS));
  cache.entries[2 * idx + 1] = zone.rowVersion[prev]!;
  cache.entries[2 * idx] = -log2(p);
}

// The hot loops below call no function that returns a number: a double crossing a call that is
// not inlined is boxed, and that garbage was a tenth of the detector's time.

/** bitsPerCharBytes with a zone model and the generic prior (the detector's case). */
function zoneBitsPerChar(b: Uint8Array, start: number, end: number, zone: NgramModel): number {
  const versions = zone.rowVersion;
  const cache = bitsCacheOf(zone);
  const entries = cache.entries;
  let bits = 0;
  let prev = BOUNDARY;
  for (let i = start; i <= end; i++) {
    const s = i < end ? SYMBOL[b[i]!]! : BOUNDARY;
    const idx = prev * SYMBOLS + s;
    if (entries[2 * idx + 1] !== versions[prev]) fillZoneBits(cache, zone, prev, idx);
    bits += entries[2 * idx]!;
    prev = s;
  }
  return bits / (end - start + 1);
}

export interface LabelFeatures {
  /** Characters left of the zone, dots excluded. */
  length: number;
  labels: number;
  firstLabelLength: number;
  /** Shannon entropy of the character distribution, bits. */
  entropy: number;
  digitShare: number;
  /** Letter↔digit switches per character: random strings switch often, words rarely. */
  classSwitches: number;
  bitsPerChar: number;
  score: number;
}

/** Read in place of a cache where no zone model is used (keeps the loop's types fixed). */
const NO_CACHE = new BitsCache();

const counts = new Uint16Array(128);
/** Per byte: 1 letter, 2 digit, 0 other — table reads, not branches a random name mispredicts. */
const CLASS = Uint8Array.from({ length: 256 }, (_, c) =>
  c >= 48 && c <= 57 ? 2 : c >= 97 && c <= 122 ? 1 : 0,
);
/**
 * [previous class << 2 | class]: 1 for a letter↔digit switch. Only those count: '-' between
 * words is how people write names (and a label boundary starts afresh, as class 0).
 */
const SWITCH = Uint8Array.from({ length: 16 }, (_, i) =>
  (i >> 2 === 1 && (i & 3) === 2) || (i >> 2 === 2 && (i & 3) === 1) ? 1 : 0,
);
const used = new Int32Array(4);

/**
 * p·log2(p) for p = count / length, per length up to TERM_MAX, filled a row at a time on first
 * use: a name's entropy is then table reads, not a log2 per distinct character. The very same
 * expression fills it, so the sums are bit for bit those of computing each term.
 */
const TERM_MAX = 255;
const terms = new Float64Array((TERM_MAX + 1) * (TERM_MAX + 1));
const termRowFilled = new Uint8Array(TERM_MAX + 1);

function termRow(length: number): number {
  const row = length * (TERM_MAX + 1);
  if (termRowFilled[length] === 0) {
    for (let c = 1; c <= length; c++) {
      const p = c / length;
      terms[row + c] = p * log2(p);
    }
    termRowFilled[length] = 1;
  }
  return row;
}

/** Score a subname (the labels left of the zone). */
export function scoreSubname(sub: string, zone: NgramModel | null): LabelFeatures {
  const b = utf8(sub);
  return { ...scoreSubnameBytes(b, 0, b.length, zone, scratchFeatures) };
}

/** A features object for scoreSubnameBytes to fill (a hot loop keeps one and reuses it). */
export function labelFeatures(): LabelFeatures {
  return {
    length: 0,
    labels: 0,
    firstLabelLength: 0,
    entropy: 0,
    digitShare: 0,
    classSwitches: 0,
    bitsPerChar: 0,
    score: 0,
  };
}

const scratchFeatures = labelFeatures();

/**
 * Score the subname in bytes [start, end) of `b` into `out` and return it. The detector's hot
 * path: one pass over the bytes, no allocation (`out` is the caller's, reused per query).
 */
export function scoreSubnameBytes(
  b: Uint8Array,
  start: number,
  end: number,
  zone: NgramModel | null,
  out: LabelFeatures,
): LabelFeatures {
  let length = 0;
  let labels = end > start ? 1 : 0;
  let firstLabelLength = -1;
  let digits = 0;
  let switches = 0;
  let prevClass = 0;
  // The bigram surprise in the same pass (bitsPerCharBytes' sum, term for term, same order).
  const useZone = zone !== null && zone.total >= MIN_ZONE_CHARS;
  const model = useZone ? zone : GENERIC_PRIOR;
  const versions = model.rowVersion;
  const cache = useZone ? bitsCacheOf(zone) : NO_CACHE;
  const entries = cache.entries;
  let bits = 0;
  let prev = BOUNDARY;
  for (let i = start; i < end; i++) {
    const c = b[i]!;
    const s = SYMBOL[c]!;
    const idx = prev * SYMBOLS + s;
    if (!useZone) bits += PRIOR_BITS[idx]!;
    else {
      if (entries[2 * idx + 1] !== versions[prev]) fillZoneBits(cache, model, prev, idx);
      bits += entries[2 * idx]!;
    }
    prev = s;
    if (c === 46) {
      labels++;
      if (firstLabelLength < 0) firstLabelLength = i - start;
      prevClass = 0;
      continue;
    }
    length++;
    const k = c & 127;
    counts[k]!++;
    // Which of the 128 counts are in use: the entropy visits and resets only those, in
    // ascending order (the same sum as a pass over all 128).
    used[k >>> 5]! |= 1 << (k & 31);
    // Branch-free: a random name's letters and digits would mispredict every other character
    // (the scorer alone, on names half random, half words: 1.10–1.16× as fast; same features
    // bit for bit).
    const cls = CLASS[c]!;
    digits += cls >>> 1;
    switches += SWITCH[prevClass | cls]!;
    prevClass = cls << 2;
  }
  // The name's end is a boundary too (the last bigram: its last character → end).
  const last = prev * SYMBOLS + BOUNDARY;
  if (!useZone) bits += PRIOR_BITS[last]!;
  else {
    if (entries[2 * last + 1] !== versions[prev]) fillZoneBits(cache, model, prev, last);
    bits += entries[2 * last]!;
  }
  if (firstLabelLength < 0) firstLabelLength = end - start;
  let entropy = 0;
  const row = length <= TERM_MAX ? termRow(length) : -1;
  for (let w = 0; w < 4; w++) {
    let mask = used[w]!;
    used[w] = 0;
    while (mask !== 0) {
      const low = mask & -mask;
      const k = w * 32 + 31 - clz32(low);
      if (row >= 0) entropy -= terms[row + counts[k]!]!;
      else {
        const p = counts[k]! / length;
        entropy -= p * log2(p);
      }
      counts[k] = 0;
      mask ^= low;
    }
  }
  out.length = length;
  out.labels = labels;
  out.firstLabelLength = firstLabelLength;
  out.entropy = entropy;
  out.digitShare = length > 0 ? digits / length : 0;
  out.classSwitches = length > 1 ? switches / (length - 1) : 0;
  out.bitsPerChar = length > 0 ? bits / (end - start + 1) : 0;
  combine(out);
  return out;
}

const LOG2_UP_TO_36 = Float64Array.from({ length: 37 }, (_, n) => log2(n));
const clamp01 = (x: number) => (x < 0 ? 0 : x > 1 ? 1 : x);

/**
 * Weighted evidence, each feature mapped to [0, 1]. The bigram surprise carries most weight
 * because it is the one feature that separates "kq3vz8ma" from "checkout" at equal length.
 */
function combine(out: LabelFeatures): void {
  const { length, entropy, digitShare, classSwitches: switches, bitsPerChar: bpc } = out;
  if (length < 4) {
    out.score = clamp01((bpc - 4) / 3) * 0.5; // too short to call random with confidence
    return;
  }
  const surprise = clamp01((bpc - 4.4) / 1.4);
  // Entropy relative to the most a string of this length over ~36 symbols can have.
  const maxEntropy = LOG2_UP_TO_36[min(length, 36)]!;
  const spread = clamp01((entropy / maxEntropy - 0.75) / 0.2);
  const mix = digitShare > 0.1 && digitShare < 0.9 ? clamp01(switches / 0.35) : 0;
  const long = clamp01((length - 5) / 7);
  out.score = 0.6 * surprise + 0.15 * spread + 0.15 * mix + 0.1 * long;
}
