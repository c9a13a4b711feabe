/** Text form of a 4- or 16-byte address (IPv6 per RFC 5952: lower case, longest zero run as ::). */
export function formatIp(
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
  let bestStart = -1;
  let bestLength = 1; // a single zero word is not compressed (RFC 5952 4.2.2)
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
  const hex = words.map((w) => w.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

const v4Cache = new Map<number, string>();

/** IPv4 text with a bounded cache: a flood comes from a limited set of resolvers. */
export function formatIpv4Cached(bytes: Uint8Array, offset: number): string {
  const key =
    ((bytes[offset]! << 24) |
      (bytes[offset + 1]! << 16) |
      (bytes[offset + 2]! << 8) |
      bytes[offset + 3]!) >>>
    0;
  let text = v4Cache.get(key);
  if (text === undefined) {
    text = `${bytes[offset]}.${bytes[offset + 1]}.${bytes[offset + 2]}.${bytes[offset + 3]}`;
    if (v4Cache.size >= 65_536) v4Cache.clear();
    v4Cache.set(key, text);
  }
  return text;
}
