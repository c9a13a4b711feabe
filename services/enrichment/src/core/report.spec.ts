import { type EnrichmentBlock } from '@sluice/contracts';
import { assignShares, buildReport, mergeAggregates } from './report';
import { renderCsv } from './report-csv';
import { type ResolverAggregate } from './report-model';
import { quantile } from './report-qps';
import { renderText, reportTables } from './report-render';
import { renderSvg } from './report-svg';

const block = (over: Partial<EnrichmentBlock>): EnrichmentBlock => ({
  asn: null,
  asOrg: null,
  prefix: null,
  country: null,
  resolverKind: 'isp',
  resolverOperator: null,
  miraiDefaultOperator: null,
  ...over,
});

const agg = (
  resolver: string,
  attackQueries: number,
  enrichment: EnrichmentBlock,
  activeMs = 10_000,
): ResolverAggregate => ({
  resolver,
  attackQueries,
  totalQueries: attackQueries + 1,
  activeMs,
  firstSeen: 1_000,
  lastSeen: 1_000 + activeMs,
  peakQps: attackQueries / (activeMs / 1000),
  enrichment,
  evidence: [{ ts: 1_500, resolver, qname: `abcdefgh0123.${resolver}.example.com` }],
});

const google = block({
  asn: 15169,
  asOrg: 'Google LLC',
  prefix: '8.8.8.0/24',
  country: 'US',
  resolverKind: 'mirai-default',
  resolverOperator: 'Google Public DNS',
  miraiDefaultOperator: 'Google Public DNS',
});
const googleEgress = block({
  asn: 15169,
  asOrg: 'Google LLC',
  prefix: '172.253.0.0/20',
  country: 'US',
  resolverKind: 'public',
  resolverOperator: 'Google Public DNS',
  miraiDefaultOperator: 'Google Public DNS',
});
const quad9 = block({
  asn: 19281,
  asOrg: 'Quad9',
  prefix: '9.9.9.0/24',
  country: 'CH',
  resolverKind: 'public',
  resolverOperator: 'Quad9',
});
const isp = (asn: number, cc: string, prefix: string) =>
  block({ asn, asOrg: `ISP ${asn}, "Ltd"`, prefix, country: cc });

const rows: ResolverAggregate[] = [
  agg('8.8.8.8', 300, google),
  agg('172.253.1.1', 100, googleEgress),
  agg('9.9.9.9', 100, quad9),
  agg('200.1.1.1', 150, isp(28573, 'BR', '200.1.0.0/16')),
  agg('200.1.2.2', 150, isp(28573, 'BR', '200.1.0.0/16')),
  agg('201.1.1.1', 100, isp(18881, 'BR', '201.1.0.0/16')),
  agg('10.0.0.1', 50, block({ resolverKind: 'bogon', note: 'private (RFC 1918)' })),
  agg('1.2.3.4', 50, isp(4134, 'CN', '1.2.0.0/16'), 1_000), // 50 qps: an outlier
  agg('5.5.5.5', 0, isp(1, 'DE', '5.5.0.0/16')), // counted totals only, no attack
];

describe('buildReport', () => {
  const report = buildReport(rows, {
    scope: { kind: 'alert', alertId: 'a1', zone: 'example.com' },
    now: 0,
  });

  it('country table: shares add up to 100, with distinct prefixes and ASNs', () => {
    expect(report.countries.map((c) => c.country)).toEqual(['BR', 'US', 'CH', '??', 'CN']);
    const br = report.countries[0]!;
    expect(br).toMatchObject({ attackQueries: 400, prefixes: 2, asns: 2, resolvers: 3, share: 40 });
    expect(report.countries.find((c) => c.country === 'US')).toMatchObject({
      share: 40,
      prefixes: 2,
      asns: 1,
    });
    expect(report.countries.reduce((a, c) => a + Math.round(c.share * 100), 0)).toBe(10_000);
    expect(report.totals).toMatchObject({
      attackQueries: 1000,
      resolvers: 8,
      asns: 5,
      countries: 4,
    });
  });

  it('top ASNs with org and the Mirai-default and public-resolver call-outs', () => {
    expect(report.asns[0]).toMatchObject({
      asn: 15169,
      share: 40,
      miraiDefaultOperator: 'Google Public DNS',
      publicResolverOperators: ['Google Public DNS'],
    });
    expect(report.asns[1]).toMatchObject({ asn: 28573, share: 30, resolvers: 2, prefixes: 1 });
    expect(report.asns.reduce((a, r) => a + Math.round(r.share * 100), 0)).toBe(10_000);
    expect(report.callouts.miraiDefaultAddresses).toMatchObject({ share: 30, resolvers: 1 });
    expect(report.callouts.miraiDefaultNetworks).toMatchObject({ share: 40, resolvers: 2 });
    expect(report.callouts.otherPublicResolvers).toMatchObject({ share: 10, resolvers: 1 });
    expect(report.callouts.bogon.share).toBe(5);
  });

  it('qps distribution: percentiles, log2 histogram, outliers above the Tukey fence', () => {
    const q = report.qps;
    expect(q.resolvers).toBe(8);
    expect(q.min).toBe(5);
    expect(q.max).toBe(50);
    expect(q.histogram.reduce((a, b) => a + b.resolvers, 0)).toBe(8);
    expect(q.histogram[0]).toEqual({ from: 4, to: 8, resolvers: 1 });
    expect(q.histogram[1]).toEqual({ from: 8, to: 16, resolvers: 5 });
    expect(q.outliers.map((o) => o.resolver)).toEqual(['1.2.3.4']);
    expect(q.outliers[0]).toMatchObject({ qps: 50, asn: 4134, country: 'CN' });
  });

  it('evidence grouped per ASN, biggest first', () => {
    expect(report.evidence[1]!.asn).toBe(28573);
    expect(report.evidence[1]!.resolvers.map((r) => r.resolver)).toEqual([
      '200.1.1.1',
      '200.1.2.2',
    ]);
    expect(report.evidence[1]!.resolvers[0]!.samples[0]!.qname).toBe(
      'abcdefgh0123.200.1.1.1.example.com',
    );
  });

  it('keeps attacker-chosen names from becoming spreadsheet formulas in CSV', () => {
    const samples = [
      { ts: 1, resolver: '192.0.2.1', qname: '=HYPERLINK("http://x","y").victim.example' },
      { ts: 2, resolver: '192.0.2.1', qname: '@sum(1).victim.example' },
    ];
    const row = {
      asn: 64500,
      org: '+ISP',
      country: 'ZZ',
      resolver: '192.0.2.1',
      firstSeen: 1,
      lastSeen: 2,
      attackQueries: 2,
      totalQueries: 2,
      samples,
    };
    const evil = {
      ...report,
      evidence: [{ asn: 64500, org: '+ISP', attackQueries: 2, resolvers: [row] }],
    } as typeof report;
    const csv = renderCsv(evil, 'evidence');
    expect(csv).toContain(`"'=HYPERLINK(""http://x"",""y"").victim.example"`);
    expect(csv).toContain(`'@sum(1).victim.example`);
    expect(csv).not.toMatch(/(^|,)[=@+]/m);
  });

  it('renders CSV with quoting, tables, text and SVG', () => {
    const csv = renderCsv(report, 'asns').split('\n');
    expect(csv[0]).toBe(
      'asn,org,country,resolvers,prefixes,attack_queries,share_pct,mirai_default_operator,public_resolver_operators',
    );
    expect(csv).toContain('28573,"ISP 28573, ""Ltd""",BR,2,1,300,30.00,,');
    const ev = renderCsv(report, 'evidence');
    expect(ev).toContain(
      '28573,"ISP 28573, ""Ltd""",BR,200.1.1.1,1970-01-01T00:00:01.500Z,abcdefgh0123.200.1.1.1.example.com',
    );
    expect(reportTables(report, 'countries')[0]!.rows[0]).toEqual(['BR', '2', '2', '3', '40.00']);
    expect(renderText(report)).toContain('Resolver Country Code');
    const svg = renderSvg(report, 'asns');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('ISP 28573, &quot;Ltd&quot;');
    expect(renderSvg(report, 'qps')).toContain('<rect');
  });

  it('an empty scope gives an empty report, not a crash', () => {
    const empty = buildReport([], { scope: { kind: 'zone', zone: 'x', from: 0, to: 1 } });
    expect(empty.totals.attackQueries).toBe(0);
    expect(empty.countries).toEqual([]);
    expect(empty.qps.resolvers).toBe(0);
    expect(renderText(empty)).toContain('0 attack queries');
  });
});

describe('helpers', () => {
  it('says what the row cap of the store evicted, outside the totals and tables', () => {
    const report = buildReport(rows, {
      scope: { kind: 'alert', alertId: 'a1', zone: 'example.com' },
      now: 0,
    });
    expect(report.evicted).toEqual({ rows: 0, attackQueries: 0, totalQueries: 0 });
    expect(renderText(report)).not.toContain('evicted');
    const capped = buildReport(rows, {
      scope: { kind: 'alert', alertId: 'a1', zone: 'example.com' },
      now: 0,
      evicted: { rows: 12, attackQueries: 250, totalQueries: 260 },
    });
    expect(capped.totals.attackQueries).toBe(1000);
    expect(capped.countries).toEqual(report.countries);
    expect(renderText(capped)).toContain(
      'not in these tables: 12 resolver rows with 250 attack queries (20.00 % of 1250), evicted',
    );
  });

  it('assignShares rounds so the column sums to exactly 100.00', () => {
    const three = [1, 1, 1].map((q) => ({ attackQueries: q, share: 0 }));
    assignShares(three, 3);
    expect(three.map((r) => r.share)).toEqual([33.34, 33.33, 33.33]);
    const skew = [997, 1, 1, 1].map((q) => ({ attackQueries: q, share: 0 }));
    assignShares(skew, 1000);
    expect(skew.reduce((a, r) => a + Math.round(r.share * 100), 0)).toBe(10_000);
  });

  it('mergeAggregates adds a resolver across time buckets', () => {
    const a = agg('1.1.1.1', 10, quad9);
    const b = {
      ...agg('1.1.1.1', 30, quad9, 5_000),
      firstSeen: 20_000,
      lastSeen: 25_000,
      peakQps: 6,
    };
    const [m] = mergeAggregates([a, b]);
    expect(m).toMatchObject({
      attackQueries: 40,
      activeMs: 15_000,
      firstSeen: 1_000,
      lastSeen: 25_000,
      peakQps: 6,
    });
    expect(m!.evidence).toHaveLength(2);
  });

  it('quantile interpolates', () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantile([7], 0.99)).toBe(7);
  });
});
