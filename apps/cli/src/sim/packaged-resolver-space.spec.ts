import { EnrichmentData } from '@sluice/enrichment';
import { simulateLabelled, type ResolverSpace, type ScenarioSpec } from '@sluice/traffic-sim';
import { packagedResolverSpace } from './packaged-resolver-space';

/** The demo's scenario (scripts/demo.sh) on a seed, plus floods that bring their own pools. */
const demo = (seed: number | string, space?: ResolverSpace): ScenarioSpec => ({
  seed,
  startTime: Date.UTC(2026, 0, 1),
  durationMs: 30_000,
  zones: 20,
  benignQps: 300,
  withResponses: true,
  streams: [
    {
      kind: 'mirai',
      zone: 'acme.com',
      startMs: 5_000,
      durationMs: 20_000,
      qps: 1_000,
      resolvers: 2_000,
    },
    { kind: 'lowslow', zone: 'zone3.example', startMs: 0, durationMs: 30_000, qps: 100 },
    { kind: 'randomlabel', zone: 'zone5.example', startMs: 0, durationMs: 30_000, qps: 100 },
  ],
  ...(space ? { resolverSpace: space } : {}),
});

/**
 * Against the enrichment's own lookup: with `resolverSpace`, the simulated resolvers sit in
 * allocated networks, so the demo's report has no "??" country or ASN; without it the
 * synthetic space (every existing seed's traffic) has plenty.
 */
describe('packagedResolverSpace (sluice simulate --resolver-space allocated)', () => {
  let space: ResolverSpace;
  let data: EnrichmentData;

  beforeAll(() => {
    space = packagedResolverSpace();
    data = EnrichmentData.load({ asnMmdb: null, countryMmdb: null, cacheSize: 50_000 });
  }, 120_000);

  /** Share of distinct resolvers, and of queries, the enrichment maps to a country and an ASN. */
  const known = (spec: ScenarioSpec) => {
    const queries = new Map<string, number>();
    const countries = new Map<string, number>();
    let total = 0;
    let knownQueries = 0;
    for (const { event, origin } of simulateLabelled(spec)) {
      queries.set(event.resolver, (queries.get(event.resolver) ?? 0) + 1);
      const block = data.enricher.enrich(event.resolver);
      const ok = block.country !== null && block.asn !== null;
      total++;
      if (ok) knownQueries++;
      if (origin === 'mirai')
        countries.set(block.country ?? '??', (countries.get(block.country ?? '??') ?? 0) + 1);
    }
    const resolvers = [...queries.keys()];
    const knownResolvers = resolvers.filter((r) => {
      const b = data.enricher.enrich(r);
      return b.country !== null && b.asn !== null;
    });
    return {
      resolvers: knownResolvers.length / resolvers.length,
      queries: knownQueries / total,
      distinct: resolvers.length,
      topCountries: [...countries]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 3)
        .map(([c]) => c),
    };
  };

  it.each([1, 2016, 7, 'demo'])(
    'seed %p: at least 99 %% of simulated resolvers map to a known country and ASN',
    (seed) => {
      const k = known(demo(seed, space));
      expect(k.distinct).toBeGreaterThan(3_000);
      expect(k.resolvers).toBeGreaterThanOrEqual(0.99);
      expect(k.queries).toBeGreaterThanOrEqual(0.99);
      // The seed article's order at the top: the US (with Mirai's defaults), China, Brazil.
      expect(k.topCountries).toEqual(['US', 'CN', 'BR']);
    },
    60_000,
  );

  it('without it, the synthetic space is what it was: many resolvers with no country or ASN', () => {
    expect(known(demo(2016)).resolvers).toBeLessThan(0.9);
  }, 60_000);
});
