import { formatIpv4, formatIpv6 } from '@sluice/dns';
import { type Rng } from './rng';

/**
 * One row of an IP-to-ASN table (the enrichment's AsnRangeTable.ranges() has this shape). The
 * caller reads them from its data, with a country lookup; this package only draws from them.
 */
export interface AllocatedRange {
  family: 4 | 6;
  /** First and last address, inclusive (IPv4 as a 32-bit number). */
  first: bigint;
  last: bigint;
  /** null: allocated but not routed (AS0). */
  asn: number | null;
  org: string | null;
}

/** The country (ISO 3166 alpha-2) of an address, or null when the data has none. */
export type CountryOf = (family: 4 | 6, address: bigint) => string | null;

interface AllocatedNetwork extends AllocatedRange {
  asn: number;
  country: string;
}

/**
 * Where the resolvers of the Mirai floods Dyn saw in October 2016 sat: the seed article's table
 * (country, % of attack traffic), with the 24 % that the four resolvers hard-coded in Mirai
 * carried taken out of the US — the simulator sends that part to their real addresses.
 */
export const SEED_RESOLVER_COUNTRIES: Readonly<Record<string, number>> = {
  US: 31.54 - 24,
  CN: 15.12,
  BR: 8.33,
  RU: 5.58,
  TW: 3.88,
  UA: 3.03,
  KR: 2.95,
  BG: 2.71,
  CL: 1.95,
  ID: 1.94,
};
/** The rest of that traffic, outside the article's top ten: spread over every other country. */
export const SEED_OTHER_COUNTRIES = 100 - 77.03;

/**
 * Networks whose addresses are not home or office resolvers: clouds and hosters, CDNs and the
 * public resolver operators (drawn from their service addresses instead), governments,
 * universities. A floodable resolver population sits in access networks.
 */
const NOT_ACCESS =
  /amazon|\baws\b|microsoft|azure|google|cloudflare|akamai|fastly|digitalocean|linode|vultr|\bovh|hetzner|oracle|alibaba|tencent cloud|quad9|opendns|hurricane electric|level 3|cogent|\bhost|data ?cent(er|re)|\bcolo|\bserver|cloud|\bvps\b|\bcdn\b|defense|\bdod\b|\bdnic\b|navy|army|air force|government|ministry|universit|college|school|research|institute/i;

export interface ResolverSpaceOptions {
  /** Share of resolvers per country (any scale); default SEED_RESOLVER_COUNTRIES. */
  countries?: Readonly<Record<string, number>>;
  /** Share (same scale) of every country not listed, in proportion to its access networks. */
  otherCountries?: number;
  /**
   * Within a country an AS weighs (its IPv4 addresses)^exponent: big ISPs carry most resolvers,
   * small ones a long tail. Default 0.7.
   */
  asnExponent?: number;
}

interface AsnEntry {
  asn: number;
  weight: number;
  v4: AllocatedNetwork[];
  /** Cumulative IPv4 sizes of v4, for a draw weighted by size. */
  v4Cum: number[];
  v6: AllocatedNetwork[];
}
interface CountryEntry {
  country: string;
  asns: AsnEntry[];
  /** Cumulative AS weights. */
  cum: number[];
  v6Asns: AsnEntry[];
  v6Cum: number[];
}

/** A value's index in a cumulative weight array (last entry = total). */
function drawIndex(rng: Rng, cum: readonly number[]): number {
  const u = rng.next() * cum[cum.length - 1]!;
  let lo = 0;
  let hi = cum.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cum[mid]! > u) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

const cumulative = (weights: readonly number[]): number[] => {
  let total = 0;
  return weights.map((w) => (total += w));
};

/**
 * Resolver addresses drawn from real, allocated access networks (ScenarioSpec.resolverSpace),
 * weighted like a resolver population: a country by its share, an AS by its size, a network of
 * the AS by its size, an address inside it. Every address then maps to a country and an ASN
 * in the data the networks came from.
 */
export class ResolverSpace {
  private constructor(
    private readonly byCountry: CountryEntry[],
    private readonly countryCum: number[],
  ) {}

  /**
   * The access networks among `ranges`: routed, not a cloud, hoster, CDN or institution (by
   * organisation name), and in one known country (its first and last addresses agree).
   */
  static fromRanges(
    ranges: Iterable<AllocatedRange>,
    countryOf: CountryOf,
    options: ResolverSpaceOptions = {},
  ): ResolverSpace {
    function* networks(): Generator<AllocatedNetwork> {
      for (const r of ranges) {
        if (r.asn === null || r.last < r.first || (r.org !== null && NOT_ACCESS.test(r.org)))
          continue;
        const country = countryOf(r.family, r.first);
        if (country === null || countryOf(r.family, r.last) !== country) continue;
        yield { ...r, asn: r.asn, country };
      }
    }
    return ResolverSpace.fromNetworks(networks(), options);
  }

  private static fromNetworks(
    networks: Iterable<AllocatedNetwork>,
    options: ResolverSpaceOptions,
  ): ResolverSpace {
    const listed = options.countries ?? SEED_RESOLVER_COUNTRIES;
    const other = options.otherCountries ?? (options.countries ? 0 : SEED_OTHER_COUNTRIES);
    const exponent = options.asnExponent ?? 0.7;
    const countries = new Map<string, Map<number, AsnEntry>>();
    for (const n of networks) {
      let asns = countries.get(n.country);
      if (!asns) countries.set(n.country, (asns = new Map<number, AsnEntry>()));
      let entry = asns.get(n.asn);
      if (!entry) asns.set(n.asn, (entry = { asn: n.asn, weight: 0, v4: [], v4Cum: [], v6: [] }));
      (n.family === 4 ? entry.v4 : entry.v6).push(n);
    }
    const entries: CountryEntry[] = [];
    const raw: number[] = [];
    for (const [country, asnMap] of [...countries].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const asns = [...asnMap.values()].filter((a) => a.v4.length > 0);
      if (asns.length === 0) continue;
      for (const a of asns) {
        a.v4Cum = cumulative(a.v4.map((n) => Number(n.last - n.first + 1n)));
        a.weight = a.v4Cum[a.v4Cum.length - 1]! ** exponent;
      }
      const v6Asns = asns.filter((a) => a.v6.length > 0);
      entries.push({
        country,
        asns,
        cum: cumulative(asns.map((a) => a.weight)),
        v6Asns,
        v6Cum: cumulative(v6Asns.map((a) => a.weight)),
      });
      raw.push(asns.reduce((s, a) => s + a.weight, 0));
    }
    const rawOther = entries.reduce((s, e, i) => s + (e.country in listed ? 0 : raw[i]!), 0);
    const shares = entries.map((e, i) =>
      e.country in listed ? listed[e.country]! : rawOther > 0 ? (other * raw[i]!) / rawOther : 0,
    );
    if (!shares.some((s) => s > 0))
      throw new RangeError('resolver space: no access network in any country with a share');
    return new ResolverSpace(entries, cumulative(shares));
  }

  /** Countries the space draws from, with their share of drawn resolvers (0–1). */
  get countryShares(): Record<string, number> {
    const total = this.countryCum[this.countryCum.length - 1]!;
    return Object.fromEntries(
      this.byCountry.map((c, i) => [
        c.country,
        (this.countryCum[i]! - (i > 0 ? this.countryCum[i - 1]! : 0)) / total,
      ]),
    );
  }

  /** One resolver address (IPv6 with probability ipv6Share, where the country has any). */
  draw(rng: Rng, ipv6Share: number): string {
    const c = this.byCountry[drawIndex(rng, this.countryCum)]!;
    if (rng.next() < ipv6Share && c.v6Asns.length > 0) {
      const a = c.v6Asns[drawIndex(rng, c.v6Cum)]!;
      const n = a.v6[Math.floor(rng.next() * a.v6.length)]!;
      return formatIpv6(n.first + inside(rng, n.last - n.first + 1n));
    }
    const a = c.asns[drawIndex(rng, c.cum)]!;
    const n = a.v4[drawIndex(rng, a.v4Cum)]!;
    return formatIpv4(Number(n.first + inside(rng, n.last - n.first + 1n)));
  }

  /** `count` distinct resolver addresses, reproducible from the rng (resolverPool's twin). */
  pool(rng: Rng, count: number, ipv6Share = 0.1): string[] {
    const pool = new Set<string>();
    for (let tries = 0; pool.size < count; tries++) {
      if (tries > count * 20 + 1000)
        throw new RangeError(`resolver space too small for ${count} distinct resolvers`);
      pool.add(this.draw(rng, ipv6Share));
    }
    return [...pool];
  }
}

/** An offset into a network of `size` addresses, off its first and last when it has room. */
function inside(rng: Rng, size: bigint): bigint {
  if (size <= 2n) return size === 1n ? 0n : BigInt(rng.int(0, 1));
  if (size <= 0xffffffffn) return 1n + BigInt(Math.floor(rng.next() * Number(size - 2n)));
  let r = 0n;
  for (let i = 0; i < 4; i++) r = (r << 32n) | BigInt(rng.nextU32());
  return 1n + (r % (size - 2n));
}
