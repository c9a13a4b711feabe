import { cidrOf, type ParsedIp } from '@sluice/dns';

export interface AsnRecord {
  asn: number | null;
  org: string | null;
  prefix: string | null;
}

export interface AsnSource {
  readonly name: string;
  /** Credit line for reports (CC BY data must be attributed wherever results are shown). */
  readonly attribution?: string;
  lookup(ip: ParsedIp): AsnRecord | null;
}

export interface CountrySource {
  readonly name: string;
  readonly attribution?: string;
  lookup(ip: ParsedIp): string | null;
}

/** One record of a MaxMind-format database, as the reader returns it. */
export type MmdbRecord = Record<string, unknown>;

/**
 * Record shapes differ by vendor, so fields are read by name:
 * GeoLite2-ASN / DB-IP ASN (`autonomous_system_number`, `autonomous_system_organization`),
 * ipinfo ASN and ipinfo Lite (`asn: "AS15169"`, `name` / `as_name`, `route`),
 * GeoLite2-Country / City (`country.iso_code`, `registered_country.iso_code`),
 * ipinfo country (`country: "US"`), ip-location-db (`country_code`).
 *
 * The ASN of the record that holds `ip`; without a route of its own the prefix is the
 * database's network (`prefixLength`).
 */
export function asnOfRecord(
  record: MmdbRecord,
  ip: ParsedIp,
  prefixLength: number,
): AsnRecord | null {
  const asn = readAsn(record.autonomous_system_number ?? record.asn);
  const org = str(record.autonomous_system_organization) ?? str(record.as_name) ?? str(record.name);
  if (asn === null && org === null) return null;
  const prefix = str(record.route) ?? str(record.network) ?? cidrOf(ip, prefixLength);
  return { asn, org, prefix };
}

/** The record's ISO country code (see asnOfRecord for the vendor shapes). */
export function countryOfRecord(record: MmdbRecord): string | null {
  // First field holding an ISO code wins: ipinfo Lite puts the country's *name* in `country`
  // and the code in `country_code`; GeoLite2 nests it; ipinfo's country DB has the code flat.
  for (const v of [
    isoOf(record.country),
    str(record.country_code),
    isoOf(record.registered_country),
  ])
    if (v !== null && /^[A-Za-z]{2}$/.test(v)) return v.toUpperCase();
  return null;
}

export const PACKAGED_ASN_ATTRIBUTION =
  'ASN data: Route Views (routeviews.org), NRO (nro.net) and DB-IP ASN Lite — IP Geolocation by DB-IP (https://db-ip.com), CC BY 4.0, via @ip-location-db/asn';
export const PACKAGED_COUNTRY_ATTRIBUTION =
  'Country data: geofeeds, RIR whois and NRO statistics (nro.net, CC BY 4.0), via @ip-location-db/geo-whois-asn-country-mmdb (CC0)';

/** Credit line for a MaxMind-format file, by its path and its metadata's database type. */
export function attributionOf(path: string, databaseType: string): string {
  if (path.includes('geo-whois-asn-country')) return PACKAGED_COUNTRY_ATTRIBUTION;
  const vendor = /geolite|geoip/i.test(databaseType)
    ? ' — includes GeoLite2 data created by MaxMind (https://www.maxmind.com)'
    : /ipinfo/i.test(databaseType)
      ? ' — IP address data powered by IPinfo (https://ipinfo.io)'
      : /db-?ip/i.test(databaseType)
        ? ' — IP Geolocation by DB-IP (https://db-ip.com)'
        : '';
  return `${databaseType} (${path})${vendor}`;
}

function str(v: unknown): string | null {
  return typeof v === 'string' && v.length > 0 ? v : null;
}

function isoOf(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && 'iso_code' in v)
    return str((v as { iso_code: unknown }).iso_code);
  return null;
}

function readAsn(v: unknown): number | null {
  if (typeof v === 'number' && Number.isInteger(v) && v > 0) return v;
  if (typeof v === 'string') {
    const m = /^(?:AS)?(\d+)$/i.exec(v.trim());
    if (m) return Number(m[1]) || null;
  }
  return null;
}
