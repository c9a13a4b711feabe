import { type EnrichedOffender } from '@sluice/contracts';
import { createRedis, type Redis } from '@sluice/redis';
import { testRedisConfig } from '@sluice/testing';
import { decayTo, fold, type Decayed } from '../../src/core/decay';
import { ReputationRepository } from '../../src/redis/reputation.repository';
import { loadReputationConfig } from '../../src/config/reputation.config';
import { createStores } from '../../src/reputation.factory';
import { offender } from '../fixtures/offenders';

jest.setTimeout(60_000);

const settings = {
  halfLifeMs: 60_000,
  evidenceCap: 5,
  memberWindowMs: 3_600_000,
  keyTtlMs: 600_000,
  maxSubjectsPerKind: 200_000,
  maxMembers: 1000,
  offenderMinRatio: 0.5,
  legitMinQueries: 5,
  outrightSubjects: true,
};

/** The batch Lua fold against the real Redis, checked against the pure fold in core/decay.ts. */
describe('ReputationRepository (Redis Lua fold)', () => {
  const clients: Redis[] = [];
  const repo = async () => {
    const redis = createRedis(testRedisConfig());
    await redis.connect();
    clients.push(redis);
    return new ReputationRepository(redis, settings);
  };
  const prefixOf = (r: EnrichedOffender) => r.enrichment.prefix;
  /** A client under a fresh key prefix, and one without it that sees the keys as stored. */
  const connected = async () => {
    const redisConfig = testRedisConfig();
    const redis = createRedis(redisConfig);
    const raw = createRedis({ ...redisConfig, keyPrefix: '' });
    await Promise.all([redis.connect(), raw.connect()]);
    clients.push(redis, raw);
    return { redisConfig, redis, raw };
  };

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.quit()));
  });

  const t0 = 1_700_000_000_000;
  const withoutStamp = ({ x: _x, ...fields }: Record<string, string>) => fields;
  const records = [
    offender({
      resolver: '10.0.0.1',
      zone: 'v.test',
      attack: 500,
      total: 600,
      at: t0 + 120_000,
      prefix: '10.0.0.0/24',
    }),
    offender({
      resolver: '10.0.0.1',
      zone: 'v.test',
      attack: 100,
      total: 400,
      at: t0,
      prefix: '10.0.0.0/24',
    }),
    offender({
      resolver: '10.0.0.2',
      zone: 'v.test',
      attack: 50,
      total: 1000,
      at: t0 + 30_000,
      prefix: '10.0.0.0/24',
    }),
    offender({
      resolver: '10.0.0.1',
      zone: 'w.test',
      attack: 900,
      total: 900,
      at: t0 + 60_000,
      prefix: '10.0.0.0/24',
    }),
  ];

  it('gives the same states in one batch as record by record, in any order, and equal to the pure fold', async () => {
    const batch = await repo();
    const single = await repo();
    const a = await batch.fold(records, prefixOf, () => false);
    const reversed = [...records].reverse();
    let last: Awaited<ReturnType<ReputationRepository['fold']>> = [];
    for (const r of reversed) last = await single.fold([r], prefixOf, () => false);
    const prefixA = a[a.length - 1]!.states.prefix!;
    const prefixB = last[0]!.states.prefix!;
    expect(prefixA.ts).toBe(t0 + 120_000);
    expect(prefixB.ts).toBe(prefixA.ts);
    expect(prefixB.attack).toBeCloseTo(prefixA.attack, 6);
    expect(prefixB.total).toBeCloseTo(prefixA.total, 6);
    const pure = records.reduce<Decayed | null>(
      (s, r) => fold(s, r.attackQueries, r.totalQueries, r.windowEnd, settings.halfLifeMs),
      null,
    )!;
    expect(prefixA.attack).toBeCloseTo(pure.attack, 6);
    expect(prefixA.total).toBeCloseTo(pure.total, 6);
    // Members: 10.0.0.2 is at 5% and does not count as offending; the resolver hit two zones.
    expect(prefixA.members).toBe(1);
    expect(a[3]!.states.resolver!.members).toBe(2);
    const rz = a[0]!.states['resolver-zone']!;
    const expected = decayTo(
      { attack: 100, total: 400, ts: t0 },
      t0 + 120_000,
      settings.halfLifeMs,
    );
    expect(rz.attack).toBeCloseTo(500 + expected.attack, 6);
  });

  it('counts a record once, also when it is repeated inside one batch', async () => {
    const r = await repo();
    const dup = records[0]!;
    const res = await r.fold([dup, dup], prefixOf, () => false);
    expect(res.map((x) => x.duplicate)).toEqual([false, true]);
    expect(res[1]!.states['resolver-zone']!.attack).toBe(500);
    const again = await r.fold([dup], prefixOf, () => false);
    expect(again[0]!.duplicate).toBe(true);
    expect(again[0]!.states['resolver-zone']!.attack).toBe(500);
  });

  it('handles a big batch: thousands of resolvers in one ASN, evidence capped, prefixes kept', async () => {
    const r = await repo();
    const many = Array.from({ length: 2500 }, (_, i) =>
      offender({
        resolver: `10.${(i >> 8) & 255}.${i & 255}.9`,
        zone: 'v.test',
        attack: 90,
        total: 100,
        at: t0 + i,
        asn: 64999,
        prefix: `10.${(i >> 8) & 255}.${i & 255}.0/24`,
      }),
    );
    const res = await r.fold(many, prefixOf, (x) => x.resolver === '10.0.7.9');
    // Chunks of 1000 records each fold atomically; the last state reflects all of them. Members
    // are the newest maxMembers (1000) of the 2,500.
    const asn = res[res.length - 1]!.states.asn!;
    expect(asn.members).toBe(1000);
    expect(asn.attack).toBeGreaterThan(2500 * 90 * 0.97);
    expect(asn.protectedInside).toBe(true);
    const x = await r.explain('asn', '64999');
    expect(x.evidence).toHaveLength(5);
    expect((x.evidence[0] as { resolver: string }).resolver).toBe(many[many.length - 1]!.resolver);
    const networks = await r.asnNetworks(64999, t0 + 2500, 5000);
    expect(networks).toHaveLength(1000);
    expect(networks[0]).toBe(many[many.length - 1]!.enrichment.prefix);
  });

  it('folds a chunk mixing redelivered and new records as the new ones alone (the script answers its flags, the sums are made again)', async () => {
    const mixed = await repo();
    const alone = await repo();
    const win = (w: number, i: number) =>
      offender({
        resolver: `10.9.${w}.${i}`,
        zone: 'm.test',
        attack: 50 + 7 * i,
        total: 60 + 7 * i,
        at: t0 + w * 10_000,
        asn: 64_300,
        prefix: `10.9.${w}.0/24`,
      });
    const first = Array.from({ length: 6 }, (_, i) => win(0, i));
    const next = Array.from({ length: 6 }, (_, i) => win(1, i));
    await mixed.fold(first, prefixOf, () => false);
    await alone.fold(first, prefixOf, () => false);
    // three redelivered, the new window, one new record repeated inside the chunk
    const got = await mixed.fold([...first.slice(0, 3), ...next, next[2]!], prefixOf, () => false);
    const want = await alone.fold(next, prefixOf, () => false);
    expect(got.map((x) => x.duplicate)).toEqual([
      ...Array<boolean>(3).fill(true),
      ...Array<boolean>(6).fill(false),
      true,
    ]);
    expect(got.slice(3, 9).map((x) => x.states)).toEqual(want.map((x) => x.states));
    for (const [kind, id] of [
      ['asn-zone', '64300|m.test'],
      ['asn', '64300'],
      ['resolver', '10.9.1.2'],
    ] as const)
      expect(await mixed.explain(kind, id)).toEqual(await alone.explain(kind, id));
  });

  it('dedupes on the windows a resolver-zone pair keeps, redeliveries older than them included', async () => {
    const r = await repo();
    const win = (i: number, attack = 100) =>
      offender({
        resolver: '10.7.0.1',
        zone: 'd.test',
        attack,
        total: attack,
        at: t0 + i * 10_000,
      });
    // Windows 0..9 in order, 3 and 5 swapped (reordering inside the kept windows is exact).
    const order = [0, 1, 2, 3, 5, 4, 6, 7, 8, 9];
    const first = await r.fold(
      order.map((i) => win(i)),
      prefixOf,
      () => false,
    );
    expect(first.every((x) => !x.duplicate)).toBe(true);
    // Redelivered: one still kept (9), one older than every kept window (1); a new one (10).
    const again = await r.fold([win(9), win(1), win(10)], prefixOf, () => false);
    expect(again.map((x) => x.duplicate)).toEqual([true, true, false]);
  });

  it('keeps at most maxSubjectsPerKind subjects of each kind, evicting the lowest scores (CI slice of a 1 M-resolver flood)', async () => {
    const cap = 5_000;
    const redisConfig = testRedisConfig();
    const redis = createRedis(redisConfig);
    await redis.connect();
    clients.push(redis);
    const r = new ReputationRepository(redis, {
      ...settings,
      maxSubjectsPerKind: cap,
      maxMembers: 50,
    });
    // 20,000 distinct resolvers, one window each, over 10 zones, 20 /24s and 5 ASNs (whose member
    // lists are full, 50, from the first chunk on); attack grows with i, so the survivors must be
    // the newest, highest-scoring ones.
    const flood = (from: number, to: number) =>
      Array.from({ length: to - from }, (_, k) => {
        const i = from + k;
        return offender({
          resolver: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
          zone: `z${i % 10}.test`,
          attack: 10 + i,
          total: 12 + i,
          at: t0 + 10_000,
          asn: 64_000 + (i % 5),
          prefix: `172.16.${i % 20}.0/24`,
        });
      });
    const usage = async () => {
      let keys = 0;
      let bytes = 0;
      let cursor = '0';
      do {
        const [next, found] = await redis.scan(
          cursor,
          'MATCH',
          `${redisConfig.keyPrefix}*`,
          'COUNT',
          1000,
        );
        cursor = next;
        keys += found.length;
        // scan returns full names; ioredis prefixes only the keys of commands it knows.
        const pipe = redis.pipeline();
        for (const k of found) pipe.call('MEMORY', 'USAGE', k, 'SAMPLES', '0');
        for (const [, b] of (await pipe.exec()) ?? []) bytes += Number(b ?? 0);
      } while (cursor !== '0');
      return { keys, bytes };
    };
    let t = Date.now();
    await r.fold(flood(0, cap), prefixOf, () => false);
    expect(r.evicted).toBe(0);
    const atCap = await usage();
    const timings = [Date.now() - t];
    t = Date.now();
    await r.fold(flood(cap, 20_000), prefixOf, () => false);
    timings.push(Date.now() - t);
    const after = await usage();
    // 15,000 resolver-zone and 15,000 resolver subjects evicted; prefixes, ASNs and their
    // per-zone subjects are below the cap.
    expect(r.evicted).toBe(2 * (20_000 - cap));
    for (const kind of ['resolver-zone', 'resolver'])
      expect(await redis.zcard(`rep:idx:${kind}`)).toBe(cap);
    const low = await r.explain('resolver', '10.0.0.1');
    const high = await r.explain('resolver', `10.0.${(19_999 >> 8) & 255}.${19_999 & 255}`);
    expect(low.state).toBeNull();
    expect(low.evidence).toHaveLength(0);
    expect(high.state?.attack).toBe(10 + 19_999);
    // Four times the resolvers, about the same Redis: the bound holds (without the cap: ×3.6).
    process.stderr.write(
      `[reputation cap] at cap ${JSON.stringify(atCap)}, after 4x ${JSON.stringify(after)}\n`,
    );
    expect(after.keys).toBeLessThanOrEqual(atCap.keys * 1.05);
    expect(after.bytes).toBeLessThanOrEqual(atCap.bytes * 1.2);
  });

  it('keeps no outright prefix/ASN subject while outright network blocks are off, and the same other four', async () => {
    const redisConfig = testRedisConfig();
    const raw = createRedis({ ...redisConfig, keyPrefix: '' });
    await raw.connect();
    clients.push(raw);
    // Resolvers in two prefixes of one ASN and one of another, over two zones, two windows; one
    // resolver without an ASN, one without a prefix.
    const flood = Array.from({ length: 60 }, (_, i) =>
      offender({
        resolver: `10.8.${i % 3}.${i}`,
        zone: `o${i % 2}.test`,
        attack: 90 + i,
        total: 100 + i,
        at: t0 + 10_000 * (1 + (i % 2)),
        asn: i === 7 ? null : 64_200 + (i % 3 === 2 ? 1 : 0),
        prefix: i === 11 ? null : `10.8.${i % 3}.0/24`,
      }),
    );
    const run = async (outrightSubjects: boolean) => {
      const keyPrefix = `${redisConfig.keyPrefix}${outrightSubjects ? 'on' : 'off'}:`;
      const redis = createRedis({ ...redisConfig, keyPrefix });
      await redis.connect();
      clients.push(redis);
      const r = new ReputationRepository(redis, { ...settings, outrightSubjects });
      const res = [
        ...(await r.fold(flood.slice(0, 30), prefixOf, () => false)),
        ...(await r.fold(flood.slice(30), prefixOf, () => false)),
      ];
      // every key as it is stored, by name without the run's prefix
      const keys = new Map<string, unknown>();
      for (const k of (await raw.keys(`${keyPrefix}*`)).sort()) {
        const name = k.slice(keyPrefix.length);
        const type = await raw.type(k);
        // (a subject's refresh stamp 'x' is Redis's clock at the fold: not compared)
        const value =
          type === 'hash'
            ? withoutStamp(await raw.hgetall(k))
            : type === 'zset'
              ? await raw.zrange(k, 0, -1, 'WITHSCORES')
              : await raw.lrange(k, 0, -1);
        // (links name other keys with the run's prefix)
        keys.set(name, JSON.parse(JSON.stringify(value).replaceAll(keyPrefix, '')) as unknown);
      }
      return { r, res, keys };
    };
    const on = await run(true);
    const off = await run(false);
    const outright = (k: string) => /^rep:(p|a):|^rep:idx:(prefix|asn)$/.test(k);
    // On: the outright subjects are folded, kept and ranked.
    expect(on.res.every((x) => x.states.prefix !== undefined || x.prefix === null)).toBe(true);
    expect(on.res.filter((x) => x.states.asn !== undefined)).toHaveLength(59);
    expect([...on.keys.keys()].filter(outright)).toEqual(
      expect.arrayContaining(['rep:idx:prefix', 'rep:idx:asn', 'rep:p:10.8.0.0/24', 'rep:a:64200']),
    );
    // Off: none of them is returned, and nothing of them is in Redis but the ASNs' prefixes.
    for (const x of off.res) {
      expect(x.states.prefix).toBeUndefined();
      expect(x.states.asn).toBeUndefined();
      expect(x.states['resolver-zone']).toBeDefined();
    }
    expect([...off.keys.keys()].filter(outright)).toEqual(['rep:a:64200:px', 'rep:a:64201:px']);
    expect(await off.r.asnNetworks(64_200, t0 + 20_000)).toEqual(
      await on.r.asnNetworks(64_200, t0 + 20_000),
    );
    // The other four subjects: the same states, and the same keys and values (but the resolver's
    // links to its prefix's and ASN's members, which are not kept).
    off.res.forEach((x, i) => {
      const { prefix: _p, asn: _a, ...rest } = on.res[i]!.states;
      expect(x.states).toEqual(rest);
    });
    const others = (keys: Map<string, unknown>) =>
      [...keys]
        .filter(([k]) => !outright(k) || k.endsWith(':px'))
        .map(([k, v]) => {
          if (!/^rep:r:[^:]+$/.test(k)) return [k, v];
          const { u: _u, ...h } = v as Record<string, string>;
          return [k, h];
        });
    expect(others(off.keys)).toEqual(others(on.keys));
  });

  it('follows BLOCK_OUTRIGHT_NETWORKS from the config (default off: no outright subjects)', async () => {
    const redisConfig = testRedisConfig();
    const redis = createRedis(redisConfig);
    await redis.connect();
    clients.push(redis);
    const r = offender({ resolver: '10.6.0.1', zone: 'c.test', attack: 9, total: 9, at: t0 });
    const keptFor = async (env: Record<string, string>) => {
      const config = loadReputationConfig({ REDIS_URL: redisConfig.url, ...env });
      const { reputation } = createStores(config, redis);
      const [res] = await reputation.fold(
        [r],
        () => '10.6.0.0/24',
        () => false,
      );
      await redis.del('rep:rz:10.6.0.1|c.test');
      return Object.keys(res!.states).sort();
    };
    expect(await keptFor({})).toEqual(['asn-zone', 'prefix-zone', 'resolver', 'resolver-zone']);
    expect(await keptFor({ BLOCK_OUTRIGHT_NETWORKS: 'true' })).toEqual([
      'asn',
      'asn-zone',
      'prefix',
      'prefix-zone',
      'resolver',
      'resolver-zone',
    ]);
  });

  it('gives every key it writes an expiry, refreshed at most every ttl/8; a key made between two refreshes gets its own', async () => {
    const { redisConfig, redis, raw } = await connected();
    // ttl 40 s: a refresh at most every 5 s, each to 45 s
    const ttl = 40_000;
    const r = new ReputationRepository(redis, { ...settings, keyTtlMs: ttl });
    const window = (zone: string, at: number) =>
      offender({ resolver: '10.7.0.1', zone, attack: 80, total: 90, at, prefix: '10.7.0.0/24' });
    const pttls = async () => {
      const out = new Map<string, number>();
      for (const k of await raw.keys(`${redisConfig.keyPrefix}*`))
        out.set(k.slice(redisConfig.keyPrefix.length), await raw.pttl(k));
      return out;
    };
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

    await r.fold([window('e.test', t0)], prefixOf, () => false);
    const first = await pttls();
    // every subject's hash, evidence and members, the ASN's prefixes and each kind's index
    expect([...first.keys()]).toEqual(
      expect.arrayContaining(['rep:r:10.7.0.1', 'rep:r:10.7.0.1:ev', 'rep:r:10.7.0.1:m']),
    );
    expect(first.size).toBeGreaterThanOrEqual(20);
    // (each kind's index is set to ttl at every fold, a subject's keys to ttl + ttl/8)
    for (const [k, ms] of first) expect([k, ms > ttl - 2_000]).toEqual([k, true]);

    // The next window within ttl/8: the subject's keys keep their expiry (none set again), but
    // keys made anew get theirs: an evidence list and a member set gone in between.
    await sleep(400);
    await raw.del(
      `${redisConfig.keyPrefix}rep:r:10.7.0.1:ev`,
      `${redisConfig.keyPrefix}rep:r:10.7.0.1:m`,
    );
    await r.fold([window('e.test', t0 + 10_000)], prefixOf, () => false);
    const second = await pttls();
    expect(second.get('rep:r:10.7.0.1')).toBeLessThan(first.get('rep:r:10.7.0.1')! - 300);
    expect(second.get('rep:rz:10.7.0.1|e.test:ev')).toBeLessThan(
      first.get('rep:rz:10.7.0.1|e.test:ev')! - 300,
    );
    expect(second.get('rep:r:10.7.0.1:ev')).toBeGreaterThan(ttl);
    expect(second.get('rep:r:10.7.0.1:m')).toBeGreaterThan(ttl);
    for (const [k, ms] of second) expect([k, ms > 0]).toEqual([k, true]);

    // Past ttl/8 since the last refresh: every key of each folded subject is set again.
    await sleep(ttl / 8 + 200);
    await r.fold([window('e.test', t0 + 20_000)], prefixOf, () => false);
    const third = await pttls();
    for (const k of ['rep:r:10.7.0.1', 'rep:rz:10.7.0.1|e.test', 'rep:rz:10.7.0.1|e.test:ev'])
      expect([k, third.get(k)! > ttl]).toEqual([k, true]);
    for (const [k, ms] of third) expect([k, ms > 0]).toEqual([k, true]);
  });

  it("bounds each kind's members by the subjects held: an evicted subject leaves its prefix, ASN and per-zone member sets", async () => {
    const cap = 2_000;
    const { redisConfig, redis, raw } = await connected();
    // member lists far above the flood, so only the eviction can keep them small
    const r = new ReputationRepository(redis, {
      ...settings,
      maxSubjectsPerKind: cap,
      maxMembers: 100_000,
    });
    const n = 8_000;
    const prefixes = (i: number) => `172.17.${i % 4}.0/24`;
    const records = Array.from({ length: n }, (_, i) =>
      offender({
        resolver: `10.9.${(i >> 8) & 255}.${i & 255}`,
        zone: `m${i % 2}.test`,
        attack: 10 + i,
        total: 12 + i,
        at: t0 + 10_000,
        asn: 64_100 + (i % 2),
        prefix: prefixes(i),
      }),
    );
    for (let i = 0; i < n; i += 2_000)
      await r.fold(records.slice(i, i + 2_000), prefixOf, () => false);
    const members = async (pattern: string) => {
      let total = 0;
      let cursor = '0';
      do {
        const [next, found] = await raw.scan(
          cursor,
          'MATCH',
          `${redisConfig.keyPrefix}${pattern}`,
          'COUNT',
          1000,
        );
        cursor = next;
        for (const k of found) total += await raw.zcard(k);
      } while (cursor !== '0');
      return total;
    };
    for (const kind of ['resolver-zone', 'resolver'])
      expect(await redis.zcard(`rep:idx:${kind}`)).toBe(cap);
    // Each resolver held is a member of its one prefix and one ASN, each (resolver, zone) held of
    // its prefix's and ASN's subject in that zone: exactly the cap, not the flood's 8,000.
    expect(await members('rep:p:*:m')).toBe(cap);
    expect(await members('rep:a:*:m')).toBe(cap);
    expect(await members('rep:pz:*:m')).toBe(cap);
    expect(await members('rep:az:*:m')).toBe(cap);
    expect(await members('rep:r:*:m')).toBeLessThanOrEqual(cap);
    // the survivors are the highest scores, and they are the members
    const top = `10.9.${((n - 1) >> 8) & 255}.${(n - 1) & 255}`;
    expect(await redis.zscore(`rep:p:${prefixes(n - 1)}:m`, top)).not.toBeNull();
    expect(await redis.zscore(`rep:p:${prefixes(0)}:m`, '10.9.0.0')).toBeNull();
  });
});
