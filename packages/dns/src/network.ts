import { ErrorCodes, SluiceError } from '@sluice/contracts';
import {
  formatIpBytes,
  formatIpv4,
  formatIpv6,
  longestZeroRun,
  parseIpBytes,
  parseIpv4,
  parseIpv6,
  type ParsedIp,
} from './address';

const V6_MAX = (1n << 128n) - 1n;

/** An address or network as bytes: 4 for IPv4, 16 for IPv6. */
export interface Network {
  bytes: Uint8Array;
  prefixLength: number;
}

/** "a.b.c.d/n", "x::/n" or a bare address (a host network); throws a SluiceError naming the text. */
export function parseNetwork(text: string): Network {
  const [addr = '', len] = text.split('/');
  const bytes = parseIpBytes(addr);
  if (bytes === null)
    throw new SluiceError(ErrorCodes.data, `not an IP address: ${JSON.stringify(addr)}`);
  const max = bytes.length * 8;
  const prefixLength = len === undefined ? max : Number(len);
  if (!Number.isInteger(prefixLength) || prefixLength < 0 || prefixLength > max)
    throw new SluiceError(ErrorCodes.data, `bad prefix length in ${JSON.stringify(text)}`);
  return { bytes: maskBytes(bytes, prefixLength), prefixLength };
}

export function maskBytes(bytes: Uint8Array, prefixLength: number): Uint8Array {
  const out = Uint8Array.from(bytes);
  for (let i = 0; i < out.length; i++) {
    const keep = Math.max(0, Math.min(8, prefixLength - i * 8));
    out[i] = out[i]! & ((0xff << (8 - keep)) & 0xff);
  }
  return out;
}

/** True when `inner` lies inside `outer` (same family). */
export function networkContains(outer: Network, inner: Network): boolean {
  if (outer.bytes.length !== inner.bytes.length || inner.prefixLength < outer.prefixLength)
    return false;
  const masked = maskBytes(inner.bytes, outer.prefixLength);
  return masked.every((b, i) => b === outer.bytes[i]);
}

/** Two networks overlap when either contains the other. */
export function networksOverlap(a: Network, b: Network): boolean {
  return networkContains(a, b) || networkContains(b, a);
}

export function formatNetwork(n: Network): string {
  return `${formatIpBytes(n.bytes)}/${n.prefixLength}`;
}

/**
 * RPZ client-IP trigger owner labels (BIND ARM "Response Policy Zone"): prefix length, then the
 * address reversed — IPv4 octets, IPv6 hextets with the longest zero run written `zz`.
 */
export function rpzClientIpLabels(n: Network): string {
  if (n.bytes.length === 4) return `${n.prefixLength}.${[...n.bytes].reverse().join('.')}`;
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((n.bytes[i]! << 8) | n.bytes[i + 1]!);
  const hextets = words.map((w) => w.toString(16));
  // The run that '::' would replace in text form.
  const run = longestZeroRun(words);
  const parts =
    run >= 0
      ? [...hextets.slice(0, run >> 4), 'zz', ...hextets.slice((run >> 4) + (run & 15))]
      : hextets;
  return `${n.prefixLength}.${parts.reverse().join('.')}`;
}

/**
 * The largest CIDR block that contains `ip` and lies wholly inside [start, end]. Range data
 * (CSV start/end rows, merged adjacent announcements) has no prefix of its own; this gives
 * the tightest honest prefix the range supports.
 */
export function coveringCidrV4(ip: number, start: number, end: number): string {
  for (let len = 0; len <= 32; len++) {
    const size = 2 ** (32 - len);
    const blockStart = Math.floor(ip / size) * size;
    if (blockStart >= start && blockStart + size - 1 <= end)
      return `${formatIpv4(blockStart)}/${len}`;
  }
  return `${formatIpv4(ip)}/32`;
}

export function coveringCidrV6(ip: bigint, start: bigint, end: bigint): string {
  for (let len = 0; len <= 128; len++) {
    const size = 1n << BigInt(128 - len);
    const blockStart = ip & (V6_MAX ^ (size - 1n));
    if (blockStart >= start && blockStart + size - 1n <= end)
      return `${formatIpv6(blockStart)}/${len}`;
  }
  return `${formatIpv6(ip)}/128`;
}

/** Network address of `ip` at prefix length `len`, as CIDR text. */
export function cidrOf(ip: ParsedIp, len: number): string {
  if (ip.family === 4) {
    const size = 2 ** (32 - len);
    return `${formatIpv4(Math.floor(ip.value / size) * size)}/${len}`;
  }
  const size = 1n << BigInt(128 - len);
  return `${formatIpv6(ip.value & (V6_MAX ^ (size - 1n)))}/${len}`;
}

/** Parse "a.b.c.d/n" or "x::/n" into a [first, last] range of the family. */
export function parseCidr(
  text: string,
): { family: 4; first: number; last: number } | { family: 6; first: bigint; last: bigint } | null {
  const slash = text.indexOf('/');
  if (slash < 0) return null;
  const len = Number(text.slice(slash + 1));
  const addr = text.slice(0, slash);
  const v4 = parseIpv4(addr);
  if (v4 !== null) {
    if (!Number.isInteger(len) || len < 0 || len > 32) return null;
    const size = 2 ** (32 - len);
    const first = Math.floor(v4 / size) * size;
    return { family: 4, first, last: first + size - 1 };
  }
  const v6 = parseIpv6(addr);
  if (v6 === null || !Number.isInteger(len) || len < 0 || len > 128) return null;
  const size = 1n << BigInt(128 - len);
  const first = v6 & (V6_MAX ^ (size - 1n));
  return { family: 6, first, last: first + size - 1n };
}
