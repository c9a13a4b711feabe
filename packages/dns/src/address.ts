// isIPv4/isIPv6 are pure string checks (the core lint rule allows exactly these from node:net).
import { isIPv4, isIPv6 } from 'node:net';

/**
 * One address in two forms. Bytes (4 or 16) are what the wire and masks use; ParsedIp keeps IPv4
 * a plain number and IPv6 one 128-bit bigint, for range tables that compare and binary-search.
 */
export type ParsedIp = { family: 4; value: number } | { family: 6; value: bigint };

const MASK64 = (1n << 64n) - 1n;

export function parseIpv4(text: string): number | null {
  if (!isIPv4(text)) return null;
  const parts = text.split('.');
  return (
    ((Number(parts[0]) << 24) >>> 0) +
    (Number(parts[1]) << 16) +
    (Number(parts[2]) << 8) +
    Number(parts[3])
  );
}

/** An IPv6 address (zone id ignored, dotted IPv4 tail allowed) as one 128-bit value. */
export function parseIpv6(input: string): bigint | null {
  if (!parseIpv6Into(input, scratch)) return null;
  return (scratchView.getBigUint64(0) << 64n) | scratchView.getBigUint64(8);
}

const scratch = new Uint8Array(16);
const scratchView = new DataView(scratch.buffer);

/** Writes the 16 bytes of an IPv6 address into `out`; false (out undefined) when it is not one. */
function parseIpv6Into(input: string, out: Uint8Array): boolean {
  // Zone ids (fe80::1%eth0) name an interface, not part of the address.
  const text = input.includes('%') ? input.slice(0, input.indexOf('%')) : input;
  if (!isIPv6(text)) return false;
  let head = text;
  let tailV4 = -1;
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    const v4 = parseIpv4(text.slice(lastColon + 1));
    if (v4 === null) return false;
    tailV4 = v4;
    head = text.slice(0, lastColon + 1) + '0:0';
  }
  const [left = '', right] = head.split('::');
  const leftGroups = left === '' ? [] : left.split(':');
  const rightGroups = right === undefined || right === '' ? [] : right.split(':');
  // isIPv6 has checked the shape: at most 8 groups of at most 4 hex digits, :: at most once.
  out.fill(0);
  const put = (i: number, word: number) => {
    out[i * 2] = word >>> 8;
    out[i * 2 + 1] = word & 0xff;
  };
  for (let i = 0; i < leftGroups.length; i++) put(i, parseInt(leftGroups[i]!, 16));
  const base = 8 - rightGroups.length;
  for (let i = 0; i < rightGroups.length; i++) put(base + i, parseInt(rightGroups[i]!, 16));
  if (tailV4 >= 0) {
    put(6, tailV4 >>> 16);
    put(7, tailV4 & 0xffff);
  }
  return true;
}

/**
 * Parse either family. IPv4-mapped IPv6 (::ffff:a.b.c.d) is returned as IPv4: dual-stack
 * sockets report IPv4 resolvers that way, and they must get IPv4 answers.
 */
export function parseIp(text: string): ParsedIp | null {
  const v4 = parseIpv4(text);
  if (v4 !== null) return { family: 4, value: v4 };
  const v6 = parseIpv6(text);
  if (v6 === null) return null;
  if (v6 >> 32n === 0xffffn) return { family: 4, value: Number(v6 & 0xffffffffn) };
  return { family: 6, value: v6 };
}

/** 4 bytes for IPv4 text, 16 for IPv6 (IPv4-mapped included: the text's family is kept). */
export function parseIpBytes(text: string): Uint8Array | null {
  const v4 = parseIpv4(text);
  if (v4 !== null) return Uint8Array.of(v4 >>> 24, (v4 >>> 16) & 255, (v4 >>> 8) & 255, v4 & 255);
  const out = new Uint8Array(16);
  return parseIpv6Into(text, out) ? out : null;
}

/**
 * Text form of a 4- or 16-byte address (IPv6 per RFC 5952: lower case, longest zero run as ::,
 * IPv4-mapped with its dotted tail). Null for any other length. This is ingest's per-packet path.
 */
export function formatIpBytes(
  bytes: Uint8Array,
  offset = 0,
  length = bytes.length - offset,
): string | null {
  if (length === 4) {
    return `${bytes[offset]}.${bytes[offset + 1]}.${bytes[offset + 2]}.${bytes[offset + 3]}`;
  }
  if (length !== 16) return null;
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((bytes[offset + i]! << 8) | bytes[offset + i + 1]!);
  // IPv4-mapped (::ffff:a.b.c.d) keeps its dotted tail, as every tool prints it.
  if (words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff) {
    return `::ffff:${bytes[offset + 12]}.${bytes[offset + 13]}.${bytes[offset + 14]}.${bytes[offset + 15]}`;
  }
  const run = longestZeroRun(words);
  const hex = words.map((w) => w.toString(16));
  if (run < 0) return hex.join(':');
  const start = run >> 4;
  return `${hex.slice(0, start).join(':')}::${hex.slice(start + (run & 15)).join(':')}`;
}

/**
 * Where `::` goes (RFC 5952 4.2.2–4.2.3): the longest run of two or more zero words, the first of
 * equal runs; encoded as start << 4 | length (no allocation on the hot path), -1 for none.
 */
export function longestZeroRun(words: ArrayLike<number>): number {
  let bestStart = -1;
  let bestLength = 1; // a single zero word is not compressed
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  return bestStart < 0 ? -1 : (bestStart << 4) | bestLength;
}

/**
 * Text of addresses read straight out of packets, each address formatted once and then found by
 * its bits: an open-addressing table per family (IPv4 keyed by the 32-bit value, IPv6 by its four
 * 32-bit words), so a lookup allocates nothing and hashes no string. The same address always
 * gives the same string object, so callers may compare addresses with `===` cheaply. The tables
 * start small and double as addresses arrive (a decoder per capture file: a full-size table up
 * front was 85 % of the time of a short capture); bounded: a table at its limit starts over (a
 * flood comes from a limited set of resolvers).
 */
export class AddressTexts {
  private v4Bits = V4_MIN_BITS;
  private v4Keys = new Int32Array(1 << V4_MIN_BITS);
  private v4Texts: (string | undefined)[] = new Array<string | undefined>(1 << V4_MIN_BITS);
  private v4Count = 0;
  private v6Bits = V6_MIN_BITS;
  private v6Keys = new Int32Array((1 << V6_MIN_BITS) * 4);
  private v6Texts: (string | undefined)[] = new Array<string | undefined>(1 << V6_MIN_BITS);
  private v6Count = 0;

  /** formatIpBytes(bytes, offset, 4). */
  v4At(bytes: Uint8Array, offset: number): string {
    const key =
      (bytes[offset]! << 24) |
      (bytes[offset + 1]! << 16) |
      (bytes[offset + 2]! << 8) |
      bytes[offset + 3]!;
    const keys = this.v4Keys;
    const texts = this.v4Texts;
    const mask = texts.length - 1;
    let slot = v4Hash(key) >>> (32 - this.v4Bits);
    for (;;) {
      const text = texts[slot];
      if (text === undefined) break;
      if (keys[slot] === key) return text;
      slot = (slot + 1) & mask;
    }
    if (this.v4Count >= texts.length / 2) {
      this.growV4();
      return this.v4At(bytes, offset);
    }
    const text = `${bytes[offset]}.${bytes[offset + 1]}.${bytes[offset + 2]}.${bytes[offset + 3]}`;
    keys[slot] = key;
    texts[slot] = text;
    this.v4Count++;
    return text;
  }

  /** formatIpBytes(bytes, offset, 16). */
  v6At(bytes: Uint8Array, offset: number): string {
    const a = word32(bytes, offset);
    const b = word32(bytes, offset + 4);
    const c = word32(bytes, offset + 8);
    const d = word32(bytes, offset + 12);
    const keys = this.v6Keys;
    const texts = this.v6Texts;
    const mask = texts.length - 1;
    let slot = v6Hash(a, b, c, d) >>> (32 - this.v6Bits);
    for (;;) {
      const text = texts[slot];
      if (text === undefined) break;
      const k = slot * 4;
      if (keys[k] === a && keys[k + 1] === b && keys[k + 2] === c && keys[k + 3] === d) return text;
      slot = (slot + 1) & mask;
    }
    if (this.v6Count >= texts.length / 2) {
      this.growV6();
      return this.v6At(bytes, offset);
    }
    const text = formatIpBytes(bytes, offset, 16)!;
    const k = slot * 4;
    keys[k] = a;
    keys[k + 1] = b;
    keys[k + 2] = c;
    keys[k + 3] = d;
    texts[slot] = text;
    this.v6Count++;
    return text;
  }

  /** formatIpBytes(bytes, offset, length) for length 4 or 16. */
  textAt(bytes: Uint8Array, offset: number, length: 4 | 16): string {
    return length === 4 ? this.v4At(bytes, offset) : this.v6At(bytes, offset);
  }

  /** Twice the slots with every entry moved over, or (at the limit) an empty table. */
  private growV4(): void {
    const oldKeys = this.v4Keys;
    const oldTexts = this.v4Texts;
    const bits = this.v4Bits < V4_MAX_BITS ? this.v4Bits + 1 : V4_MAX_BITS;
    const keys = new Int32Array(1 << bits);
    const texts = new Array<string | undefined>(1 << bits);
    const mask = texts.length - 1;
    this.v4Count = 0;
    if (bits > this.v4Bits)
      for (let i = 0; i < oldTexts.length; i++) {
        const text = oldTexts[i];
        if (text === undefined) continue;
        let slot = v4Hash(oldKeys[i]!) >>> (32 - bits);
        while (texts[slot] !== undefined) slot = (slot + 1) & mask;
        keys[slot] = oldKeys[i]!;
        texts[slot] = text;
        this.v4Count++;
      }
    this.v4Bits = bits;
    this.v4Keys = keys;
    this.v4Texts = texts;
  }

  private growV6(): void {
    const oldKeys = this.v6Keys;
    const oldTexts = this.v6Texts;
    const bits = this.v6Bits < V6_MAX_BITS ? this.v6Bits + 1 : V6_MAX_BITS;
    const keys = new Int32Array((1 << bits) * 4);
    const texts = new Array<string | undefined>(1 << bits);
    const mask = texts.length - 1;
    this.v6Count = 0;
    if (bits > this.v6Bits)
      for (let i = 0; i < oldTexts.length; i++) {
        const text = oldTexts[i];
        if (text === undefined) continue;
        const k = i * 4;
        let slot =
          v6Hash(oldKeys[k]!, oldKeys[k + 1]!, oldKeys[k + 2]!, oldKeys[k + 3]!) >>> (32 - bits);
        while (texts[slot] !== undefined) slot = (slot + 1) & mask;
        keys.set(oldKeys.subarray(k, k + 4), slot * 4);
        texts[slot] = text;
        this.v6Count++;
      }
    this.v6Bits = bits;
    this.v6Keys = keys;
    this.v6Texts = texts;
  }
}

const V4_MIN_BITS = 8;
const V4_MAX_BITS = 17;
const V6_MIN_BITS = 6;
const V6_MAX_BITS = 15;

function v4Hash(key: number): number {
  return Math.imul(key, 0x9e3779b1);
}

function v6Hash(a: number, b: number, c: number, d: number): number {
  let h = Math.imul(a, 0x9e3779b1) ^ b;
  h = Math.imul(h, 0x85ebca6b) ^ c;
  h = Math.imul(h, 0xc2b2ae35) ^ d;
  return Math.imul(h ^ (h >>> 16), 0x9e3779b1);
}

function word32(bytes: Uint8Array, at: number): number {
  return (bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!;
}

const sharedTexts = new AddressTexts();

/** IPv4 text, each address formatted once (see AddressTexts): a flood comes from a limited set of resolvers. */
export function formatIpv4Cached(bytes: Uint8Array, offset: number): string {
  return sharedTexts.v4At(bytes, offset);
}

export function formatIpv4(value: number): string {
  return `${value >>> 24}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
}

const v6Scratch = new Uint8Array(16);
const v6View = new DataView(v6Scratch.buffer);

/** RFC 5952 text of a 128-bit value, as formatIpBytes writes it. */
export function formatIpv6(value: bigint): string {
  v6View.setBigUint64(0, (value >> 64n) & MASK64);
  v6View.setBigUint64(8, value & MASK64);
  return formatIpBytes(v6Scratch, 0, 16)!;
}

export function formatIp(ip: ParsedIp): string {
  return ip.family === 4 ? formatIpv4(ip.value) : formatIpv6(ip.value);
}
