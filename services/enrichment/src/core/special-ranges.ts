import { parseCidr, type ParsedIp } from '@sluice/dns';

/**
 * Addresses that never route on the public Internet (IANA special-purpose registries,
 * RFC 6890 and successors). A "resolver" here is spoofed, a lab, or a mirror of internal
 * traffic: labelled, never looked up, never a crash.
 */
const V4: ReadonlyArray<readonly [string, string]> = [
  ['0.0.0.0/8', 'this network (RFC 791)'],
  ['10.0.0.0/8', 'private (RFC 1918)'],
  ['100.64.0.0/10', 'carrier-grade NAT shared space (RFC 6598)'],
  ['127.0.0.0/8', 'loopback (RFC 1122)'],
  ['169.254.0.0/16', 'link-local (RFC 3927)'],
  ['172.16.0.0/12', 'private (RFC 1918)'],
  ['192.0.0.0/24', 'IETF protocol assignments (RFC 6890)'],
  ['192.0.2.0/24', 'documentation TEST-NET-1 (RFC 5737)'],
  ['192.88.99.0/24', 'deprecated 6to4 relay anycast (RFC 7526)'],
  ['192.168.0.0/16', 'private (RFC 1918)'],
  ['198.18.0.0/15', 'benchmarking (RFC 2544)'],
  ['198.51.100.0/24', 'documentation TEST-NET-2 (RFC 5737)'],
  ['203.0.113.0/24', 'documentation TEST-NET-3 (RFC 5737)'],
  ['224.0.0.0/4', 'multicast (RFC 5771)'],
  ['240.0.0.0/4', 'reserved, incl. broadcast (RFC 1112)'],
];

const V6: ReadonlyArray<readonly [string, string]> = [
  ['::/128', 'unspecified (RFC 4291)'],
  ['::1/128', 'loopback (RFC 4291)'],
  ['64:ff9b::/96', 'NAT64 well-known prefix (RFC 6052)'],
  ['64:ff9b:1::/48', 'local-use NAT64 (RFC 8215)'],
  ['100::/64', 'discard-only (RFC 6666)'],
  ['2001:2::/48', 'benchmarking (RFC 5180)'],
  ['2001:10::/28', 'deprecated ORCHID (RFC 4843)'],
  ['2001:db8::/32', 'documentation (RFC 3849)'],
  ['3fff::/20', 'documentation (RFC 9637)'],
  ['fc00::/7', 'unique local (RFC 4193)'],
  ['fe80::/10', 'link-local (RFC 4291)'],
  ['fec0::/10', 'deprecated site-local (RFC 3879)'],
  ['ff00::/8', 'multicast (RFC 4291)'],
];

interface Range<T> {
  first: T;
  last: T;
  label: string;
}

function build<T extends number | bigint>(list: typeof V4, family: 4 | 6): Range<T>[] {
  return list.map(([cidr, label]) => {
    const r = parseCidr(cidr);
    if (!r || r.family !== family) throw new Error(`bad built-in special range ${cidr}`);
    return { first: r.first as T, last: r.last as T, label };
  });
}

const v4Ranges = build<number>(V4, 4);
const v6Ranges = build<bigint>(V6, 6);
const GLOBAL_UNICAST_FIRST = 0x2n << 124n;
const GLOBAL_UNICAST_LAST = (0x4n << 124n) - 1n;

/** Why an address is not publicly routable, or null when it is. */
export function specialPurpose(ip: ParsedIp): string | null {
  if (ip.family === 4) {
    for (const r of v4Ranges) if (ip.value >= r.first && ip.value <= r.last) return r.label;
    return null;
  }
  for (const r of v6Ranges) if (ip.value >= r.first && ip.value <= r.last) return r.label;
  if (ip.value < GLOBAL_UNICAST_FIRST || ip.value > GLOBAL_UNICAST_LAST)
    return 'outside IPv6 global unicast 2000::/3 (RFC 4291)';
  return null;
}
