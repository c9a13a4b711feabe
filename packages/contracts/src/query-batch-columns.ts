import { ErrorCodes, SluiceError } from './errors';
import { type QueryEvent, type Transport } from './query';
import {
  BINARY,
  F_APEX,
  F_CD,
  F_DO,
  F_EDNS,
  F_RCODE,
  F_RD,
  F_RELATIVE,
  F_ZONE,
  TRANSPORTS,
} from './query-batch-format';

/** How a row's name bytes relate to its zone (`QueryColumns.nameKind`). */
export const NameKind = {
  /** The bytes are the whole qname (it does not end with ".zone"). */
  full: 0,
  /** The bytes are the labels left of ".zone". */
  relative: 1,
  /** The qname is the zone itself; no bytes. */
  apex: 2,
} as const;

/** `QueryColumns.flags` bits (the wire's). */
export const QueryFlag = { rd: F_RD, cd: F_CD, do: F_DO } as const;

const f64 = new Float64Array(1);
const f64Bytes = new Uint8Array(f64.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Resolver names seen lately, by their bytes: a batch's dictionary reuses the very string an
 * earlier batch decoded. No new string per resolver and batch (half as many strings as queries
 * on a busy mix), and a consumer's Map keyed by resolver compares one pointer. Two-way set
 * associative (a name may sit in either slot of its pair; a new one takes the pair's less recently
 * used slot), so it stays 4096 names small whatever the traffic: direct-mapped, ~30 of 500 busy
 * resolvers shared a slot with another and evicted each other batch after batch (a new string each
 * time, and a miss in every consumer cache keyed by slot).
 */
const INTERN_SLOTS = 4096;
const INTERN_MAX_BYTES = 64;
const internStrings: string[] = new Array<string>(INTERN_SLOTS).fill('');
const internBytes = new Uint8Array(INTERN_SLOTS * INTERN_MAX_BYTES);
/** Byte length + 1 of the slot's name (0: empty). */
const internLength = new Uint8Array(INTERN_SLOTS);
/** Per pair: which of its two slots answered last (the other is evicted first). */
const internRecent = new Uint8Array(INTERN_SLOTS >> 1);
/**
 * Each slot's serial: a new one whenever the slot takes another name, never reused (a double
 * counts to 2^53). Equal (slot, serial) is the very same string: a consumer can key a
 * per-resolver cache on it without hashing the name (`QueryColumns.resolverSlot`).
 */
const internSerial = new Float64Array(INTERN_SLOTS);
let nextSerial = 1;
/** The slot internedUtf8's last answer came from (−1: too long to intern). */
let internedSlot = -1;
const { imul } = Math;

/** Whether slot holds exactly the n bytes at buf[at]. */
function internHolds(slot: number, buf: Buffer, at: number, n: number): boolean {
  if (internLength[slot] !== n + 1) return false;
  const base = slot * INTERN_MAX_BYTES;
  let k = 0;
  while (k < n && internBytes[base + k] === buf[at + k]) k++;
  return k === n;
}

function internedUtf8(buf: Buffer, at: number, n: number): string {
  internedSlot = -1;
  if (n > INTERN_MAX_BYTES) return buf.toString('utf8', at, at + n);
  let h = 0x811c9dc5;
  for (let k = 0; k < n; k++) h = imul(h ^ buf[at + k]!, 0x01000193);
  const pair = ((h ^ (h >>> 13)) & (INTERN_SLOTS - 1)) >> 1;
  let slot = pair << 1;
  if (internHolds(slot, buf, at, n) || internHolds(++slot, buf, at, n)) {
    internRecent[pair] = slot & 1;
    internedSlot = slot;
    return internStrings[slot]!;
  }
  slot = (pair << 1) | (internRecent[pair]! ^ 1);
  internRecent[pair] = slot & 1;
  internedSlot = slot;
  const s = buf.toString('utf8', at, at + n);
  const base = slot * INTERN_MAX_BYTES;
  for (let k = 0; k < n; k++) internBytes[base + k] = buf[at + k]!;
  internLength[slot] = n + 1;
  internStrings[slot] = s;
  internSerial[slot] = nextSerial++;
  return s;
}

function truncated(): never {
  throw new SluiceError(ErrorCodes.schema, 'binary query batch is truncated or corrupt');
}

/**
 * One sluice.queries.v1 batch as columns: typed arrays, the batch's resolver dictionary, and
 * names left as byte ranges of the batch itself. Decoding into the same columns again reuses
 * their arrays, so a consumer on the hot path allocates nothing per query — no QueryEvent, no
 * qname string (the detector's per-query cost was ~30 % garbage collection of exactly those).
 * Rows are valid until the next decode into these columns; `event(i)` materialises one.
 */
export class QueryColumns {
  source = '';
  zone = '';
  count = 0;
  /** The batch the name ranges point into. */
  bytes: Buffer = Buffer.alloc(0);
  resolvers: string[] = [];
  /**
   * Per `resolvers` entry: the decoder's intern slot (−1: not interned) and the slot's serial. The
   * same (slot, serial) in any later batch is the same resolver (the same string): a consumer's
   * per-resolver cache can be an array probed by slot, never hashing the name.
   */
  resolverSlot = new Int32Array(0);
  resolverSerial = new Float64Array(0);
  ts = new Float64Array(0);
  /** Index into `resolvers`. */
  resolver = new Uint32Array(0);
  resolverPort = new Uint16Array(0);
  /** Index into the contract's transports (udp, tcp, dot, doh, doq, unknown). */
  transport = new Uint8Array(0);
  /** QueryFlag bits. */
  flags = new Uint8Array(0);
  qtype = new Uint16Array(0);
  qclass = new Uint16Array(0);
  id = new Uint16Array(0);
  /** −1: no EDNS. */
  ednsSize = new Int32Array(0);
  /** −1: no response seen. */
  rcode = new Int16Array(0);
  /** −1: unknown (no response, or an encoding without answer counts). */
  ancount = new Int32Array(0);
  nameStart = new Uint32Array(0);
  nameEnd = new Uint32Array(0);
  /** NameKind of each row. */
  nameKind = new Uint8Array(0);
  /** A row's zone where it differs from the batch zone (rare); null when none does. */
  rowZones: (string | undefined)[] | null = null;

  /** Room for n rows (arrays only grow). */
  reserve(n: number): void {
    if (this.ts.length >= n) return;
    const size = Math.max(n, this.ts.length * 2, 64);
    this.ts = new Float64Array(size);
    this.resolver = new Uint32Array(size);
    this.resolverPort = new Uint16Array(size);
    this.transport = new Uint8Array(size);
    this.flags = new Uint8Array(size);
    this.qtype = new Uint16Array(size);
    this.qclass = new Uint16Array(size);
    this.id = new Uint16Array(size);
    this.ednsSize = new Int32Array(size);
    this.rcode = new Int16Array(size);
    this.ancount = new Int32Array(size);
    this.nameStart = new Uint32Array(size);
    this.nameEnd = new Uint32Array(size);
    this.nameKind = new Uint8Array(size);
  }

  zoneOf(i: number): string {
    return this.rowZones?.[i] ?? this.zone;
  }

  qname(i: number): string {
    const zone = this.zoneOf(i);
    const kind = this.nameKind[i];
    if (kind === NameKind.apex) return zone;
    const name = this.bytes.toString('utf8', this.nameStart[i], this.nameEnd[i]);
    return kind === NameKind.relative ? `${name}.${zone}` : name;
  }

  event(i: number): QueryEvent {
    const flags = this.flags[i]!;
    const rcode = this.rcode[i]!;
    const edns = this.ednsSize[i]!;
    const ancount = this.ancount[i]!;
    return {
      ts: this.ts[i]!,
      resolver: this.resolvers[this.resolver[i]!]!,
      resolverPort: this.resolverPort[i]!,
      transport: TRANSPORTS[this.transport[i]!] as Transport,
      qname: this.qname(i),
      qtype: this.qtype[i]!,
      qclass: this.qclass[i]!,
      rd: (flags & F_RD) !== 0,
      cd: (flags & F_CD) !== 0,
      do: (flags & F_DO) !== 0,
      ednsSize: edns < 0 ? null : edns,
      id: this.id[i]!,
      zone: this.zoneOf(i),
      rcode: rcode < 0 ? null : rcode,
      ancount: rcode < 0 || ancount < 0 ? null : ancount,
    };
  }
}

/**
 * The zones a batch's rows name (a partition's batch: tens to hundreds), each decoded once per
 * batch: the same string for every row of a zone, not a new one per row (garbage, and a hash
 * per lookup in the detector). Direct-mapped by a hash of the name's bytes, each slot stamped
 * with the batch it was filled in, so a new batch starts empty without clearing; two zones that
 * share a slot take turns in it (each row still gets its own zone's name).
 */
const ZONE_SLOTS = 1024;
const batchZones = {
  /** Counted as a double: it never wraps, so a slot filled from an older buffer never passes. */
  batch: 0,
  stamp: new Float64Array(ZONE_SLOTS),
  at: new Int32Array(ZONE_SLOTS),
  len: new Int32Array(ZONE_SLOTS),
  names: new Array<string>(ZONE_SLOTS).fill(''),
  /** A new batch (its rows' offsets are into its own buffer). */
  reset(): void {
    this.batch++;
  },
  read(buf: Buffer, at: number, len: number): string {
    let h = 0x811c9dc5;
    for (let k = 0; k < len; k++) h = imul(h ^ buf[at + k]!, 0x01000193);
    const slot = (h ^ (h >>> 15)) & (ZONE_SLOTS - 1);
    if (this.stamp[slot] === this.batch && this.len[slot] === len) {
      const from = this.at[slot]!;
      let k = 0;
      while (k < len && buf[from + k] === buf[at + k]) k++;
      if (k === len) return this.names[slot]!;
    }
    const name = buf.toString('utf8', at, at + len);
    this.stamp[slot] = this.batch;
    this.at[slot] = at;
    this.len[slot] = len;
    this.names[slot] = name;
    return name;
  },
};

/**
 * Read a binary batch (encodings 0x03 and 0x02) into `c`: the one reader of the binary format,
 * behind both decodeQueryBatch and decodeQueryColumns. Leaves `c.count` at 0 when it throws.
 */
export function readBinaryQueryBatch(buf: Buffer, c: QueryColumns): QueryColumns {
  const withAncount = buf[0] === BINARY;
  let at = 1;
  const end = buf.length;
  // Small integers while they fit in 28 bits (every varint but a 5-byte one): a double returned
  // from here is a heap number, and a row reads two or three varints.
  const varint = (): number => {
    let v = 0;
    let shift = 0;
    for (;;) {
      if (at >= end || shift > 28) truncated();
      const b = buf[at++]!;
      if (shift < 28) v |= (b & 0x7f) << shift;
      else v += (b & 0x7f) * 2 ** 28;
      if (b < 0x80) return v;
      shift += 7;
    }
  };
  const str = (): string => {
    const n = varint();
    if (at + n > end) truncated();
    const s = buf.toString('utf8', at, at + n);
    at += n;
    return s;
  };
  const u16 = (): number => {
    if (at + 2 > end) truncated();
    const v = buf[at]! | (buf[at + 1]! << 8);
    at += 2;
    return v;
  };
  c.count = 0;
  c.rowZones = null;
  batchZones.reset();
  c.bytes = buf;
  c.source = str();
  c.zone = str();
  const resolverCount = varint();
  if (resolverCount > end) truncated();
  const resolvers: string[] = (c.resolvers = new Array<string>(resolverCount));
  if (c.resolverSlot.length < resolverCount) {
    const size = Math.max(resolverCount, c.resolverSlot.length * 2, 16);
    c.resolverSlot = new Int32Array(size);
    c.resolverSerial = new Float64Array(size);
  }
  for (let i = 0; i < resolverCount; i++) {
    // The contract's checks the format itself cannot express: no empty resolver, a finite ts.
    const bytes = varint();
    if (bytes === 0 || at + bytes > end) truncated();
    const resolver = internedUtf8(buf, at, bytes);
    at += bytes;
    resolvers[i] = resolver;
    const slot = internedSlot;
    c.resolverSlot[i] = slot;
    c.resolverSerial[i] = slot >= 0 ? internSerial[slot]! : 0;
  }
  const n = varint();
  if (n * 16 > end) truncated();
  c.reserve(n);
  for (let i = 0; i < n; i++) {
    if (at + 8 > end) truncated();
    // Through a shared view, not readDoubleLE: that returns a fresh heap number per call.
    if (LITTLE_ENDIAN) for (let k = 0; k < 8; k++) f64Bytes[k] = buf[at + k]!;
    else for (let k = 0; k < 8; k++) f64Bytes[7 - k] = buf[at + k]!;
    const ts = f64[0]!;
    at += 8;
    const resolver = varint();
    const resolverPort = u16();
    if (at + 2 > end) truncated();
    const transport = buf[at++]!;
    const flags = buf[at++]!;
    if (resolver >= resolverCount || transport >= TRANSPORTS.length || !(ts >= 0 && ts < Infinity))
      truncated();
    c.ts[i] = ts;
    c.resolver[i] = resolver;
    c.resolverPort[i] = resolverPort;
    c.transport[i] = transport;
    c.flags[i] = flags & (F_RD | F_CD | F_DO);
    c.qtype[i] = u16();
    c.qclass[i] = u16();
    c.id[i] = u16();
    c.ednsSize[i] = flags & F_EDNS ? u16() : -1;
    let rcode = -1;
    let ancount = -1;
    if (flags & F_RCODE) {
      rcode = u16();
      if (rcode > 4095) truncated();
      if (withAncount) {
        const a = varint();
        if (a > 65536) truncated();
        ancount = a - 1;
      }
    }
    c.rcode[i] = rcode;
    c.ancount[i] = ancount;
    if (flags & F_ZONE) {
      const bytes = varint();
      if (at + bytes > end) truncated();
      (c.rowZones ??= new Array<string | undefined>(n))[i] = batchZones.read(buf, at, bytes);
      at += bytes;
    }
    if (flags & F_APEX) {
      c.nameKind[i] = NameKind.apex;
      c.nameStart[i] = c.nameEnd[i] = at;
    } else {
      const length = varint();
      if (at + length > end) truncated();
      c.nameKind[i] = flags & F_RELATIVE ? NameKind.relative : NameKind.full;
      c.nameStart[i] = at;
      c.nameEnd[i] = at += length;
    }
  }
  c.count = n;
  return c;
}
