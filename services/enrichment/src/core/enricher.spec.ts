import { join } from 'node:path';
import { parseIp } from '@sluice/dns';
import { asnSourceOf, countrySourceOf, MmdbFile } from '../data/mmdb-file';
import { loadPackagedAsnTable, packagedDataPaths } from '../data/packaged-data';
import { Enricher } from './enricher';
import { PUBLIC_RESOLVERS, PublicResolverTable } from './public-resolvers';

const fixtures = join(__dirname, '../../test/fixtures/mmdb');

describe('Enricher over the packaged offline data (real lookups)', () => {
  const enricher = new Enricher({
    asn: loadPackagedAsnTable(),
    country: countrySourceOf(MmdbFile.open(packagedDataPaths().countryMmdb)),
  });

  it.each([
    ['8.8.8.8', 15169, 'US', 'Google Public DNS'],
    ['74.82.42.42', 6939, 'US', 'Hurricane Electric'],
    ['4.2.2.2', 3356, 'US', 'Level 3 (Lumen)'],
    ['64.6.64.6', 19905, 'US', 'Neustar UltraDNS Public (formerly Verisign)'],
  ])('%s → AS%d %s, a Mirai default', (ip, asn, country, operator) => {
    const e = enricher.enrich(ip);
    expect(e).toMatchObject({
      asn,
      country,
      resolverKind: 'mirai-default',
      resolverOperator: operator,
    });
    expect(e.asOrg).toBeTruthy();
    expect(e.prefix).toMatch(/^\d+\.\d+\.\d+\.\d+\/\d+$/);
    expect(e.miraiDefaultOperator).toBe(operator);
  });

  it('labels other public resolvers with their operator, IPv4 and IPv6', () => {
    expect(enricher.enrich('9.9.9.9')).toMatchObject({
      asn: 19281,
      resolverKind: 'public',
      resolverOperator: 'Quad9',
    });
    expect(enricher.enrich('2606:4700:4700::1111')).toMatchObject({
      asn: 13335,
      resolverKind: 'public',
      resolverOperator: 'Cloudflare 1.1.1.1',
    });
    expect(enricher.enrich('2001:4860:4860::8888')).toMatchObject({
      asn: 15169,
      country: 'US',
      resolverKind: 'public',
    });
  });

  it('labels egress addresses of dedicated resolver networks as public, by ASN', () => {
    expect(enricher.enrich('172.253.1.1')).toMatchObject({
      asn: 15169,
      resolverKind: 'public',
      resolverOperator: 'Google Public DNS',
      note: 'egress network of Google Public DNS',
    });
  });

  it('places resolvers by geofeed/whois country (the data choice in the README)', () => {
    expect(enricher.enrich('77.88.8.8')).toMatchObject({
      asn: 13238,
      country: 'RU',
      resolverOperator: 'Yandex.DNS',
    });
    expect(enricher.enrich('2a02:6b8::feed:ff')).toMatchObject({
      country: 'RU',
      resolverKind: 'public',
    });
    expect(enricher.enrich('114.114.114.114')).toMatchObject({
      country: 'CN',
      resolverOperator: '114DNS',
    });
  });

  it('labels ISP resolvers with ASN, org, prefix and country', () => {
    const e = enricher.enrich('81.2.69.160');
    expect(e).toMatchObject({
      asn: 20712,
      country: 'GB',
      resolverKind: 'isp',
      resolverOperator: null,
    });
    expect(e.prefix).toMatch(/^81\.2\.\d+\.0\/\d+$/);
  });

  it('keeps the key order of looked-up blocks: report rows store their JSON as is', () => {
    const order = [
      'asn',
      'asOrg',
      'prefix',
      'country',
      'miraiDefaultOperator',
      'resolverKind',
      'resolverOperator',
      'note',
    ];
    // a Mirai default, another public resolver, an egress network, an ISP, no routed ASN
    for (const ip of ['8.8.8.8', '9.9.9.9', '172.253.1.1', '81.2.69.160', '3000::1'])
      expect(Object.keys(enricher.compute(ip))).toEqual(order);
    expect(enricher.compute('3000::1')).toMatchObject({ resolverKind: 'unknown', asn: null });
  });

  it('labels bogons and garbage without crashing', () => {
    expect(enricher.enrich('10.1.2.3')).toMatchObject({
      resolverKind: 'bogon',
      asn: null,
      note: 'private (RFC 1918)',
    });
    expect(enricher.enrich('192.0.2.7')).toMatchObject({ resolverKind: 'bogon' });
    expect(enricher.enrich('fd00::1')).toMatchObject({
      resolverKind: 'bogon',
      note: 'unique local (RFC 4193)',
    });
    expect(enricher.enrich('::1')).toMatchObject({ resolverKind: 'bogon' });
    expect(enricher.enrich('not-an-ip')).toMatchObject({ resolverKind: 'unknown', asn: null });
    expect(enricher.enrich('')).toMatchObject({ resolverKind: 'unknown' });
  });

  it('answers repeats from the LRU cache', () => {
    const e = new Enricher(
      {
        asn: loadPackagedAsnTable(),
        country: countrySourceOf(MmdbFile.open(packagedDataPaths().countryMmdb)),
      },
      2,
    );
    e.enrich('8.8.8.8');
    e.enrich('8.8.8.8');
    e.enrich('1.1.1.1');
    e.enrich('9.9.9.9'); // evicts 8.8.8.8
    e.enrich('8.8.8.8');
    expect(e.stats()).toEqual({ lookups: 5, cacheHits: 1, cacheSize: 2 });
  });
});

describe('operator MMDB files', () => {
  it('replaceSources drops cached answers from the old data', () => {
    const fixtureAsn = asnSourceOf(MmdbFile.open(join(fixtures, 'GeoLite2-ASN-Test.mmdb')));
    const country = countrySourceOf(MmdbFile.open(join(fixtures, 'GeoLite2-Country-Test.mmdb')));
    const e = new Enricher({ asn: fixtureAsn, country });
    expect(e.enrich('1.0.0.1').asOrg).toBe('Google Inc.');
    e.replaceSources({ asn: loadPackagedAsnTable() });
    expect(e.enrich('1.0.0.1')).toMatchObject({ asn: 13335, asOrg: 'Cloudflare, Inc.' });
  });
});

describe('PublicResolverTable', () => {
  const table = new PublicResolverTable();
  it('knows the four Mirai defaults and their networks', () => {
    for (const ip of ['8.8.8.8', '74.82.42.42', '64.6.64.6', '4.2.2.2'])
      expect(table.match(ip)?.miraiDefault).toBe(true);
    expect(table.match('8.8.4.4')).toEqual({ operator: 'Google Public DNS', miraiDefault: false });
    expect([15169, 6939, 19905, 3356].map((a) => table.miraiOperatorOfAsn(a) !== null)).toEqual([
      true,
      true,
      true,
      true,
    ]);
    expect(table.miraiOperatorOfAsn(13335)).toBeNull();
  });

  it('lists every operator with valid, unique addresses, and IPv6 for most', () => {
    const names = PUBLIC_RESOLVERS.map((o) => o.operator);
    expect(new Set(names).size).toBe(names.length);
    for (const op of PUBLIC_RESOLVERS)
      for (const a of op.addresses) expect(parseIp(a)).not.toBeNull();
    const withV6 = PUBLIC_RESOLVERS.filter((o) => o.addresses.some((a) => a.includes(':')));
    expect(withV6.length).toBeGreaterThanOrEqual(12);
    expect(table.match('2a10:50c0::ad1:ff')?.operator).toBe('AdGuard DNS');
    expect(table.match('114.114.114.114')?.operator).toBe('114DNS');
  });
});
