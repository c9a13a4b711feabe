import { parseIp } from '@sluice/dns';
import { MIRAI_DEFAULT_RESOLVERS, PUBLIC_RESOLVERS } from './names';
import {
  ResolverSpace,
  SEED_OTHER_COUNTRIES,
  SEED_RESOLVER_COUNTRIES,
  type AllocatedRange,
} from './resolver-space';
import { Rng } from './rng';
import { simulateLabelled, type ScenarioSpec } from './scenario';

const v4 = (a: string) => BigInt((parseIp(a) as { value: number }).value);
const v6 = (a: string) => (parseIp(a) as { value: bigint }).value;
const range = (
  first: string,
  last: string,
  asn: number | null,
  org: string | null,
  country: string | null,
): AllocatedRange & { country: string | null } => ({
  family: first.includes(':') ? 6 : 4,
  first: first.includes(':') ? v6(first) : v4(first),
  last: last.includes(':') ? v6(last) : v4(last),
  asn,
  org,
  country,
});

// A small IP-to-ASN table with a country per range (null: the country data has none).
const TABLE = [
  range('24.0.0.0', '24.15.255.255', 7922, 'Comcast Cable Communications, LLC', 'US'),
  range('50.0.0.0', '50.0.3.255', 11427, 'Charter Communications Inc', 'US'),
  range('64.225.0.0', '64.225.127.255', 14061, 'DigitalOcean, LLC', 'US'),
  range('58.16.0.0', '58.16.255.255', 4837, 'CHINA UNICOM China169 Backbone', 'CN'),
  range('61.128.0.0', '61.128.63.255', 4134, 'Chinanet', 'CN'),
  range('84.128.0.0', '84.128.255.255', 3320, 'Deutsche Telekom AG', 'DE'),
  range('100.0.0.0', '100.0.0.255', null, null, 'US'),
  range('150.0.0.0', '150.0.0.255', 64500, 'Nowhere Telecom', null),
  range(
    '2601::',
    '2601:ff:ffff:ffff:ffff:ffff:ffff:ffff',
    7922,
    'Comcast Cable Communications, LLC',
    'US',
  ),
];
const countryOf = (family: 4 | 6, address: bigint) =>
  TABLE.find((r) => r.family === family && r.first <= address && address <= r.last)?.country ??
  null;
/** The row an address falls in. */
const rowOf = (address: string) => {
  const ip = parseIp(address)!;
  const value = BigInt(ip.value);
  return TABLE.find((r) => r.family === ip.family && r.first <= value && value <= r.last);
};

describe('ResolverSpace', () => {
  const space = ResolverSpace.fromRanges(TABLE, countryOf, {
    countries: { US: 3, CN: 1 },
  });

  it('draws only inside routed access networks of a known country', () => {
    const pool = space.pool(new Rng(1), 2_000, 0.1);
    expect(new Set(pool).size).toBe(2_000);
    for (const address of pool) {
      const row = rowOf(address);
      expect(row).toBeDefined();
      expect(row!.asn).not.toBeNull();
      expect(row!.country).not.toBeNull();
      expect(row!.org).not.toMatch(/DigitalOcean/);
      // Never a network's first or last address.
      expect(v4OrV6(address)).not.toBe(row!.first);
      expect(v4OrV6(address)).not.toBe(row!.last);
    }
  });

  it('weights countries by their share, and big networks over small ones inside a country', () => {
    const pool = space.pool(new Rng(2), 4_000, 0);
    const count = (pred: (r: ReturnType<typeof rowOf>) => boolean) =>
      pool.filter((a) => pred(rowOf(a))).length / pool.length;
    expect(count((r) => r!.country === 'US')).toBeCloseTo(0.75, 1);
    expect(count((r) => r!.country === 'DE')).toBe(0);
    // Comcast's /12 against Charter's /22: (1M / 1k)^0.7 ≈ 125 to 1.
    expect(count((r) => r!.asn === 11427)).toBeLessThan(0.02);
    expect(space.countryShares).toEqual({ CN: 0.25, DE: 0, US: 0.75 });
  });

  it('gives IPv6 addresses where a country has IPv6 networks', () => {
    const pool = space.pool(new Rng(3), 2_000, 0.5);
    const six = pool.filter((a) => a.includes(':'));
    expect(six.length / pool.length).toBeGreaterThan(0.3);
    for (const a of six) expect(rowOf(a)!.asn).toBe(7922);
  });

  it('spreads the seed article shares by default, and the rest over the other countries', () => {
    const seed = ResolverSpace.fromRanges(TABLE, countryOf);
    const shares = seed.countryShares;
    // Only US, CN (listed) and DE (the rest) have networks here.
    const { US, CN } = SEED_RESOLVER_COUNTRIES as { US: number; CN: number };
    expect(shares.US).toBeCloseTo(US / (US + CN + SEED_OTHER_COUNTRIES), 5);
    expect(shares.DE).toBeCloseTo(SEED_OTHER_COUNTRIES / (US + CN + SEED_OTHER_COUNTRIES), 5);
  });

  it('is reproducible by rng seed', () => {
    expect(space.pool(new Rng('x'), 500)).toEqual(space.pool(new Rng('x'), 500));
    expect(space.pool(new Rng('x'), 500)).not.toEqual(space.pool(new Rng('y'), 500));
  });

  it('refuses a space with no access network, and a pool larger than the space', () => {
    expect(() =>
      ResolverSpace.fromRanges(TABLE.slice(2, 3), countryOf, { countries: { US: 1 } }),
    ).toThrow(/no access network/);
    const tiny = ResolverSpace.fromRanges(
      [range('50.0.0.0', '50.0.0.7', 11427, 'Charter', 'US')],
      () => 'US',
    );
    expect(() => tiny.pool(new Rng(1), 100, 0)).toThrow(/too small/);
  });

  it('puts a scenario on it: every resolver is in the space or a real public resolver', () => {
    const spec: ScenarioSpec = {
      seed: 2016,
      startTime: 0,
      durationMs: 10_000,
      zones: 5,
      benignQps: 200,
      streams: [
        { kind: 'mirai', zone: 'zone0.example', startMs: 0, durationMs: 10_000, qps: 500 },
        { kind: 'lowslow', zone: 'zone1.example', startMs: 0, durationMs: 10_000, qps: 100 },
      ],
      resolverSpace: space,
    };
    const known = new Set<string>([...PUBLIC_RESOLVERS, ...MIRAI_DEFAULT_RESOLVERS]);
    let n = 0;
    for (const { event } of simulateLabelled(spec)) {
      n++;
      if (!known.has(event.resolver)) expect(rowOf(event.resolver)?.country).toBeTruthy();
    }
    expect(n).toBeGreaterThan(5_000);
    const again = [...simulateLabelled(spec)].map((e) => e.event.resolver);
    expect(again).toHaveLength(n);
  });
});

function v4OrV6(address: string): bigint {
  return BigInt(parseIp(address)!.value);
}
