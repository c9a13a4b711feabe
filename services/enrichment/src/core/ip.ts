import { isIPv4, isIPv6 } from 'node:net';

/** A parsed address. IPv6 is one 128-bit bigint; IPv4 stays a plain number (the hot case). */
export type ParsedIp = { family: 4; value: number } | { family: 6; value: bigint };

const V6_MAX = (1n << 128n) - 1n;

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

export function parseIpv6(input: string): bigint | null {
  // Zone ids (fe80::1%eth0) name an interface, not part of the address.
  const text = input.includes('%') ? input.slice(0, input.indexOf('%')) : input;
  if (!isIPv6(text)) return null;
  let head = text;
  let tailV4: number | null = null;
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    tailV4 = parseIpv4(text.slice(lastColon + 1));
    if (tailV4 === null) return null;
    head = text.slice(0, lastColon + 1) + '0:0';
  }
  const [left = '', right] = head.split('::');
  const leftGroups = left === '' ? [] : left.split(':');
  const rightGroups = right === undefined || right === '' ? [] : right.split(':');
  const missing = 8 - leftGroups.length - rightGroups.length;
  const groups =
    right === undefined
      ? leftGroups
      : [...leftGroups, ...new Array<string>(missing).fill('0'), ...rightGroups];
  let value = 0n;
  for (const g of groups) value = (value << 16n) | BigInt(parseInt(g, 16));
  if (tailV4 !== null) value = (value & ~0xffffffffn) | BigInt(tailV4);
  return value;
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

export function formatIpv4(value: number): string {
  return `${value >>> 24}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
}

/** RFC 5952 text: lower case, longest run of zero groups (≥ 2) compressed. */
export function formatIpv6(value: bigint): string {
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((value >> BigInt(i * 16)) & 0xffffn));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

export function formatIp(ip: ParsedIp): string {
  return ip.family === 4 ? formatIpv4(ip.value) : formatIpv6(ip.value);
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
