import * as dnsPacket from 'dns-packet';

/** What the ingest needs from one DNS message. */
export interface DnsSummary {
  id: number;
  isResponse: boolean;
  rd: boolean;
  cd: boolean;
  /** Header RCODE (4 bits). */
  rcode: number;
  /** Header ANCOUNT: a NOERROR response with none is NODATA. */
  ancount: number;
  /** First question, lower-cased, no trailing dot; '.' for the root. */
  qname: string;
  qtype: number;
  qclass: number;
  /** EDNS UDP payload size; null without an OPT record. */
  ednsSize: number | null;
  do: boolean;
}

export type MalformedDnsReason =
  | 'dns-short-header'
  | 'dns-truncated'
  | 'dns-label-overflow'
  | 'dns-bad-pointer'
  | 'dns-name-too-long'
  | 'dns-bad-label'
  | 'dns-no-question'
  | 'dns-malformed';

export type DnsDecodeResult =
  { ok: true; msg: DnsSummary } | { ok: false; reason: MalformedDnsReason; detail: string };

/** Why a message was not decoded (the *Into decoders return a shared one: no object per failure). */
export interface DnsFailure {
  readonly reason: MalformedDnsReason;
  readonly detail: string;
}

/** A DnsSummary to be filled by the *Into decoders (one per caller, reused for every message). */
export function emptyDnsSummary(): DnsSummary {
  return {
    id: 0,
    isResponse: false,
    rd: false,
    cd: false,
    rcode: 0,
    ancount: 0,
    qname: '',
    qtype: 0,
    qclass: 0,
    ednsSize: null,
    do: false,
  };
}

class Malformed extends Error {
  constructor(
    readonly reason: MalformedDnsReason,
    readonly detail: string,
  ) {
    super(detail);
  }
}
// Thrown as shared instances: no stack capture per malformed packet under a garbage flood.
const OVERFLOW = new Malformed('dns-label-overflow', 'Cannot decode name (buffer overflow)');
const TOO_LONG = new Malformed('dns-name-too-long', 'Cannot decode name (name too long)');
const BAD_POINTER = new Malformed('dns-bad-pointer', 'Cannot decode name (bad pointer)');
const BAD_LABEL = new Malformed('dns-bad-label', 'Cannot decode name (bad label)');
const SHORT_HEADER = new Malformed('dns-short-header', 'Header must be 12 bytes');
const TRUNCATED = new Malformed('dns-truncated', 'message ends inside a fixed-size field');
const NO_QUESTION: DnsFailure = { reason: 'dns-no-question', detail: 'QDCOUNT is 0' };
/** The fast path declines messages whose shape it does not cover; dns-packet decides those. */
const FALLBACK = Symbol('fallback');

function reasonOf(err: unknown): DnsDecodeResult {
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: unknown } | null)?.code;
  let reason: MalformedDnsReason = 'dns-malformed';
  if (message === 'Header must be 12 bytes') reason = 'dns-short-header';
  else if (message === 'Cannot decode name (buffer overflow)') reason = 'dns-label-overflow';
  else if (message === 'Cannot decode name (bad pointer)') reason = 'dns-bad-pointer';
  else if (message === 'Cannot decode name (name too long)') reason = 'dns-name-too-long';
  else if (message === 'Cannot decode name (bad label)') reason = 'dns-bad-label';
  else if (
    code === 'ERR_OUT_OF_RANGE' ||
    code === 'ERR_BUFFER_OUT_OF_BOUNDS' ||
    err instanceof RangeError
  )
    reason = 'dns-truncated';
  return { ok: false, reason, detail: message };
}

// dns-packet's own name tables (not re-exported by its index, nor typed by @types/dns-packet).
/* eslint-disable @typescript-eslint/no-require-imports */
const tables = {
  types: require('dns-packet/types') as { toType(name: string): number },
  classes: require('dns-packet/classes') as { toClass(name: string): number },
};
/* eslint-enable @typescript-eslint/no-require-imports */
function numericType(name: string): number {
  return name.startsWith('UNKNOWN_') ? Number(name.slice(8)) : tables.types.toType(name);
}
function numericClass(name: string): number {
  return name.startsWith('UNKNOWN_') ? Number(name.slice(8)) : tables.classes.toClass(name);
}

/** Up to this many announced entries, dns-packet's up-front arrays cost nothing worth guarding. */
const CHEAP_COUNTS = 64;
const INFLATED = new Malformed(
  'dns-truncated',
  'the header counts more questions and records than the message holds',
);

/**
 * A header announcing many more questions and records than the message can hold (a question
 * takes at least 5 bytes, a record 11): both decoders report it as dns-truncated up front.
 * dns-packet allocates an array per count before reading anything — ~2.5 ms and 2 MB for a
 * 44-byte datagram announcing 65,535 of each (found by the fuzz target) — and fails anyway.
 * (Capping the counts instead changed dns-packet's answer: a name may point into the header.)
 */
function inflatedCounts(buf: Buffer, start: number, end: number): boolean {
  const qd = u16(buf, start + 4);
  const rr = u16(buf, start + 6) + u16(buf, start + 8) + u16(buf, start + 10);
  return qd + rr > CHEAP_COUNTS && qd * 5 + rr * 11 > end - start - 12;
}

/** The reference decoder: dns-packet, reduced to a DnsSummary. */
export function decodeDnsReference(buf: Buffer): DnsDecodeResult {
  if (buf.length >= 12 && inflatedCounts(buf, 0, buf.length))
    return { ok: false, reason: INFLATED.reason, detail: INFLATED.detail };
  let packet: dnsPacket.DecodedPacket;
  try {
    packet = dnsPacket.decode(buf);
  } catch (err) {
    return reasonOf(err);
  }
  const q = packet.questions?.[0];
  if (!q) return { ok: false, reason: 'dns-no-question', detail: 'QDCOUNT is 0' };
  const opt = packet.additionals?.find((a) => a.type === 'OPT') as
    { udpPayloadSize: number; flag_do: boolean } | undefined;
  // dns-packet strips QR from `flags` and reports it as `type`.
  const flags = (packet.flags ?? 0) | (packet.type === 'response' ? 0x8000 : 0);
  return summary(
    packet.id ?? 0,
    flags,
    q.name.toLowerCase(),
    numericType(q.type),
    numericClass(q.class as string),
    opt ? opt.udpPayloadSize : null,
    opt ? opt.flag_do : false,
    packet.answers?.length ?? 0,
  );
}

/** The summary of a decoded message: header flags read the same way by every decoder. */
function summary(
  id: number,
  flags: number,
  qname: string,
  qtype: number,
  qclass: number,
  ednsSize: number | null,
  dnssecOk: boolean,
  ancount: number,
): { ok: true; msg: DnsSummary } {
  const msg = emptyDnsSummary();
  fill(msg, id, flags, qname, qtype, qclass, ednsSize, dnssecOk, ancount);
  return { ok: true, msg };
}

function fill(
  msg: DnsSummary,
  id: number,
  flags: number,
  qname: string,
  qtype: number,
  qclass: number,
  ednsSize: number | null,
  dnssecOk: boolean,
  ancount: number,
): void {
  msg.id = id;
  msg.isResponse = (flags & 0x8000) !== 0;
  msg.rd = (flags & 0x100) !== 0;
  msg.cd = (flags & 0x10) !== 0;
  msg.rcode = flags & 0xf;
  msg.ancount = ancount;
  msg.qname = qname;
  msg.qtype = qtype;
  msg.qclass = qclass;
  msg.ednsSize = ednsSize;
  msg.do = dnssecOk;
}

function copySummary(to: DnsSummary, from: DnsSummary): void {
  to.id = from.id;
  to.isResponse = from.isResponse;
  to.rd = from.rd;
  to.cd = from.cd;
  to.rcode = from.rcode;
  to.ancount = from.ancount;
  to.qname = from.qname;
  to.qtype = from.qtype;
  to.qclass = from.qclass;
  to.ednsSize = from.ednsSize;
  to.do = from.do;
}

// Scratch space for the name being read: lower-cased ASCII bytes with dots, and where each
// label sits in the message (for the rare non-ASCII name, decoded exactly like dns-packet).
const nameBytes = Buffer.alloc(256);
const labelAt = new Int32Array(128);
const labelLength = new Int32Array(128);
let nameLength = 0;
let labelCount = 0;
let nameAscii = true;

/**
 * Reads a name exactly as dns-packet's name.decode does (same checks, same order). The message
 * is buf[base, end): offsets are absolute in buf, compression pointers relative to base.
 */
function readName(buf: Buffer, base: number, end: number, start: number): number {
  // The scratch state lives in locals during the loop (module-level lets are memory slots that
  // V8 reloads and stores on every byte) and is published once the name is complete.
  const out = nameBytes;
  let offset = start;
  let oldOffset = start;
  let totalLength = 0;
  let consumed = 0;
  let jumped = false;
  let length = 0;
  let labels = 0;
  let ascii = true;
  for (;;) {
    if (offset >= end) throw OVERFLOW;
    const len = buf[offset++]!;
    if (!jumped) consumed++;
    if (len === 0) break;
    if ((len & 0xc0) === 0) {
      if (offset + len > end) throw OVERFLOW;
      totalLength += len + 1;
      if (totalLength > 254) throw TOO_LONG;
      labelAt[labels] = offset;
      labelLength[labels++] = len;
      if (length > 0) out[length++] = 0x2e;
      const labelEnd = offset + len;
      for (let i = offset; i < labelEnd; i++) {
        let c = buf[i]!;
        if (c >= 0x80) ascii = false;
        else if (c >= 0x41 && c <= 0x5a) c |= 0x20;
        out[length++] = c;
      }
      offset = labelEnd;
      if (!jumped) consumed += len;
    } else if ((len & 0xc0) === 0xc0) {
      if (offset + 1 > end) throw OVERFLOW;
      const jump = base + (((len & 0x3f) << 8) | buf[offset]!);
      if (jump >= oldOffset) throw BAD_POINTER;
      offset = jump;
      oldOffset = jump;
      if (!jumped) consumed++;
      jumped = true;
    } else {
      throw BAD_LABEL;
    }
  }
  nameLength = length;
  labelCount = labels;
  nameAscii = ascii;
  return start + consumed;
}

/** The text of the name readName just read: lower-cased, '.' for the root. */
function nameText(buf: Buffer): string {
  if (labelCount === 0) return '.';
  if (nameAscii) return nameBytes.toString('latin1', 0, nameLength);
  const labels: string[] = [];
  for (let i = 0; i < labelCount; i++)
    labels.push(buf.toString('utf8', labelAt[i], labelAt[i]! + labelLength[i]!));
  return labels.join('.').toLowerCase();
}

/** Big-endian u16 at a position the caller has bounds-checked (readUInt16BE re-checks). */
function u16(buf: Buffer, at: number): number {
  return (buf[at]! << 8) | buf[at + 1]!;
}

function need(end: number, at: number): void {
  if (at > end) throw TRUNCATED;
}

/**
 * Question-only fast path. Covers the shape of (almost) every query an authoritative server
 * receives — questions, no answer/authority records, at most one additional record that is an
 * OPT — and returns FALLBACK for anything else. Proven equal to decodeDnsReference by the
 * property test in dns-decode.spec.ts, malformed inputs included.
 */
export function decodeDnsFast(
  buf: Buffer,
  start = 0,
  end = buf.length,
): DnsDecodeResult | typeof FALLBACK {
  const msg = emptyDnsSummary();
  const failure = decodeFastInto(buf, start, end, msg);
  if (failure === FALLBACK) return FALLBACK;
  return failure === null
    ? { ok: true, msg }
    : { ok: false, reason: failure.reason, detail: failure.detail };
}

/** decodeDnsFast into `out`: null when decoded (out filled), else why not, or FALLBACK. */
function decodeFastInto(
  buf: Buffer,
  start: number,
  end: number,
  out: DnsSummary,
): DnsFailure | null | typeof FALLBACK {
  try {
    if (end - start < 12) throw SHORT_HEADER;
    if (inflatedCounts(buf, start, end)) throw INFLATED;
    const flags = u16(buf, start + 2);
    const qdcount = u16(buf, start + 4);
    if (u16(buf, start + 6) !== 0 || u16(buf, start + 8) !== 0) return FALLBACK;
    const arcount = u16(buf, start + 10);
    if (arcount > 1) return FALLBACK;
    let offset = start + 12;
    let qname = '';
    let qtype = 0;
    let qclass = 0;
    for (let i = 0; i < qdcount; i++) {
      offset = readName(buf, start, end, offset);
      need(end, offset + 4);
      if (i === 0) {
        qname = nameText(buf);
        qtype = u16(buf, offset);
        qclass = u16(buf, offset + 2);
      }
      offset += 4;
    }
    let ednsSize: number | null = null;
    let dnssecOk = false;
    if (arcount === 1) {
      offset = readName(buf, start, end, offset);
      need(end, offset + 2);
      if (u16(buf, offset) !== 41) return FALLBACK;
      need(end, offset + 10);
      ednsSize = u16(buf, offset + 2);
      dnssecOk = (buf[offset + 6]! & 0x80) !== 0;
      let rdlen = u16(buf, offset + 8);
      let o = offset + 10;
      while (rdlen > 0) {
        need(end, o + 4);
        const code = u16(buf, o);
        // ECS, KEEP-ALIVE and KEY-TAG have per-option decoders in dns-packet: let it judge them.
        if (code === 8 || code === 11 || code === 14) return FALLBACK;
        const optionLength = u16(buf, o + 2);
        o += optionLength + 4;
        rdlen -= optionLength + 4;
      }
    }
    if (qdcount === 0) return NO_QUESTION;
    // ANCOUNT is 0 here: messages with answers take the reference path.
    fill(out, u16(buf, start), flags, qname, qtype, qclass, ednsSize, dnssecOk, 0);
    return null;
  } catch (err) {
    if (err instanceof Malformed) return err;
    throw err;
  }
}

/**
 * Decode the DNS message buf[start, end): the fast path where it applies, dns-packet otherwise.
 * Never throws. Decoding in place spares the capture path a Buffer view per packet.
 */
export function decodeDns(buf: Buffer, start = 0, end = buf.length): DnsDecodeResult {
  const fast = decodeDnsFast(buf, start, end);
  if (fast !== FALLBACK) return fast;
  return decodeDnsReference(buf.subarray(start, end));
}

/**
 * decodeDns() into `out` (the hot path: no result objects per message). Null when decoded,
 * else why not; `out` is then unspecified.
 */
export function decodeDnsInto(
  buf: Buffer,
  start: number,
  end: number,
  out: DnsSummary,
): DnsFailure | null {
  const failure = decodeFastInto(buf, start, end, out);
  if (failure !== FALLBACK) return failure;
  const reference = decodeDnsReference(buf.subarray(start, end));
  if (!reference.ok) return reference;
  copySummary(out, reference.msg);
  return null;
}

export { FALLBACK as DNS_FALLBACK };

/**
 * Responses: only the header (id, flags, RCODE, ANCOUNT) and the first question matter — the answer
 * records are the server's, not the resolver's, so they are not decoded (nor judged).
 */
export function decodeDnsResponse(buf: Buffer, start = 0, end = buf.length): DnsDecodeResult {
  const msg = emptyDnsSummary();
  const failure = decodeResponseHeadInto(buf, start, end, msg);
  if (failure !== null) return { ok: false, reason: failure.reason, detail: failure.detail };
  msg.qname = responseQname(buf);
  return { ok: true, msg };
}

/**
 * decodeDnsResponse() into `out`, except the name: out.qname is left alone, the name stays in
 * scratch space for responseQnameIs() / responseQname(), which must be called before anything
 * else is decoded. A response paired with its query never needs its name as a string.
 */
export function decodeResponseHeadInto(
  buf: Buffer,
  start: number,
  end: number,
  out: DnsSummary,
): DnsFailure | null {
  try {
    if (end - start < 12) throw SHORT_HEADER;
    const flags = u16(buf, start + 2);
    if (u16(buf, start + 4) === 0) return NO_QUESTION;
    const offset = readName(buf, start, end, start + 12);
    need(end, offset + 4);
    fill(
      out,
      u16(buf, start),
      flags,
      out.qname,
      u16(buf, offset),
      u16(buf, offset + 2),
      null,
      false,
      u16(buf, start + 6),
    );
    return null;
  } catch (err) {
    if (err instanceof Malformed) return err;
    throw err;
  }
}

/** The name decodeResponseHeadInto just read, as decodeDnsResponse gives it. */
export function responseQname(buf: Buffer): string {
  return nameText(buf);
}

/** responseQname(buf) === qname, without making the string (for ASCII names). */
export function responseQnameIs(buf: Buffer, qname: string): boolean {
  if (labelCount === 0 || !nameAscii) return nameText(buf) === qname;
  const n = nameLength;
  if (qname.length !== n) return false;
  const bytes = nameBytes;
  for (let i = 0; i < n; i++) if (qname.charCodeAt(i) !== bytes[i]) return false;
  return true;
}

/**
 * The EDNS Client Subnet address of a query, if any. dnsdist's TeeAction(…, addECS=true) puts
 * the original client there; the mirror copy itself comes from dnsdist's own address.
 */
export function clientSubnetAddress(buf: Buffer): string | null {
  if (buf.length < 12 || buf.readUInt16BE(10) === 0 || inflatedCounts(buf, 0, buf.length))
    return null;
  try {
    const packet = dnsPacket.decode(buf);
    for (const rr of packet.additionals ?? []) {
      if (rr.type !== 'OPT') continue;
      for (const option of (rr as { options?: { code: number; ip?: string }[] }).options ?? []) {
        if (option.code === 8 && option.ip) return option.ip;
      }
    }
  } catch {
    // malformed: the normal decode path counts it
  }
  return null;
}
