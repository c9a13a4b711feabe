import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeMmdb } from '../../test/mmdb-writer';
import { Enricher } from './enricher';
import { asnSourceOf, countrySourceOf, MmdbFile } from './sources';

/** Vendor record shapes other than GeoLite2 (which has real fixtures in enricher.spec.ts). */
describe('MMDB vendor shapes', () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'sluice-mmdb-shapes-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, buf: Buffer) => {
    const path = join(dir, name);
    writeFileSync(path, buf);
    return MmdbFile.open(path);
  };

  it('ipinfo Lite: "AS15169" strings, as_name, country_code; one file for both roles', () => {
    const lite = file(
      'ipinfo_lite.mmdb',
      writeMmdb('ipinfo ipinfo_lite.mmdb', [
        [
          '8.8.8.0/24',
          {
            asn: 'AS15169',
            as_name: 'Google LLC',
            as_domain: 'google.com',
            country_code: 'US',
            country: 'United States',
            continent: 'North America',
          },
        ],
        [
          '2a02:6b8::/29',
          { asn: 'AS13238', as_name: 'YANDEX LLC', country_code: 'RU', country: 'Russia' },
        ],
        ['81.2.64.0/18', { country_code: 'GB', country: 'United Kingdom' }],
      ]),
    );
    const e = new Enricher({ asn: asnSourceOf(lite), country: countrySourceOf(lite) });
    expect(e.enrich('8.8.8.8')).toMatchObject({
      asn: 15169,
      asOrg: 'Google LLC',
      prefix: '8.8.8.0/24',
      country: 'US',
      resolverKind: 'mirai-default',
    });
    expect(e.enrich('2a02:6b8::feed:ff')).toMatchObject({
      asn: 13238,
      prefix: '2a02:6b8::/29',
      country: 'RU',
      resolverOperator: 'Yandex.DNS',
    });
    // country known, ASN not: no guess
    expect(e.enrich('81.2.69.160')).toMatchObject({
      asn: null,
      asOrg: null,
      country: 'GB',
      resolverKind: 'unknown',
    });
    expect(e.attributions[0]).toContain('IPinfo');
  });

  it('ipinfo ASN database: route as the prefix; ipinfo country database: 2-letter country', () => {
    const asn = file(
      'asn.mmdb',
      writeMmdb('ipinfo asn.mmdb', [
        [
          '74.82.42.0/24',
          {
            asn: 'AS6939',
            name: 'Hurricane Electric LLC',
            domain: 'he.net',
            route: '74.82.0.0/18',
            type: 'isp',
          },
        ],
      ]),
    );
    const country = file(
      'country.mmdb',
      writeMmdb('ipinfo country.mmdb', [
        ['74.82.0.0/16', { country: 'US', country_name: 'United States' }],
      ]),
    );
    const e = new Enricher({ asn: asnSourceOf(asn), country: countrySourceOf(country) });
    expect(e.enrich('74.82.42.42')).toMatchObject({
      asn: 6939,
      asOrg: 'Hurricane Electric LLC',
      prefix: '74.82.0.0/18',
      country: 'US',
    });
  });

  it('an IPv4-only lookup of an address the file does not cover is null, not an error', () => {
    const asn = file(
      'empty.mmdb',
      writeMmdb('GeoLite2-ASN', [
        [
          '1.0.0.0/24',
          { autonomous_system_number: 13335, autonomous_system_organization: 'Cloudflare' },
        ],
      ]),
    );
    const e = new Enricher({ asn: asnSourceOf(asn), country: countrySourceOf(asn) });
    expect(e.enrich('9.9.9.9')).toMatchObject({ asn: null, country: null });
    expect(e.enrich('1.0.0.1')).toMatchObject({ asn: 13335, prefix: '1.0.0.0/24', country: null });
  });
});
