import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ErrorCodes, SluiceError } from '@sluice/contracts';
import { AsnRangeTable } from '../core/asn-range-table';
import { PACKAGED_ASN_ATTRIBUTION } from '../core/sources';

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
