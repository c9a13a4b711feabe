import { NameKind, QueryFlag, type QueryColumns, type QueryEvent } from '@sluice/contracts';
import { hash2Bytes, type Hash2 } from './hash';

/** A buffered query in a checkpoint: ts, resolver, qname, qtype, flags, rcode (−1), ancount (−1). */
export type PendingRow = [number, string, string, number, number, number, number];

// Read once: through the contracts package's re-export each use is a getter call per query.
const { relative: RELATIVE, apex: APEX } = NameKind;
const QUERY_RD = QueryFlag.rd;

/** `TickRows.flags` bits. */
export const ROW_RD = 1;
export const ROW_EDNS = 2;

const scratch: Hash2 = { h1: 0, h2: 0 };

/**
 * One tick of one zone's buffered queries, as columns: what the per-query pass reads and
 * nothing more. Each name is kept as the bytes of its subname (the labels left of the zone)
 * copied into an arena, so holding a tick costs ~50 bytes per query and no object — at 100k
 * queries/s and 1 s of allowed lateness a QueryEvent buffer was ~300k live objects and most of
 * the detector's garbage collection. Rows are reused: a zone recycles its closed ticks.
 */
export class TickRows {
  n = 0;
  ts: Float64Array;
  resolver: string[] = [];
  qtype: Uint16Array;
  flags: Uint8Array;
  /** −1: no response. */
  rcode: Int16Array;
  /** −1: unknown. */
  ancount: Int32Array;
  /** The zone's id for the row's resolver (ResolverIds; set by the zone detector, not here). */
  rid: Int32Array;
  subStart: Uint32Array;
  subEnd: Uint32Array;
  /**
   * hash2 of the row's subname (h1 as hash2 gives it, h2 as a signed 32-bit integer), made as the
   * row is buffered: the per-query pass reads it, and its tick's work starts without a walk over
   * each name whose result the next steps wait on (decode + detect 1.02–1.04× in process).
   */
  h1: Uint32Array;
  h2: Int32Array;
  arena: Buffer;
  private arenaAt = 0;
  /** A row's qname where it is not `sub.zone` (or the zone, for an empty sub): rare. */
  private odd: Map<number, string> | null = null;

  /**
   * `rows`: room to start with. A zone's detector passes the size of its busiest tick so far: a
   * flooded zone's buffers were otherwise grown by doubling, from 16 rows, every time one was
   * made anew (~2.5 % of the detector's CPU in the end-to-end bench).
   */
  constructor(
    readonly zone: string,
    rows = 16,
  ) {
    const n = Math.max(16, rows);
    this.ts = new Float64Array(n);
    this.qtype = new Uint16Array(n);
    this.flags = new Uint8Array(n);
    this.rcode = new Int16Array(n);
    this.ancount = new Int32Array(n);
    this.rid = new Int32Array(n);
    this.subStart = new Uint32Array(n);
    this.subEnd = new Uint32Array(n);
    this.h1 = new Uint32Array(n);
    this.h2 = new Int32Array(n);
    // Subnames average well under 16 bytes.
    this.arena = Buffer.allocUnsafe(Math.max(256, n * 16));
  }

  /** Rows it holds before growing. */
  get capacity(): number {
    return this.ts.length;
  }

  clear(): void {
    this.n = 0;
    this.arenaAt = 0;
    // resolver keeps its length (and its stale entries, overwritten row by row): truncating a JS
    // array gives its backing store back, and every tick would grow it again.
    this.odd = null;
  }

  /** The row's qname when it is not `sub.zone` (nor the zone itself), else undefined. */
  oddQname(i: number): string | undefined {
    return this.odd?.get(i);
  }

  /** The query's name as text (samples, evidence, the vocabulary's new entries). */
  qname(i: number): string {
    const odd = this.odd?.get(i);
    if (odd !== undefined) return odd;
    const start = this.subStart[i]!;
    const end = this.subEnd[i]!;
    return end > start ? `${this.arena.toString('utf8', start, end)}.${this.zone}` : this.zone;
  }

  /** Row i of decoded batch columns (whose zone is this one). */
  pushColumns(c: QueryColumns, i: number): void {
    const row = this.grow();
    this.ts[row] = c.ts[i]!;
    // An int32 index, checked against the length: a Uint32Array element used as a key straight
    // away made this load allocate per query (measured); the decoder checked the range already.
    const names = c.resolvers;
    const r = c.resolver[i]! | 0;
    this.resolver[row] = r < names.length ? names[r]! : '';
    this.qtype[row] = c.qtype[i]!;
    this.flags[row] = (c.flags[i]! & QUERY_RD ? ROW_RD : 0) | (c.ednsSize[i]! >= 0 ? ROW_EDNS : 0);
    const rcode = c.rcode[i]!;
    this.rcode[row] = rcode;
    this.ancount[row] = rcode < 0 ? -1 : c.ancount[i]!;
    const kind = c.nameKind[i];
    if (kind === RELATIVE) {
      this.copySub(row, c.bytes, c.nameStart[i]!, c.nameEnd[i]!);
    } else if (kind === APEX) {
      this.subStart[row] = this.subEnd[row] = this.arenaAt;
      this.hashRow(row);
    } else {
      // A qname that does not end with ".zone": as rare as it is odd, handled as text.
      this.pushText(row, c.qname(i));
    }
  }

  pushEvent(e: QueryEvent): void {
    const row = this.grow();
    this.ts[row] = e.ts;
    this.resolver[row] = e.resolver;
    this.qtype[row] = e.qtype;
    this.flags[row] = (e.rd ? ROW_RD : 0) | (e.ednsSize !== null ? ROW_EDNS : 0);
    this.rcode[row] = e.rcode ?? -1;
    this.ancount[row] = e.rcode === null ? -1 : (e.ancount ?? -1);
    this.pushText(row, e.qname);
  }

  /** Rows as a checkpoint stores them (waiting for the watermark when the snapshot was taken). */
  toJSON(): PendingRow[] {
    const out: PendingRow[] = [];
    for (let i = 0; i < this.n; i++)
      out.push([
        this.ts[i]!,
        this.resolver[i]!,
        this.qname(i),
        this.qtype[i]!,
        this.flags[i]!,
        this.rcode[i]!,
        this.ancount[i]!,
      ]);
    return out;
  }

  pushJSON([ts, resolver, qname, qtype, flags, rcode, ancount]: PendingRow): void {
    const row = this.grow();
    this.ts[row] = ts;
    this.resolver[row] = resolver;
    this.qtype[row] = qtype;
    this.flags[row] = flags;
    this.rcode[row] = rcode;
    this.ancount[row] = ancount;
    this.pushText(row, qname);
  }

  /** The subname is what the detector has always taken: the qname less ".zone" by length. */
  private pushText(row: number, q: string): void {
    const zone = this.zone;
    const sub = q.length > zone.length ? q.slice(0, q.length - zone.length - 1) : '';
    const plain =
      sub.length > 0
        ? q.charCodeAt(sub.length) === 0x2e &&
          q.endsWith(zone) &&
          q.length === sub.length + 1 + zone.length
        : q === zone;
    if (!plain) (this.odd ??= new Map()).set(row, q);
    const bytes = Buffer.byteLength(sub, 'utf8');
    this.reserveArena(bytes);
    this.subStart[row] = this.arenaAt;
    this.arenaAt += this.arena.write(sub, this.arenaAt, 'utf8');
    this.subEnd[row] = this.arenaAt;
    this.hashRow(row);
  }

  private hashRow(row: number): void {
    hash2Bytes(this.arena, this.subStart[row]!, this.subEnd[row]!, scratch);
    this.h1[row] = scratch.h1;
    this.h2[row] = scratch.h2;
  }

  private copySub(row: number, from: Uint8Array, start: number, end: number): void {
    const length = end - start;
    this.reserveArena(length);
    const arena = this.arena;
    let at = this.arenaAt;
    this.subStart[row] = at;
    // Names are short: a loop beats a native copy call at this size.
    for (let i = start; i < end; i++) arena[at++] = from[i]!;
    this.subEnd[row] = at;
    this.arenaAt = at;
    this.hashRow(row);
  }

  private reserveArena(bytes: number): void {
    if (this.arenaAt + bytes <= this.arena.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.arena.length * 2, this.arenaAt + bytes));
    this.arena.copy(next, 0, 0, this.arenaAt);
    this.arena = next;
  }

  private grow(): number {
    const row = this.n++;
    if (row < this.ts.length) return row;
    const size = this.ts.length * 2;
    this.ts = widened(this.ts, new Float64Array(size));
    this.qtype = widened(this.qtype, new Uint16Array(size));
    this.flags = widened(this.flags, new Uint8Array(size));
    this.rcode = widened(this.rcode, new Int16Array(size));
    this.ancount = widened(this.ancount, new Int32Array(size));
    this.rid = widened(this.rid, new Int32Array(size));
    this.subStart = widened(this.subStart, new Uint32Array(size));
    this.subEnd = widened(this.subEnd, new Uint32Array(size));
    this.h1 = widened(this.h1, new Uint32Array(size));
    this.h2 = widened(this.h2, new Int32Array(size));
    return row;
  }
}

/**
 * `a`'s rows copied into the larger `b`. At module level, not a closure in `grow`: a closure
 * over `size` made V8 allocate its context on every call, the fast path's too — once per
 * buffered query.
 */
function widened<
  T extends Float64Array | Uint32Array | Uint16Array | Uint8Array | Int16Array | Int32Array,
>(a: T, b: T): T {
  b.set(a);
  return b;
}

/** Nothing buffered: what a tick with no queries is scored from. */
export const NO_ROWS: TickRows = new TickRows('');

/** Rows the spare buffers of one zone (or shard) may hold between them beyond two (~3 MiB). */
const SPARE_ROWS = 65_536;

/**
 * A zone's closed ticks' buffers, kept for reuse: a busy zone allocates its buffers once. A
 * consumer catching up gets batches spanning tens of seconds of event time, so a zone holds
 * that many ticks at once; with only two kept, each batch made the rest anew (~3 % of the
 * pipeline's CPU in catch-up). Always two, more while they hold at most SPARE_ROWS rows between
 * them (a flooded zone's ticks are big) — never more than the zone held at once.
 */
export class TickRowsPool {
  /** Buffers made anew, process-wide (tests: closed ticks' buffers are reused). */
  static made = 0;
  private readonly spare: TickRows[] = [];
  private spareRows = 0;
  /** Rows in the busiest tick given back so far: what a new buffer starts with. */
  private busiest = 0;

  constructor(private readonly zone: string) {}

  take(): TickRows {
    const rows = this.spare.pop();
    if (rows) {
      this.spareRows -= rows.capacity;
      return rows;
    }
    TickRowsPool.made++;
    return new TickRows(this.zone, this.busiest);
  }

  /** A closed tick's buffer: kept (cleared) for the next tick, or left to the collector. */
  give(rows: TickRows): void {
    if (rows.n > this.busiest) this.busiest = rows.n;
    if (this.spare.length >= 2 && this.spareRows + rows.capacity > SPARE_ROWS) return;
    rows.clear();
    this.spare.push(rows);
    this.spareRows += rows.capacity;
  }
}
