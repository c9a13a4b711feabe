import { isIPv4, isIPv6 } from 'node:net';
import { ErrorCodes, SluiceError } from '@sluice/contracts';

/** An address or network as bytes: 4 for IPv4, 16 for IPv6. */
export interface Network {
  bytes: Uint8Array;
  prefixLength: number;
}

export function parseIp(text: string): Uint8Array {
  if (isIPv4(text)) return Uint8Array.from(text.split('.').map(Number));
  if (isIPv6(text)) return parseIpv6(text);
  throw new SluiceError(ErrorCodes.data, `not an IP address: ${JSON.stringify(text)}`);
}

function parseIpv6(text: string): Uint8Array {
  let s = text;
  const out = new Uint8Array(16);
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two hextets.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4) {
    const b = parseIp(v4[1]!);
    s = `${s.slice(0, -v4[1]!.length)}${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const [head, tail] = s.includes('::') ? s.split('::') : [s, undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 0xff;
  });
  return out;
}

export function parseNetwork(text: string): Network {
  const [addr, len] = text.split('/');
  const bytes = parseIp(addr ?? '');
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
  return `${formatIp(n.bytes)}/${n.prefixLength}`;
}

export function formatIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return [...bytes].join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return groups
    .join(':')
    .replace(/(^|:)0(:0)+(:|$)/, '::')
    .replace(/:{3,}/, '::');
}

/**
 * RPZ client-IP trigger owner labels (BIND ARM "Response Policy Zone"): prefix length, then the
 * address reversed — IPv4 octets, IPv6 hextets with the longest zero run written `zz`.
 */
export function rpzClientIpLabels(n: Network): string {
  if (n.bytes.length === 4) return `${n.prefixLength}.${[...n.bytes].reverse().join('.')}`;
  const hextets: string[] = [];
  for (let i = 0; i < 16; i += 2) hextets.push(((n.bytes[i]! << 8) | n.bytes[i + 1]!).toString(16));
  // Longest run (≥2) of zero hextets collapses to 'zz', like '::' in text form.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (hextets[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && hextets[j] === '0') j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const parts =
    best >= 0 ? [...hextets.slice(0, best), 'zz', ...hextets.slice(best + bestLen)] : hextets;
  return `${n.prefixLength}.${parts.reverse().join('.')}`;
}
