import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SluiceError } from '@sluice/contracts';
import { writeMmdb } from '../../test/mmdb-writer';
import { Enricher } from '../core/enricher';
import { asnSourceOf, countrySourceOf, MmdbFile } from './mmdb-file';

const fixtures = join(__dirname, '../../test/fixtures/mmdb');

describe('operator MMDB files', () => {
  it('reads GeoLite2-ASN and GeoLite2-Country shapes, with the MMDB network as prefix', () => {
    const asn = MmdbFile.open(join(fixtures, 'GeoLite2-ASN-Test.mmdb'));
    const country = MmdbFile.open(join(fixtures, 'GeoLite2-Country-Test.mmdb'));
    const e = new Enricher({ asn: asnSourceOf(asn), country: countrySourceOf(country) });
    expect(e.enrich('89.160.20.112')).toMatchObject({
      asn: 29518,
      asOrg: 'Bredband2 AB',
      prefix: '89.160.0.0/17',
      country: 'SE',
      resolverKind: 'isp',
    });
    expect(e.enrich('2600:6000::1')).toMatchObject({ asn: 237, prefix: '2600:6000::/20' });
    expect(e.enrich('2001:218::1')).toMatchObject({
      country: 'JP',
      asn: null,
      resolverKind: 'unknown',
    });
  });

  describe('bad files fail naming the file', () => {
    let dir: string;
    beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'sluice-mmdb-'))));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('missing', () => {
      const path = join(dir, 'nope.mmdb');
      expect(() => MmdbFile.open(path)).toThrow(SluiceError);
      expect(() => MmdbFile.open(path)).toThrow(
        new RegExp(`MMDB file ${path} cannot be read \\(ENOENT\\)`),
      );
    });

    it('not an MMDB at all', () => {
      const path = join(dir, 'garbage.mmdb');
      writeFileSync(path, 'this is not a database');
      expect(() => MmdbFile.open(path)).toThrow(
        new RegExp(`MMDB file ${path} is not a valid MaxMind database`),
      );
    });

    it('truncated', () => {
      const path = join(dir, 'truncated.mmdb');
      copyFileSync(join(fixtures, 'GeoLite2-ASN-Test.mmdb'), path);
      writeFileSync(path, readFileSync(path).subarray(0, 4000));
      expect(() => MmdbFile.open(path)).toThrow(/is not a valid MaxMind database/);
    });
  });
});

/** Vendor record shapes other than GeoLite2 (which has real fixtures above). */
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
