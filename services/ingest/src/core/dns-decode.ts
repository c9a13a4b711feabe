import { decodeDnsReference } from './dns-reference';
import * as shared from './dns-summary';
import {
  BAD_LABEL,
  BAD_POINTER,
  type DnsDecodeResult,
  type DnsFailure,
  type DnsSummary,
  emptyDnsSummary,
  INFLATED,
  Malformed,
  NO_QUESTION,
  OVERFLOW,
  SHORT_HEADER,
  TOO_LONG,
  TRUNCATED,
} from './dns-summary';

// The per-message helpers as module-scope bindings: called through the imported module object
// they cost the fast path 8-11 % more CPU (same-run A/B when this file was split).
const { copySummary, fill, inflatedCounts, u16 } = shared;

// The DNS decoders the ingest calls: a question-only fast path over scratch space, dns-packet
// (dns-reference.ts) for every shape it does not cover, and the response head for pairing.
export {
  type DnsDecodeResult,
  type DnsFailure,
  type DnsSummary,
  emptyDnsSummary,
  type MalformedDnsReason,
} from './dns-summary';
export { clientSubnetAddress, decodeDnsReference } from './dns-reference';

/** The fast path declines messages whose shape it does not cover; dns-packet decides those. */
const FALLBACK = Symbol('fallback');

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
