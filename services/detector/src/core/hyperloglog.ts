// Module-scope binding: under jest's vm sandbox `Math.clz32` per add is a global lookup.
const { clz32 } = Math;

/** 1 / 2^r for every register value (exact: powers of two), read instead of divided. */
const INVERSE_POWERS = Float64Array.from({ length: 64 }, (_, r) => 1 / (1 << r));

/**
 * HyperLogLog unique counter (Flajolet et al. 2007) over a 32-bit hash, with a sparse start:
 * a low-volume tick keeps its exact hash set (a few bytes) and switches to 2^p one-byte
 * registers only when that would be smaller. Mergeable (register-wise max), so per-tick
 * sketches combine into any window. Standard error ≈ 1.04/√(2^p): 2.3 % at p = 11.
 */
export class HyperLogLog {
  private registers: Uint8Array | null = null;
  private sparse: Set<number> | null = new Set();
  private readonly m: number;

  constructor(readonly p = 11) {
    if (p < 4 || p > 16) throw new RangeError(`HyperLogLog precision must be 4..16, got ${p}`);
    this.m = 1 << p;
  }

  add(hash: number): void {
    if (this.sparse) {
      // Signed: a 32-bit integer stays a small integer (no heap number per add); same bits.
      this.sparse.add(hash | 0);
      // A Set entry costs ~16+ bytes: go dense once that exceeds the register array.
      if (this.sparse.size > this.m >>> 4) this.densify();
      return;
    }
    this.addDense(hash);
  }

  private addDense(hash: number): void {
    const regs = this.registers!;
    const index = hash >>> (32 - this.p);
    const rest = (hash << this.p) >>> 0;
    const rank = rest === 0 ? 32 - this.p + 1 : clz32(rest) + 1;
    if (rank > regs[index]!) regs[index] = rank;
  }

  private densify(): void {
    const hashes = this.sparse!;
    this.sparse = null;
    this.registers = new Uint8Array(this.m);
    for (const h of hashes) this.addDense(h);
  }

  merge(other: HyperLogLog): void {
    if (other.p !== this.p)
      throw new RangeError('cannot merge HyperLogLogs of different precision');
    if (other.sparse) {
      for (const h of other.sparse) this.add(h);
      return;
    }
    if (this.sparse) this.densify();
    const a = this.registers!;
    const b = other.registers!;
    for (let i = 0; i < a.length; i++) if (b[i]! > a[i]!) a[i] = b[i]!;
  }

  count(): number {
    if (this.sparse) return this.sparse.size;
    const regs = this.registers!;
    const m = this.m;
    let sum = 0;
    let zeros = 0;
    for (let i = 0; i < m; i++) {
      const r = regs[i]!;
      sum += INVERSE_POWERS[r]!;
      if (r === 0) zeros++;
    }
    const alpha = m >= 128 ? 0.7213 / (1 + 1.079 / m) : m === 64 ? 0.709 : m === 32 ? 0.697 : 0.673;
    let estimate = (alpha * m * m) / sum;
    if (estimate <= 2.5 * m && zeros > 0) estimate = m * Math.log(m / zeros);
    else if (estimate > 2 ** 32 / 30) estimate = -(2 ** 32) * Math.log(1 - estimate / 2 ** 32);
    return Math.round(estimate);
  }

  /** Bytes held (for memory accounting in tests and benchmarks). */
  get bytes(): number {
    return this.sparse ? this.sparse.size * 16 : this.m;
  }

  toJSON(): { p: number; sparse?: number[]; dense?: string } {
    return this.sparse
      ? { p: this.p, sparse: [...this.sparse].map((h) => h >>> 0) }
      : { p: this.p, dense: Buffer.from(this.registers!).toString('base64') };
  }

  static fromJSON(json: { p: number; sparse?: number[]; dense?: string }): HyperLogLog {
    const h = new HyperLogLog(json.p);
    if (json.dense !== undefined) {
      h.sparse = null;
      h.registers = new Uint8Array(Buffer.from(json.dense, 'base64'));
    } else {
      for (const x of json.sparse ?? []) h.sparse!.add(x | 0);
    }
    return h;
  }
}
