import { type BlocklistEntry, type EnrichedOffender } from '@sluice/contracts';
import { BlockPolicy, type PolicyConfig } from './core/policy';
import { type BlocklistRepository } from './redis/blocklist.repository';
import { type FoldResult, type ReputationRepository } from './redis/reputation.repository';
import { testPolicyConfig } from '../test/fixtures/policy';
import { type GuardRepository } from './redis/guard.repository';
import { ReputationPipeline, type BlocklistSink } from './reputation.pipeline';

const cfg: PolicyConfig = testPolicyConfig({ allowZones: ['rum.test'] });

const record = (zone: string, windowEnd: number): EnrichedOffender => ({
  v: 1,
  zone,
  resolver: '10.0.0.1',
  windowStart: windowEnd - 10_000,
  windowEnd,
  attackQueries: 900,
  totalQueries: 1000,
  alertId: null,
  evidence: [],
  enrichment: {
    asn: null,
    asOrg: null,
    prefix: null,
    country: null,
    resolverKind: 'isp',
    resolverOperator: null,
  },
});

const hot: FoldResult = {
  duplicate: false,
  prefix: '10.0.0.0/24',
  states: {
    'resolver-zone': {
      attack: 900,
      total: 1000,
      ts: 5_000_000,
      members: 1,
      protectedInside: false,
    },
    resolver: { attack: 900, total: 1000, ts: 5_000_000, members: 1, protectedInside: false },
    prefix: { attack: 900, total: 1000, ts: 5_000_000, members: 1, protectedInside: false },
  },
};

function setup(
  opts: {
    existing?: BlocklistEntry[];
    removed?: string[];
    clock?: 'wall' | 'event' | 'auto';
    onClock?: (zone: string, mode: 'event' | 'wall', lagMs: number) => void;
  } = {},
) {
  // Every record's subjects come back hot, as of the record's own event time.
  const fold = jest.fn<Promise<FoldResult[]>, Parameters<ReputationRepository['fold']>>((records) =>
    Promise.resolve(
      records.map((r) => ({
        ...hot,
        states: Object.fromEntries(
          Object.entries(hot.states).map(([k, v]) => [k, { ...v, ts: r.windowEnd }]),
        ),
      })),
    ),
  );
  const existing = new Map((opts.existing ?? []).map((e) => [e.id, e]));
  const apply = jest.fn((_u: readonly BlocklistEntry[], d: readonly string[]) =>
    Promise.resolve({ cursor: '1-0', removed: [...(opts.removed ?? []), ...d] }),
  );
  const store = {
    get: jest.fn(() => Promise.resolve(existing)),
    apply,
    expired: jest.fn(() => Promise.resolve(['rz:gone|x.test'])),
    snapshot: jest.fn(() => Promise.resolve({ cursor: '1-0', entries: [] })),
  };
  const changed = jest.fn((_u: readonly BlocklistEntry[], _r: readonly string[]) =>
    Promise.resolve(),
  );
  const sink: BlocklistSink = { name: 'spy', changed };
  const pipeline = new ReputationPipeline(
    { fold } as unknown as ReputationRepository,
    store as unknown as BlocklistRepository,
    new BlockPolicy(cfg),
    [sink],
    {
      clock: opts.clock ?? 'event',
      autoEventLagMs: 300_000,
      refreshStepMs: 10_000,
      prefixFallbackV4: 24,
      prefixFallbackV6: 48,
      maxPrefixV4: 24,
      maxPrefixV6: 48,
      refreshDebounceMs: 1,
      guard: {
        enabled: true,
        action: 'refused',
        actionWithZoneData: 'nxdomain',
        holdMs: 300_000,
        staleMs: 120_000,
        allMinQps: 50,
        maxLeakShare: 0.05,
        maxNames: 1000,
        shadow: false,
        allowZones: [],
      },
      zoneData: new Map(),
      onClock: opts.onClock,
    },
    {
      setLeak: jest.fn(),
      inputs: jest.fn(() => Promise.resolve(null)),
    } as unknown as GuardRepository,
  );
  return { pipeline, fold, apply, changed, store };
}

describe('ReputationPipeline', () => {
  it('skips allowlisted zones before touching Redis', async () => {
    const { pipeline, fold } = setup();
    await pipeline.ingest([record('beacon.rum.test', 5_000_000)]);
    expect(fold).not.toHaveBeenCalled();
    expect(pipeline.stats.skipped['zone-allowlisted']).toBe(1);
  });

  it('writes the (resolver, zone) entry, expiring in event time when clock=event', async () => {
    const { pipeline, apply, changed } = setup();
    await pipeline.ingest([record('victim.test', 5_000_000)]);
    const upserts = apply.mock.calls[0]![0];
    expect(upserts.map((e) => e.id)).toEqual(['rz:10.0.0.1|victim.test']);
    expect(upserts[0]!.expiresAt).toBe(5_000_000 + 100_000);
    expect(changed).toHaveBeenCalledWith(upserts, []);
    // The resolver (one zone) and the prefix (one resolver) stay below their thresholds.
    expect(pipeline.stats.skipped['below-threshold']).toBe(2);
    await pipeline.settle();
  });

  it('derives the per-subnet key when enrichment has no prefix', () => {
    const { pipeline } = setup();
    expect(pipeline.prefixOf(record('victim.test', 1))).toBe('10.0.0.0/24');
    expect(pipeline.prefixOf({ ...record('victim.test', 1), resolver: '2001:db8:1:2::53' })).toBe(
      '2001:db8:1::/48',
    );
  });

  it('does not rewrite an entry whose expiry moved less than the refresh step', async () => {
    const prior: BlocklistEntry = {
      v: 1,
      id: 'rz:10.0.0.1|victim.test',
      scope: { kind: 'resolver-zone', resolver: '10.0.0.1', zone: 'victim.test' },
      action: 'refused',
      reason: 'r',
      score: 90,
      createdAt: 4_900_000,
      expiresAt: 5_095_000,
      shadow: false,
    };
    const { pipeline, apply } = setup({ existing: [prior] });
    await pipeline.ingest([record('victim.test', 5_000_000)]);
    expect(apply).not.toHaveBeenCalled();
  });

  it('publishes an upsert dropped by the cap only as a tombstone', async () => {
    const { pipeline, changed } = setup({ removed: ['rz:10.0.0.1|victim.test'] });
    await pipeline.ingest([record('victim.test', 5_000_000)]);
    expect(changed).toHaveBeenCalledWith([], ['rz:10.0.0.1|victim.test']);
    await pipeline.settle();
  });

  it('sweeps expired entries into removals', async () => {
    const { pipeline, apply, changed } = setup();
    expect(await pipeline.sweep()).toBe(1);
    expect(apply).toHaveBeenCalledWith([], ['rz:gone|x.test']);
    expect(changed).toHaveBeenCalledWith([], ['rz:gone|x.test']);
    await pipeline.settle();
  });

  it('uses the wall clock by default, never earlier than the newest record', async () => {
    const { pipeline } = setup({ clock: 'wall' });
    const before = Date.now();
    expect(pipeline.now()).toBeGreaterThanOrEqual(before);
    await pipeline.ingest([record('victim.test', before + 3_600_000)]);
    expect(pipeline.now()).toBe(before + 3_600_000);
    await pipeline.settle();
  });

  it('narrows coarse enrichment ranges to a /24 (/48): 4.2.2.2 is not blocked as 4.0.0.0/14', () => {
    const { pipeline } = setup();
    const r = record('victim.test', 1);
    const coarse = {
      ...r,
      resolver: '4.2.2.2',
      enrichment: { ...r.enrichment, prefix: '4.0.0.0/14' },
    };
    expect(pipeline.prefixOf(coarse)).toBe('4.2.2.0/24');
    const fine = { ...coarse, enrichment: { ...coarse.enrichment, prefix: '4.2.2.0/25' } };
    expect(pipeline.prefixOf(fine)).toBe('4.2.2.0/25');
  });

  it('event clock per zone: one zone running ahead does not move another zone’s entries', async () => {
    const { pipeline, apply } = setup();
    await pipeline.ingest([record('b.test', 9_000_000), record('a.test', 5_000_000)]);
    const created = new Map(apply.mock.calls.flatMap((c) => c[0]).map((e) => [e.id, e.createdAt]));
    expect(created.get('rz:10.0.0.1|a.test')).toBe(5_000_000);
    expect(created.get('rz:10.0.0.1|b.test')).toBe(9_000_000);
    expect(pipeline.now('a.test')).toBe(5_000_000);
    expect(pipeline.now('b.test')).toBe(9_000_000);
  });

  it('the same records give the same entries at the same times whatever the batch cuts', async () => {
    const records = [1, 2, 3, 4].flatMap((i) => [
      record('a.test', 5_000_000 + i * 10_000),
      record('b.test', 7_000_000 + i * 10_000),
    ]);
    const run = async (cuts: number[]) => {
      const { pipeline, apply } = setup();
      let from = 0;
      for (const to of [...cuts, records.length]) {
        await pipeline.ingest(records.slice(from, to));
        from = to;
      }
      // Per zone (the Kafka key) the sequence is identical; across zones only interleaving differs.
      const lines = apply.mock.calls
        .flatMap((c) => c[0])
        .map((e) => `${e.id}@${e.createdAt}/${e.expiresAt}`);
      return ['a.test', 'b.test'].map((z) => lines.filter((l) => l.includes(`|${z}@`)));
    };
    const whole = await run([]);
    expect(whole[0]!.length).toBeGreaterThan(0);
    expect(await run([1, 2, 5])).toEqual(whole);
    expect(await run([3])).toEqual(whole);
  });

  it('auto clock: an old capture runs on its own event clock (said once), live zones on the wall', async () => {
    const onClock = jest.fn();
    const { pipeline, apply } = setup({ clock: 'auto', onClock });
    const old = Date.now() - 3 * 3_600_000;
    await pipeline.ingest([record('replayed.test', old)]);
    await pipeline.ingest([record('replayed.test', old + 10_000)]);
    expect(onClock).toHaveBeenCalledTimes(1);
    expect(onClock).toHaveBeenCalledWith('replayed.test', 'event', expect.any(Number));
    expect(apply.mock.calls[0]![0][0]!.createdAt).toBe(old);
    const before = Date.now();
    await pipeline.ingest([record('live.test', before)]);
    expect(pipeline.now('live.test')).toBeGreaterThanOrEqual(before);
    expect(pipeline.now('replayed.test')).toBe(old + 10_000);
  });
});
