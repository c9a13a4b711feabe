import { readFileSync } from 'node:fs';
import { Reader } from 'mmdb-lib';
import { ErrorCodes, SluiceError } from '@sluice/contracts';
import { formatIp, type ParsedIp } from '@sluice/dns';
import {
  asnOfRecord,
  attributionOf,
  countryOfRecord,
  type AsnRecord,
  type AsnSource,
  type CountrySource,
  type MmdbRecord,
} from '../core/sources';

/**
 * One MaxMind-format file (GeoLite2, ipinfo, DB-IP, ip-location-db). Reading it is this
 * adapter's job; what its records mean is the core's (core/sources.ts).
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
    return record ? asnOfRecord(record, ip, prefixLength) : null;
  }

  country(ip: ParsedIp): string | null {
    const [record] = this.get(ip);
    return record ? countryOfRecord(record) : null;
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
  attribution: attributionOf(file.path, file.databaseType),
  lookup: (ip) => file.asn(ip),
});
export const countrySourceOf = (file: MmdbFile): CountrySource => ({
  name: file.name,
  attribution: attributionOf(file.path, file.databaseType),
  lookup: (ip) => file.country(ip),
});
