// What a DNS decoder returns, and the checks every decoder (fast path, dns-packet) shares.

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

/** A decoding failure, thrown inside the decoders and returned as a DnsFailure. */
export class Malformed extends Error {
  constructor(
    readonly reason: MalformedDnsReason,
    readonly detail: string,
  ) {
    super(detail);
  }
}
// Thrown as shared instances: no stack capture per malformed packet under a garbage flood.
export const OVERFLOW = new Malformed('dns-label-overflow', 'Cannot decode name (buffer overflow)');
export const TOO_LONG = new Malformed('dns-name-too-long', 'Cannot decode name (name too long)');
export const BAD_POINTER = new Malformed('dns-bad-pointer', 'Cannot decode name (bad pointer)');
export const BAD_LABEL = new Malformed('dns-bad-label', 'Cannot decode name (bad label)');
export const SHORT_HEADER = new Malformed('dns-short-header', 'Header must be 12 bytes');
export const TRUNCATED = new Malformed('dns-truncated', 'message ends inside a fixed-size field');
export const NO_QUESTION: DnsFailure = { reason: 'dns-no-question', detail: 'QDCOUNT is 0' };

/** The summary of a decoded message: header flags read the same way by every decoder. */
export function summary(
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

export function fill(
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

export function copySummary(to: DnsSummary, from: DnsSummary): void {
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

/** Big-endian u16 at a position the caller has bounds-checked (readUInt16BE re-checks). */
export function u16(buf: Buffer, at: number): number {
  return (buf[at]! << 8) | buf[at + 1]!;
}

/** Up to this many announced entries, dns-packet's up-front arrays cost nothing worth guarding. */
const CHEAP_COUNTS = 64;
export const INFLATED = new Malformed(
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
export function inflatedCounts(buf: Buffer, start: number, end: number): boolean {
  const qd = u16(buf, start + 4);
  const rr = u16(buf, start + 6) + u16(buf, start + 8) + u16(buf, start + 10);
  return qd + rr > CHEAP_COUNTS && qd * 5 + rr * 11 > end - start - 12;
}
