import { type EnrichedOffender } from '@sluice/contracts';
import { createRedis, type Redis } from '@sluice/redis';
import { testRedisConfig } from '@sluice/testing';
import { decayTo, fold, type Decayed } from '../../src/core/decay';
import { ReputationRepository } from '../../src/redis/reputation.repository';
import { offender } from '../fixtures/offenders';

jest.setTimeout(60_000);

const settings = {
  halfLifeMs: 60_000,
  evidenceCap: 5,
  memberWindowMs: 3_600_000,
  keyTtlMs: 600_000,
  dedupTtlMs: 600_000,
  offenderMinRatio: 0.5,
  legitMinQueries: 5,
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

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.quit()));
  });

  const t0 = 1_700_000_000_000;
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
    // Chunks of 1000 records each fold atomically; the last state reflects all of them.
    const asn = res[res.length - 1]!.states.asn!;
    expect(asn.members).toBe(2500);
    expect(asn.attack).toBeGreaterThan(2500 * 90 * 0.97);
    expect(asn.protectedInside).toBe(true);
    const x = await r.explain('asn', '64999');
    expect(x.evidence).toHaveLength(5);
    expect((x.evidence[0] as { resolver: string }).resolver).toBe(many[many.length - 1]!.resolver);
    expect(await r.asnNetworks(64999, t0 + 2500, 5000)).toHaveLength(2500);
  });
});
