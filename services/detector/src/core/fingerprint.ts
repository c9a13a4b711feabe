import { type Fingerprint } from '@sluice/contracts';

const MIRAI = new Set('abcdefghijklmnopqrstuvw012345678');
const HEX = new Set('0123456789abcdef');
const DIGITS = new Set('0123456789-');
const MAX_KEYS = 64;
/** Below this share of random-looking names a flood is a dictionary's, and how far past it an alert's label holds. */
const RANDOM_LINE = 0.75;
const RANDOM_LINE_HOLD = 0.03;

function bump(map: Map<number, number>, key: number, by = 1): void {
  const v = map.get(key);
  if (v !== undefined) map.set(key, v + by);
  else if (map.size < MAX_KEYS) map.set(key, by);
}

/** Accumulates what attack names look like; bounded (≤ 64 keys per histogram, 128 chars). */
export class FingerprintAcc {
  n = 0;
  random = 0;
  rd = 0;
  edns = 0;
  bpcSum = 0;
  readonly firstLabelLengths = new Map<number, number>();
  readonly labelsPerName = new Map<number, number>();
  readonly qtypes = new Map<number, number>();
  readonly chars = new Uint32Array(128);
  /** The generator this accumulator last reported (an alert's, in its previous message). */
  private said: string | null = null;

  add(
    sub: string,
    firstLabelLength: number,
    labels: number,
    qtype: number,
    rd: boolean,
    edns: boolean,
    bpc: number,
    random: boolean,
  ): void {
    const b = Buffer.from(sub, 'utf8');
    this.addBytes(b, 0, b.length, firstLabelLength, labels, qtype, rd, edns, bpc, random);
  }

  /** `add` for a subname held as the bytes [start, end) of `b` (the detector's hot path). */
  addBytes(
    b: Uint8Array,
    start: number,
    end: number,
    firstLabelLength: number,
    labels: number,
    qtype: number,
    rd: boolean,
    edns: boolean,
    bpc: number,
    random: boolean,
  ): void {
    this.n++;
    if (random) this.random++;
    if (rd) this.rd++;
    if (edns) this.edns++;
    this.bpcSum += bpc;
    bump(this.firstLabelLengths, firstLabelLength);
    bump(this.labelsPerName, labels);
    bump(this.qtypes, qtype);
    for (let i = start; i < end; i++) {
      const c = b[i]!;
      if (c !== 46) this.chars[c & 127]!++;
    }
  }

  merge(o: FingerprintAcc): void {
    this.n += o.n;
    this.random += o.random;
    this.rd += o.rd;
    this.edns += o.edns;
    this.bpcSum += o.bpcSum;
    for (const [k, v] of o.firstLabelLengths) bump(this.firstLabelLengths, k, v);
    for (const [k, v] of o.labelsPerName) bump(this.labelsPerName, k, v);
    for (const [k, v] of o.qtypes) bump(this.qtypes, k, v);
    for (let i = 0; i < 128; i++) this.chars[i]! += o.chars[i]!;
  }

  /**
   * Characters the generator uses: those seen at least a tenth as often as the average
   * observed character, so a few ordinary new names mixed into an attack do not add x, y, z.
   */
  alphabet(): string {
    let total = 0;
    let distinct = 0;
    for (let i = 0; i < 128; i++) {
      if (this.chars[i]! > 0) {
        total += this.chars[i]!;
        distinct++;
      }
    }
    const floor = distinct > 0 ? (0.1 * total) / distinct : 0;
    let s = '';
    for (let i = 0; i < 128; i++)
      if (this.chars[i]! > 0 && this.chars[i]! >= floor) s += String.fromCharCode(i);
    return s;
  }

  /** Best guess at the generator, from the alphabet, label shape and word-likeness. */
  generator(): string {
    if (this.n === 0) return 'unknown';
    const alphabet = [...this.alphabet()];
    const share = (m: Map<number, number>, k: number) => (m.get(k) ?? 0) / this.n;
    if (alphabet.every((c) => DIGITS.has(c))) return 'numeric';
    if (alphabet.every((c) => HEX.has(c))) return 'hex';
    // 31 symbols over ≥ 100 names: x, y, z and 9 would each have shown up by chance.
    if (
      this.n >= 100 &&
      alphabet.every((c) => MIRAI.has(c)) &&
      share(this.firstLabelLengths, 12) > 0.95 &&
      share(this.labelsPerName, 1) > 0.95
    )
      return 'mirai';
    const randomShare = this.random / this.n;
    // Once said, the word-likeness label holds while the share stays near its line: a nested
    // flood's parent labels put its share at 0.75 ± 0.01, and one alert's updates flipped
    // between the two labels.
    if (
      (this.said === 'dictionary' || this.said === 'randomlabel') &&
      Math.abs(randomShare - RANDOM_LINE) < RANDOM_LINE_HOLD
    )
      return this.said;
    return randomShare < RANDOM_LINE ? 'dictionary' : 'randomlabel';
  }

  toFingerprint(): Fingerprint {
    const shares = (m: Map<number, number>) => {
      const out: Record<string, number> = {};
      for (const [k, v] of [...m].sort((a, b) => a[0] - b[0]))
        out[String(k)] = round(v / Math.max(1, this.n));
      return out;
    };
    return {
      labelLengths: shares(this.firstLabelLengths),
      alphabet: this.alphabet(),
      labelsPerName: shares(this.labelsPerName),
      generator: (this.said = this.generator()),
      qtypes: shares(this.qtypes),
      sampleSize: this.n,
      rdShare: round(this.rd / Math.max(1, this.n)),
      ednsShare: round(this.edns / Math.max(1, this.n)),
      meanBitsPerChar: round(this.bpcSum / Math.max(1, this.n)),
    };
  }

  toJSON(): FingerprintJson {
    return {
      n: this.n,
      random: this.random,
      rd: this.rd,
      edns: this.edns,
      bpcSum: this.bpcSum,
      firstLabelLengths: [...this.firstLabelLengths],
      labelsPerName: [...this.labelsPerName],
      qtypes: [...this.qtypes],
      chars: Array.from(this.chars),
      ...(this.said !== null ? { said: this.said } : {}),
    };
  }

  static fromJSON(j: FingerprintJson): FingerprintAcc {
    const f = new FingerprintAcc();
    f.n = j.n;
    f.random = j.random;
    f.rd = j.rd;
    f.edns = j.edns;
    f.bpcSum = j.bpcSum;
    for (const [k, v] of j.firstLabelLengths) f.firstLabelLengths.set(k, v);
    for (const [k, v] of j.labelsPerName) f.labelsPerName.set(k, v);
    for (const [k, v] of j.qtypes) f.qtypes.set(k, v);
    f.chars.set(j.chars);
    f.said = j.said ?? null;
    return f;
  }
}

export interface FingerprintJson {
  n: number;
  random: number;
  rd: number;
  edns: number;
  bpcSum: number;
  firstLabelLengths: [number, number][];
  labelsPerName: [number, number][];
  qtypes: [number, number][];
  chars: number[];
  /** Absent before 2026-12-02, and until the accumulator reported a generator. */
  said?: string;
}

export const round = (x: number, digits = 4): number => Math.round(x * 10 ** digits) / 10 ** digits;
