/**
 * "Has this zone seen this subname before?" in bounded memory: rotating Bloom filters. Names go into the current generation; a lookup checks both. When the current one
 * holds `capacity` names it becomes the previous one and a fresh one starts, so memory is
 * fixed (2 × capacity × ~9.6 bits at 1 % false positives) and a name is remembered for at
 * least `capacity` distinct insertions after it was last added.
 * Generations start small and double up to `capacity`, so a quiet zone costs kilobytes; the
 * outgrown small ones are all kept (they sum to less than the last) until a full-size one rotates.
 */
export interface SeenFilterOptions {
  capacity: number;
  falsePositiveRate?: number;
  initialCapacity?: number;
}

class Bloom {
  readonly bits: Uint32Array;
  readonly mBits: number;
  /** 2^32 mod mBits: what a probe position loses when h1 + i·h2 wraps past 32 bits. */
  private readonly wrap: number;
  count = 0;

  constructor(
    readonly capacity: number,
    readonly k: number,
    bitsPerItem: number,
    bits?: Uint32Array,
  ) {
    const m = Math.max(64, Math.ceil(capacity * bitsPerItem));
    this.mBits = Math.ceil(m / 32) * 32;
    this.wrap = 2 ** 32 % this.mBits;
    this.bits = bits ?? new Uint32Array(this.mBits / 32);
  }

  // Probe i is bit ((h1 + i·h2) mod 2^32) mod m. Walked incrementally — two divisions per name
  // instead of k (an integer division per probe was most of a lookup) — with the same positions:
  // x tracks the 32-bit sum, and when it wraps, the position drops by 2^32 mod m. The walk is
  // written out in both methods: a lookup of a never-seen name (every flood query, against every
  // generation) stops at its first clear bit, before the other positions are worked out.

  has(h1: number, h2: number): boolean {
    const m = this.mBits;
    const bits = this.bits;
    const step = h2 >>> 0;
    const stepMod = step % m;
    let x = h1 >>> 0;
    let bit = x % m;
    for (let i = 1; ; i++) {
      if ((bits[bit >>> 5]! & (1 << (bit & 31))) === 0) return false;
      if (i === this.k) return true;
      x += step;
      bit += stepMod;
      if (x >= 4294967296) {
        x -= 4294967296;
        bit -= this.wrap;
      }
      if (bit < 0) bit += m;
      else if (bit >= m) bit -= m;
    }
  }

  add(h1: number, h2: number): void {
    const m = this.mBits;
    const bits = this.bits;
    const step = h2 >>> 0;
    const stepMod = step % m;
    let x = h1 >>> 0;
    let bit = x % m;
    for (let i = 1; ; i++) {
      bits[bit >>> 5]! |= 1 << (bit & 31);
      if (i === this.k) break;
      x += step;
      bit += stepMod;
      if (x >= 4294967296) {
        x -= 4294967296;
        bit -= this.wrap;
      }
      if (bit < 0) bit += m;
      else if (bit >= m) bit -= m;
    }
    this.count++;
  }
}

export class SeenFilter {
  private current: Bloom;
  /** Older generations, newest first: outgrown small ones while growing, then exactly one. */
  private older: Bloom[] = [];
  private readonly k: number;
  private readonly bitsPerItem: number;
  rotations = 0;

  constructor(private readonly options: SeenFilterOptions) {
    const fpr = options.falsePositiveRate ?? 0.01;
    this.bitsPerItem = -Math.log(fpr) / Math.LN2 ** 2;
    this.k = Math.max(1, Math.round(this.bitsPerItem * Math.LN2));
    this.current = this.fresh(Math.min(options.capacity, options.initialCapacity ?? 4096));
  }

  private fresh(capacity: number): Bloom {
    return new Bloom(capacity, this.k, this.bitsPerItem);
  }

  has(h1: number, h2: number): boolean {
    if (this.current.has(h1, h2)) return true;
    for (const b of this.older) if (b.has(h1, h2)) return true;
    return false;
  }

  add(h1: number, h2: number): void {
    if (this.current.count >= this.current.capacity) {
      const full = this.current.capacity >= this.options.capacity;
      // Growing: keep every smaller generation. Full size: keep only the one just filled.
      this.older = full ? [this.current] : [this.current, ...this.older];
      this.current = this.fresh(Math.min(this.options.capacity, this.current.capacity * 2));
      this.rotations++;
    }
    this.current.add(h1, h2);
  }

  get bytes(): number {
    let b = this.current.bits.byteLength;
    for (const o of this.older) b += o.bits.byteLength;
    return b;
  }

  toJSON(): SeenFilterJson {
    const g = (b: Bloom) => ({
      capacity: b.capacity,
      count: b.count,
      bits: Buffer.from(b.bits.buffer, b.bits.byteOffset, b.bits.byteLength).toString('base64'),
    });
    return { current: g(this.current), older: this.older.map(g), rotations: this.rotations };
  }

  static fromJSON(options: SeenFilterOptions, json: SeenFilterJson): SeenFilter {
    const f = new SeenFilter(options);
    const load = (g: BloomJson) => {
      const buf = Buffer.from(g.bits, 'base64');
      const words = new Uint32Array(buf.byteLength / 4);
      Buffer.from(words.buffer).set(buf);
      const b = new Bloom(g.capacity, f.k, f.bitsPerItem, words);
      b.count = g.count;
      return b;
    };
    f.current = load(json.current);
    f.older = json.older.map(load);
    f.rotations = json.rotations;
    return f;
  }
}

interface BloomJson {
  capacity: number;
  count: number;
  bits: string;
}
export interface SeenFilterJson {
  current: BloomJson;
  older: BloomJson[];
  rotations: number;
}
