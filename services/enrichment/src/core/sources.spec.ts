import { parseIp } from '@sluice/dns';
import { asnOfRecord, attributionOf, countryOfRecord } from './sources';

/** Record shapes without a file (the files themselves: data/mmdb-file.spec.ts). */
describe('MMDB records', () => {
  const ip = parseIp('192.0.2.77')!;

  it('reads the ASN by vendor field names, the network as prefix when there is no route', () => {
    expect(
      asnOfRecord(
        { autonomous_system_number: 64500, autonomous_system_organization: 'Example' },
        ip,
        24,
      ),
    ).toEqual({ asn: 64500, org: 'Example', prefix: '192.0.2.0/24' });
    expect(asnOfRecord({ asn: 'AS64501', as_name: 'Lite', route: '192.0.0.0/16' }, ip, 24)).toEqual(
      { asn: 64501, org: 'Lite', prefix: '192.0.0.0/16' },
    );
    expect(asnOfRecord({ country_code: 'GB' }, ip, 24)).toBeNull();
  });

  it('reads the country code, never a country name', () => {
    expect(countryOfRecord({ country: { iso_code: 'se' } })).toBe('SE');
    expect(countryOfRecord({ country: 'United Kingdom', country_code: 'GB' })).toBe('GB');
    expect(countryOfRecord({ registered_country: { iso_code: 'JP' } })).toBe('JP');
    expect(countryOfRecord({ asn: 'AS1' })).toBeNull();
  });

  it('credits the vendor named in the database type', () => {
    expect(attributionOf('/data/GeoLite2-ASN.mmdb', 'GeoLite2-ASN')).toContain('MaxMind');
    expect(attributionOf('/data/lite.mmdb', 'ipinfo ipinfo_lite.mmdb')).toContain('IPinfo');
  });
});
