import { ErrorCodes, SluiceError } from './errors';
import { queryBatchSchema, type QueryBatch, type QueryEvent, type Transport } from './query';
import { QueryColumns, readBinaryQueryBatch } from './query-batch-columns';
import {
  BINARY,
  BINARY_V2,
  F_APEX,
  F_CD,
  F_DO,
  F_EDNS,
  F_RCODE,
  F_RD,
  F_RELATIVE,
  F_ZONE,
  JSON_FIRST,
  TRANSPORT_INDEX,
  TRANSPORTS,
} from './query-batch-format';

/**
 * Wire encoding of sluice.queries.v1 values. Every consumer MUST use these two functions:
 * the encoding can then change (chosen by benchmark) without touching consumers, as long as
 * decodeQueryBatch keeps reading every encoding ever published. The first byte tells which.
 *
 * Encoding 1 — UTF-8 JSON of QueryBatch (first byte '{', 0x7b). Still read; written with
 *   `encodeQueryBatch(batch, 'json')`.
 *
 * Encoding 2 — compact binary, the default since the ingest benchmark
 *   (docs/benchmarks/ingest-replay.md) measured it ~3–4× faster to encode and decode and
 *   ~3× smaller than JSON. All integers little-endian; `varint` is unsigned LEB128; `str` is
 *   varint byte length + UTF-8.
 *
 *     u8      0x03 (0x02: the same without ancount; still read)
 *     str     source
 *     str     zone                      (the batch zone = the Kafka key)
 *     varint  resolver count R, then R × str   (distinct resolver addresses, first-seen order)
 *     varint  event count N, then N events:
 *       f64   ts                        (epoch ms, fraction kept exactly)
 *       varint resolver index (into the R strings)
 *       u16   resolverPort
 *       u8    transport index: 0 udp, 1 tcp, 2 dot, 3 doh, 4 doq, 5 unknown
 *       u8    flags: 1 rd, 2 cd, 4 do, 8 has ednsSize, 16 has rcode, 32 zone differs from
 *             the batch zone, 64 qname is stored relative to the zone, 128 qname equals zone
 *       u16   qtype, u16 qclass, u16 id
 *       u16   ednsSize                  (if flag 8)
 *       u16   rcode                     (if flag 16)
 *       varint ancount + 1, 0 = unknown    (if flag 16; not in 0x02)
 *       str   zone                      (if flag 32)
 *       str   qname, or the labels left of ".zone" (flag 64), or nothing (flag 128)
 */
export type QueryBatchEncoding = 'binary' | 'json';

export function encodeQueryBatch(
  batch: QueryBatch,
  encoding: QueryBatchEncoding = 'binary',
): Buffer {
  return encoding === 'json' ? Buffer.from(JSON.stringify(batch)) : encodeBinary(batch);
}

export function decodeQueryBatch(raw: Buffer): QueryBatch {
  if (raw.length > 0 && (raw[0] === BINARY || raw[0] === BINARY_V2)) return decodeBinary(raw);
  if (raw.length > 0 && raw[0] === JSON_FIRST) {
    let json: unknown;
    try {
      json = JSON.parse(raw.toString('utf8'));
    } catch (cause) {
      throw new SluiceError(ErrorCodes.schema, 'query batch is not valid JSON', { cause });
    }
    const parsed = queryBatchSchema.safeParse(json);
    if (!parsed.success)
      throw new SluiceError(
        ErrorCodes.schema,
        `query batch does not match its schema: ${parsed.error.message}`,
      );
    return parsed.data;
  }
  throw new SluiceError(
    ErrorCodes.schema,
    `unknown query batch encoding (first byte 0x${(raw[0] ?? 0).toString(16)})`,
  );
}

class Writer {
  buf: Buffer;
  at = 0;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }

  ensure(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(next, 0, 0, this.at);
    this.buf = next;
  }

  u8(v: number): void {
    this.buf[this.at++] = v;
  }

  u16(v: number): void {
    this.buf[this.at++] = v & 0xff;
    this.buf[this.at++] = v >>> 8;
  }

  varint(v: number): void {
    while (v > 0x7f) {
      this.buf[this.at++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[this.at++] = v;
  }

  str(s: string): void {
    this.strPrefix(s, s.length);
  }

  /** The first `n` chars of `s` as a str (saves slicing a relative qname off its zone). */
  strPrefix(s: string, n: number): void {
    this.ensure(n * 3 + 5);
    if (n < 128) {
      // Short ASCII (every DNS name, every address) is copied by hand: cheaper than a call
      // into the native UTF-8 encoder; the first non-ASCII char falls back to it.
      const buf = this.buf;
      const start = this.at + 1;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        buf[start + i] = c;
      }
      if (i === n) {
        buf[this.at] = n;
        this.at = start + n;
        return;
      }
    }
    const part = n === s.length ? s : s.slice(0, n);
    const bytes = Buffer.byteLength(part, 'utf8');
    this.varint(bytes);
    this.at += this.buf.write(part, this.at, 'utf8');
  }
}

// ts is written through a shared float view: Buffer#writeDoubleLE costs a call and its checks
// per event. Byte order is fixed little-endian on the wire, so big-endian hosts swap.
const f64 = new Float64Array(1);
const f64Bytes = new Uint8Array(f64.buffer);
const hostLittleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function transportIndex(t: Transport): number {
  if (t === 'udp') return 0;
  if (t === 'tcp') return 1;
  return TRANSPORT_INDEX.get(t) ?? TRANSPORTS.length - 1;
}

/**
 * Builds one encoding-2 batch event by event, so a producer never holds QueryEvent objects
 * for the life of a batch (they die young, which keeps garbage collection cheap at high rates).
 */
export class QueryBatchBuilder {
  private readonly rows = new Writer(4096);
  private resolvers = new Map<string, number>();
  private readonly dictionary = new Writer(256);
  count = 0;

  constructor(
    public source: string,
    public zone: string,
  ) {}

  /**
   * Start a new batch in this builder after finish(): a producer that recycles builders keeps
   * their grown buffers instead of allocating (and growing) fresh ones for every batch.
   */
  reset(source: string, zone: string): void {
    this.source = source;
    this.zone = zone;
    this.rows.at = 0;
    this.dictionary.at = 0;
    this.resolvers = new Map();
    this.count = 0;
  }

  /** Bytes so far (for size-based batch limits). */
  get byteLength(): number {
    return this.rows.at + this.dictionary.at + 16;
  }

  add(e: QueryEvent): void {
    const w = this.rows;
    let resolver = this.resolvers.get(e.resolver);
    if (resolver === undefined) {
      resolver = this.resolvers.size;
      this.resolvers.set(e.resolver, resolver);
      this.dictionary.str(e.resolver);
    }
    w.ensure(40);
    const buf = w.buf;
    let at = w.at;
    f64[0] = e.ts;
    if (hostLittleEndian) {
      for (let i = 0; i < 8; i++) buf[at + i] = f64Bytes[i]!;
    } else {
      for (let i = 0; i < 8; i++) buf[at + i] = f64Bytes[7 - i]!;
    }
    at += 8;
    if (resolver < 0x80) {
      buf[at++] = resolver;
      w.at = at;
    } else {
      w.at = at;
      w.varint(resolver);
      at = w.at;
    }
    const port = e.resolverPort;
    buf[at] = port & 0xff;
    buf[at + 1] = port >>> 8;
    buf[at + 2] = transportIndex(e.transport);
    let flags = (e.rd ? F_RD : 0) | (e.cd ? F_CD : 0) | (e.do ? F_DO : 0);
    const ednsSize = e.ednsSize;
    const rcode = e.rcode;
    if (ednsSize !== null) flags |= F_EDNS;
    if (rcode !== null) flags |= F_RCODE;
    const zone = e.zone;
    if (zone !== this.zone) flags |= F_ZONE;
    const name = e.qname;
    let nameLength = name.length;
    if (name === zone) {
      flags |= F_APEX;
    } else if (
      zone !== '.' &&
      nameLength > zone.length + 1 &&
      name.charCodeAt(nameLength - zone.length - 1) === 0x2e &&
      name.endsWith(zone)
    ) {
      flags |= F_RELATIVE;
      nameLength -= zone.length + 1;
    }
    buf[at + 3] = flags;
    const qtype = e.qtype;
    const qclass = e.qclass;
    const id = e.id;
    buf[at + 4] = qtype & 0xff;
    buf[at + 5] = qtype >>> 8;
    buf[at + 6] = qclass & 0xff;
    buf[at + 7] = qclass >>> 8;
    buf[at + 8] = id & 0xff;
    buf[at + 9] = id >>> 8;
    at += 10;
    if (ednsSize !== null) {
      buf[at++] = ednsSize & 0xff;
      buf[at++] = ednsSize >>> 8;
    }
    if (rcode !== null) {
      buf[at++] = rcode & 0xff;
      buf[at++] = rcode >>> 8;
      const ancount = e.ancount;
      const a = ancount === null || ancount === undefined ? 0 : ancount + 1;
      if (a < 0x80) buf[at++] = a;
      else {
        w.at = at;
        w.varint(a);
        at = w.at;
      }
    }
    w.at = at;
    if (flags & F_ZONE) w.str(zone);
    if (!(flags & F_APEX)) w.strPrefix(name, nameLength);
    this.count++;
  }

  finish(): Buffer {
    const head = new Writer(32 + this.source.length * 3 + this.zone.length * 3);
    head.u8(BINARY);
    head.str(this.source);
    head.str(this.zone);
    head.ensure(10);
    head.varint(this.resolvers.size);
    const middle = new Writer(8);
    middle.varint(this.count);
    return Buffer.concat([
      head.buf.subarray(0, head.at),
      this.dictionary.buf.subarray(0, this.dictionary.at),
      middle.buf.subarray(0, middle.at),
      this.rows.buf.subarray(0, this.rows.at),
    ]);
  }
}

function encodeBinary(batch: QueryBatch): Buffer {
  const builder = new QueryBatchBuilder(batch.source, batch.zone);
  for (const e of batch.events) builder.add(e);
  return builder.finish();
}

/**
 * Decode a sluice.queries.v1 value into columns (every encoding decodeQueryBatch reads, with
 * the same checks and errors). The binary encodings are read in place; JSON batches are
 * validated by decodeQueryBatch and re-encoded first (a legacy path, not a fast one).
 */
export function decodeQueryColumns(raw: Buffer, into = new QueryColumns()): QueryColumns {
  into.count = 0;
  if (raw.length > 0 && (raw[0] === BINARY || raw[0] === BINARY_V2))
    return readBinaryQueryBatch(raw, into);
  return readBinaryQueryBatch(encodeBinary(decodeQueryBatch(raw)), into);
}

function decodeBinary(buf: Buffer): QueryBatch {
  const c = readBinaryQueryBatch(buf, new QueryColumns());
  const events = new Array<QueryEvent>(c.count);
  for (let i = 0; i < c.count; i++) events[i] = c.event(i);
  return { v: 1, source: c.source, zone: c.zone, events };
}
