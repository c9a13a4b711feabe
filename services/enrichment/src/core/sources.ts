import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Reader } from 'mmdb-lib';
import { ErrorCodes, SluiceError } from '@sluice/contracts';
import { AsnRangeTable } from './asn-range-table';
import { cidrOf, formatIp, type ParsedIp } from '@sluice/dns';

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

type MmdbRecord = Record<string, unknown>;

/**
 * One MaxMind-format file. Record shapes differ by vendor, so fields are read by name:
 * GeoLite2-ASN / DB-IP ASN (`autonomous_system_number`, `autonomous_system_organization`),
 * ipinfo ASN and ipinfo Lite (`asn: "AS15169"`, `name` / `as_name`, `route`),
 * GeoLite2-Country / City (`country.iso_code`, `registered_country.iso_code`),
 * ipinfo country (`country: "US"`), ip-location-db (`country_code`).
 */
export class MmdbFile {
  private constructor(
    readonly name: string,
    readonly path: string,
    private readonly reader: Reader<MmdbRecord>,
    readonly databaseType: string,
  ) {}

  /** Opens and checks the file; a missing or corrupt file throws a SluiceError naming it. */
  static open(path: string): MmdbFile {
    let buffer: Buffer;
    try {
      buffer = readFileSync(path);
    } catch (cause) {
      throw new SluiceError(
        ErrorCodes.data,
        `MMDB file ${path} cannot be read (${(cause as NodeJS.ErrnoException).code ?? String(cause)}): fix the path or unset the variable`,
        { cause },
      );
    }
    let reader: Reader<MmdbRecord>;
    try {
      reader = new Reader<MmdbRecord>(buffer);
      // A truncated tree often parses its metadata fine and fails on the first lookup.
      reader.get('8.8.8.8');
      if (reader.metadata.ipVersion === 6) reader.get('2001:4860:4860::8888');
    } catch (cause) {
      throw new SluiceError(
        ErrorCodes.data,
        `MMDB file ${path} is not a valid MaxMind database (${cause instanceof Error ? cause.message : String(cause)}): replace it with a complete .mmdb file`,
        { cause },
      );
    }
    return new MmdbFile(path, path, reader, reader.metadata.databaseType);
  }

  asn(ip: ParsedIp): AsnRecord | null {
    const [record, prefixLength] = this.get(ip);
    if (!record) return null;
    const asn = readAsn(record.autonomous_system_number ?? record.asn);
    const org =
      str(record.autonomous_system_organization) ?? str(record.as_name) ?? str(record.name);
    if (asn === null && org === null) return null;
    const prefix = str(record.route) ?? str(record.network) ?? cidrOf(ip, prefixLength);
    return { asn, org, prefix };
  }

  country(ip: ParsedIp): string | null {
    const [record] = this.get(ip);
    if (!record) return null;
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

  private get(ip: ParsedIp): [MmdbRecord | null, number] {
    // An IPv4-only database cannot answer IPv6 questions; mmdb-lib throws for those.
    if (ip.family === 6 && this.reader.metadata.ipVersion === 4) return [null, 0];
    // mmdb-lib starts IPv4 lookups at the ::/96 subtree, so the length is already IPv4's.
    const [record, prefixLength] = this.reader.getWithPrefixLength(formatIp(ip));
    return [record, Math.max(0, prefixLength)];
  }
}

/** Adapts an MmdbFile to the narrow source interfaces. */
export const asnSourceOf = (file: MmdbFile): AsnSource => ({
  name: file.name,
  attribution: attributionOf(file),
  lookup: (ip) => file.asn(ip),
});
export const countrySourceOf = (file: MmdbFile): CountrySource => ({
  name: file.name,
  attribution: attributionOf(file),
  lookup: (ip) => file.country(ip),
});

export const PACKAGED_ASN_ATTRIBUTION =
  'ASN data: Route Views (routeviews.org), NRO (nro.net) and DB-IP ASN Lite — IP Geolocation by DB-IP (https://db-ip.com), CC BY 4.0, via @ip-location-db/asn';
export const PACKAGED_COUNTRY_ATTRIBUTION =
  'Country data: geofeeds, RIR whois and NRO statistics (nro.net, CC BY 4.0), via @ip-location-db/geo-whois-asn-country-mmdb (CC0)';

function attributionOf(file: MmdbFile): string {
  if (file.path.includes('geo-whois-asn-country')) return PACKAGED_COUNTRY_ATTRIBUTION;
  const vendor = /geolite|geoip/i.test(file.databaseType)
    ? ' — includes GeoLite2 data created by MaxMind (https://www.maxmind.com)'
    : /ipinfo/i.test(file.databaseType)
      ? ' — IP address data powered by IPinfo (https://ipinfo.io)'
      : /db-?ip/i.test(file.databaseType)
        ? ' — IP Geolocation by DB-IP (https://db-ip.com)'
        : '';
  return `${file.databaseType} (${file.path})${vendor}`;
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

/** Where the packaged data lives (node_modules of this service). */
export function packagedDataPaths(): { asnV4Csv: string; asnV6Csv: string; countryMmdb: string } {
  const asnDir = dirname(require.resolve('@ip-location-db/asn/package.json'));
  const countryDir = dirname(
    require.resolve('@ip-location-db/geo-whois-asn-country-mmdb/package.json'),
  );
  return {
    asnV4Csv: join(asnDir, 'asn-ipv4-num.csv'),
    asnV6Csv: join(asnDir, 'asn-ipv6-num.csv'),
    countryMmdb: join(countryDir, 'geo-whois-asn-country.mmdb'),
  };
}

/** The packaged ASN table (RouteViews + RIRs + DB-IP, CC BY 4.0); fails naming the file. */
export function loadPackagedAsnTable(paths = packagedDataPaths()): AsnRangeTable {
  const read = (path: string) => {
    try {
      return readFileSync(path, 'utf8');
    } catch (cause) {
      throw new SluiceError(
        ErrorCodes.data,
        `ASN data file ${path} cannot be read: reinstall dependencies (pnpm install) or set ENRICH_ASN_MMDB`,
        { cause },
      );
    }
  };
  try {
    return AsnRangeTable.fromCsv(
      '@ip-location-db/asn',
      read(paths.asnV4Csv),
      read(paths.asnV6Csv),
      PACKAGED_ASN_ATTRIBUTION,
    );
  } catch (cause) {
    if (cause instanceof SluiceError) throw cause;
    throw new SluiceError(
      ErrorCodes.data,
      `ASN data in ${dirname(paths.asnV4Csv)} is corrupt: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
  }
}
