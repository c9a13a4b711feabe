// Module-scope aliases: under jest's vm sandbox every `Math.x` in a hot loop is a slow
// global lookup (hash2 ran ~100× slower); a local binding is not.
const { cos, exp, floor, imul, log, max, pow, round, sqrt } = Math;

/**
 * Small seeded PRNG (sfc32 seeded through splitmix32): the same seed gives the same traffic on
 * every machine and Node version, which Math.random cannot promise.
 */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number | string) {
    let s = typeof seed === 'number' ? seed >>> 0 : hashString(seed);
    const next = () => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = imul(z ^ (z >>> 16), 0x85ebca6b);
      z = imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    for (let i = 0; i < 12; i++) this.nextU32();
  }

  nextU32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** Integer in [min, max] inclusive. */
  int(min: number, max: number): number {
    return min + floor(this.next() * (max - min + 1));
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty list');
    return items[floor(this.next() * items.length)]!;
  }

  chars(alphabet: string, length: number): string {
    let out = '';
    for (let i = 0; i < length; i++) out += alphabet[floor(this.next() * alphabet.length)]!;
    return out;
  }

  /** Poisson-distributed count (normal approximation above 50, exact below). */
  poisson(mean: number): number {
    if (mean <= 0) return 0;
    if (mean > 50) {
      const u = max(this.next(), 1e-12);
      const v = this.next();
      const z = sqrt(-2 * log(u)) * cos(2 * Math.PI * v);
      return max(0, round(mean + z * sqrt(mean)));
    }
    const limit = exp(-mean);
    let k = 0;
    let p = this.next();
    while (p > limit) {
      k++;
      p *= this.next();
    }
    return k;
  }

  /** A child generator whose sequence depends only on this seed and `label`. */
  fork(label: string): Rng {
    return new Rng((this.seedMaterial() ^ hashString(label)) >>> 0);
  }

  private seedMaterial(): number {
    return (this.a ^ imul(this.b, 31) ^ imul(this.c, 17) ^ this.d) >>> 0;
  }
}

export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Zipf(s) sampler over ranks 0..n-1 via a precomputed CDF (n is a vocabulary size, small). */
export class Zipf {
  private readonly cdf: Float64Array;

  constructor(n: number, s = 1.05) {
    this.cdf = new Float64Array(n);
    let total = 0;
    for (let i = 0; i < n; i++) {
      total += 1 / pow(i + 1, s);
      this.cdf[i] = total;
    }
    for (let i = 0; i < n; i++) this.cdf[i]! /= total;
  }

  sample(rng: Rng): number {
    const u = rng.next();
    let lo = 0;
    let hi = this.cdf.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.cdf[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
