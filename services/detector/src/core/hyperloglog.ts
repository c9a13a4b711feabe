// Module-scope binding: under jest's vm sandbox `Math.clz32` per add is a global lookup.
const { clz32, imul } = Math;

const EMPTY_SLOTS: number[] = [];

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
  /**
   * The sparse start as an insertion-ordered list with an open-addressing index into it (slot →
   * list position + 1), both plain small-integer arrays: what a Set<number> did — the same order
   * for checkpoints and merges — at half the cost for a tick of ~60 queries (a Set per tick and
   * zone, and its growth, were ~14 % of the detector's garbage). Typed arrays were slower here:
   * past 64 bytes their memory lives outside the heap, costly to allocate and free.
   */
  private sparse: number[] | null = [];
  private slots: number[];
  private readonly m: number;

  /**
   * `expected`: how many distinct hashes the caller expects (a zone's previous tick): the index
   * starts that large instead of being rebuilt at every doubling on the way (~13 MB of garbage
   * per 460k queries in the detector bench). It changes no result.
   */
  constructor(
    readonly p = 11,
    expected = 0,
  ) {
    if (p < 4 || p > 16) throw new RangeError(`HyperLogLog precision must be 4..16, got ${p}`);
    this.m = 1 << p;
    const room = Math.min(expected, this.m >>> 4);
    let size = 16;
    while (size < room * 2) size *= 2;
    this.slots = new Array<number>(size).fill(0);
  }

  /** Distinct hashes so far while sparse; once dense, the most a sparse one holds (a size hint). */
  get sparseSize(): number {
    return this.sparse ? this.sparse.length : this.m >>> 4;
  }

  add(hash: number): void {
    if (this.sparse) {
      // Signed: a 32-bit integer stays a small integer (no heap number per add); same bits.
      this.addSparse(hash | 0);
      // A sparse entry was costed at 16 bytes (a Set's): dense once that exceeds the registers.
      if (this.sparse.length > this.m >>> 4) this.densify();
      return;
    }
    this.addDense(hash);
  }

  private addSparse(h: number): void {
    let slots = this.slots;
    const list = this.sparse!;
    let mask = slots.length - 1;
    let j = imul(h, 0x9e3779b1) & mask;
    for (;;) {
      const at = slots[j]!;
      if (at === 0) break;
      if (list[at - 1] === h) return;
      j = (j + 1) & mask;
    }
    const n = list.length;
    list.push(h);
    // At most half full: re-index into a table twice the size (not for the entry that makes the
    // sketch dense: the table is dropped at once).
    if ((n + 1) * 2 > slots.length && n + 1 <= this.m >>> 4) {
      slots = this.slots = new Array<number>(slots.length * 2).fill(0);
      mask = slots.length - 1;
      const l = list;
      for (let i = 0; i <= n; i++) {
        let k = imul(l[i]!, 0x9e3779b1) & mask;
        while (slots[k] !== 0) k = (k + 1) & mask;
        slots[k] = i + 1;
      }
    } else slots[j] = n + 1;
  }

  /** The sparse hashes in insertion order. */
  private sparseHashes(): number[] {
    return this.sparse!;
  }

  private addDense(hash: number): void {
    const regs = this.registers!;
    const index = hash >>> (32 - this.p);
    const rest = (hash << this.p) >>> 0;
    const rank = rest === 0 ? 32 - this.p + 1 : clz32(rest) + 1;
    if (rank > regs[index]!) regs[index] = rank;
  }

  private densify(): void {
    const hashes = this.sparseHashes();
    this.sparse = null;
    this.slots = EMPTY_SLOTS;
    this.registers = new Uint8Array(this.m);
    for (let i = 0; i < hashes.length; i++) this.addDense(hashes[i]!);
  }

  merge(other: HyperLogLog): void {
    if (other.p !== this.p)
      throw new RangeError('cannot merge HyperLogLogs of different precision');
    if (other.sparse) {
      const hashes = other.sparseHashes();
      for (let i = 0; i < hashes.length; i++) this.add(hashes[i]!);
      return;
    }
    if (this.sparse) this.densify();
    const a = this.registers!;
    const b = other.registers!;
    for (let i = 0; i < a.length; i++) if (b[i]! > a[i]!) a[i] = b[i]!;
  }

  count(): number {
    if (this.sparse) return this.sparse.length;
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
    return this.sparse ? this.sparse.length * 16 : this.m;
  }

  toJSON(): { p: number; sparse?: number[]; dense?: string } {
    return this.sparse
      ? { p: this.p, sparse: Array.from(this.sparseHashes(), (h) => h >>> 0) }
      : { p: this.p, dense: Buffer.from(this.registers!).toString('base64') };
  }

  static fromJSON(json: { p: number; sparse?: number[]; dense?: string }): HyperLogLog {
    const h = new HyperLogLog(json.p);
    if (json.dense !== undefined) {
      h.sparse = null;
      h.slots = EMPTY_SLOTS;
      h.registers = new Uint8Array(Buffer.from(json.dense, 'base64'));
    } else {
      // add, not addSparse: a stored list past the sparse limit (only a damaged checkpoint holds
      // one) turns dense instead of filling the index, which stops growing at that limit.
      for (const x of json.sparse ?? []) h.add(x | 0);
    }
    return h;
  }
}
