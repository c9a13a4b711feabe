import { coveringCidrV4, coveringCidrV6, type ParsedIp } from '@sluice/dns';
import { type AsnRecord, type AsnSource } from './sources';

const MASK64 = (1n << 64n) - 1n;

/** One row of the table: an inclusive address range and who routes it (null: AS0, not routed). */
export interface AsnRange {
  family: 4 | 6;
  first: bigint;
  last: bigint;
  asn: number | null;
  org: string | null;
}
const MAX128 = (1n << 128n) - 1n;

/**
 * IP range → ASN table from the `*-num.csv` files of @ip-location-db/asn
 * (`start,end,asn,org`, numeric addresses, inclusive, sorted by start). Kept in typed arrays
 * and binary-searched: ~410k IPv4 + ~100k IPv6 rows take a few MB, a lookup ~20 compares.
 */
export class AsnRangeTable implements AsnSource {
  readonly name: string;
  readonly attribution: string | undefined;
  private readonly orgs: string[] = [];
  private v4Start = new Uint32Array(0);
  private v4End = new Uint32Array(0);
  private v4Asn = new Uint32Array(0);
  private v4Org = new Uint32Array(0);
  private v6StartHi = new BigUint64Array(0);
  private v6StartLo = new BigUint64Array(0);
  private v6EndHi = new BigUint64Array(0);
  private v6EndLo = new BigUint64Array(0);
  private v6Asn = new Uint32Array(0);
  private v6Org = new Uint32Array(0);

  private constructor(name: string, attribution?: string) {
    this.name = name;
    this.attribution = attribution;
  }

  /** Build from the text of the IPv4 and IPv6 numeric CSV files. Throws on a malformed row. */
  static fromCsv(name: string, v4Csv: string, v6Csv: string, attribution?: string): AsnRangeTable {
    const table = new AsnRangeTable(name, attribution);
    const orgIndex = new Map<string, number>();
    const intern = (org: string): number => {
      let i = orgIndex.get(org);
      if (i === undefined) {
        i = table.orgs.length;
        // Copy: a slice would pin the whole multi-MB CSV string in memory.
        table.orgs.push(Buffer.from(org, 'utf8').toString('utf8'));
        orgIndex.set(org, i);
      }
      return i;
    };

    // Rows go straight into typed arrays (no per-row objects): boot stays under a second.
    const n4 = countLines(v4Csv);
    table.v4Start = new Uint32Array(n4);
    table.v4End = new Uint32Array(n4);
    table.v4Asn = new Uint32Array(n4);
    table.v4Org = new Uint32Array(n4);
    let prev4 = -1;
    const c4 = eachRow(v4Csv, `${name} (IPv4)`, (i, start, end, asn, org, line) => {
      const s = Number(start);
      const e = Number(end);
      if (s > 0xffffffff || e > 0xffffffff || e < s)
        throw new Error(`${name} (IPv4): line ${line} has an invalid range`);
      if (s < prev4) throw new Error(`${name} (IPv4): line ${line} is out of order`);
      prev4 = s;
      table.v4Start[i] = s;
      table.v4End[i] = e;
      table.v4Asn[i] = asn;
      table.v4Org[i] = intern(org);
    });
    table.v4Start = table.v4Start.subarray(0, c4);
    table.v4End = table.v4End.subarray(0, c4);

    const n6 = countLines(v6Csv);
    table.v6StartHi = new BigUint64Array(n6);
    table.v6StartLo = new BigUint64Array(n6);
    table.v6EndHi = new BigUint64Array(n6);
    table.v6EndLo = new BigUint64Array(n6);
    table.v6Asn = new Uint32Array(n6);
    table.v6Org = new Uint32Array(n6);
    let prev6 = -1n;
    const c6 = eachRow(v6Csv, `${name} (IPv6)`, (i, start, end, asn, org, line) => {
      const s = BigInt(start);
      const e = BigInt(end);
      if (e > MAX128 || e < s) throw new Error(`${name} (IPv6): line ${line} has an invalid range`);
      if (s < prev6) throw new Error(`${name} (IPv6): line ${line} is out of order`);
      prev6 = s;
      table.v6StartHi[i] = s >> 64n;
      table.v6StartLo[i] = s & MASK64;
      table.v6EndHi[i] = e >> 64n;
      table.v6EndLo[i] = e & MASK64;
      table.v6Asn[i] = asn;
      table.v6Org[i] = intern(org);
    });
    table.v6StartHi = table.v6StartHi.subarray(0, c6);
    return table;
  }

  get rows(): { v4: number; v6: number } {
    return { v4: this.v4Start.length, v6: this.v6StartHi.length };
  }

  /**
   * Every row, IPv4 then IPv6, in address order: the allocated networks this data knows (what a
   * simulator draws realistic resolver addresses from, for instance).
   */
  *ranges(): Generator<AsnRange> {
    for (let i = 0; i < this.v4Start.length; i++) {
      const { asn, org } = this.record(this.v4Asn[i]!, this.v4Org[i]!, '');
      yield { family: 4, first: BigInt(this.v4Start[i]!), last: BigInt(this.v4End[i]!), asn, org };
    }
    for (let i = 0; i < this.v6StartHi.length; i++) {
      const { asn, org } = this.record(this.v6Asn[i]!, this.v6Org[i]!, '');
      yield {
        family: 6,
        first: (this.v6StartHi[i]! << 64n) | this.v6StartLo[i]!,
        last: (this.v6EndHi[i]! << 64n) | this.v6EndLo[i]!,
        asn,
        org,
      };
    }
  }

  lookup(ip: ParsedIp): AsnRecord | null {
    return ip.family === 4 ? this.lookupV4(ip.value) : this.lookupV6(ip.value);
  }

  private lookupV4(ip: number): AsnRecord | null {
    let i = lastAtOrBelow(this.v4Start.length, (k) => this.v4Start[k]! <= ip);
    // One overlap exists in the data (a nested DoD block); the enclosing row is just before.
    if (i >= 0 && this.v4End[i]! < ip) i = i > 0 && this.v4End[i - 1]! >= ip ? i - 1 : -1;
    if (i < 0) return null;
    return this.record(
      this.v4Asn[i]!,
      this.v4Org[i]!,
      coveringCidrV4(ip, this.v4Start[i]!, this.v4End[i]!),
    );
  }

  private lookupV6(ip: bigint): AsnRecord | null {
    const hi = ip >> 64n;
    const lo = ip & MASK64;
    const le = (k: number) => {
      const h = this.v6StartHi[k]!;
      return h < hi || (h === hi && this.v6StartLo[k]! <= lo);
    };
    const ge = (k: number) => {
      const h = this.v6EndHi[k]!;
      return h > hi || (h === hi && this.v6EndLo[k]! >= lo);
    };
    let i = lastAtOrBelow(this.v6StartHi.length, le);
    if (i >= 0 && !ge(i)) i = i > 0 && ge(i - 1) ? i - 1 : -1;
    if (i < 0) return null;
    const start = (this.v6StartHi[i]! << 64n) | this.v6StartLo[i]!;
    const end = (this.v6EndHi[i]! << 64n) | this.v6EndLo[i]!;
    return this.record(this.v6Asn[i]!, this.v6Org[i]!, coveringCidrV6(ip, start, end));
  }

  private record(asn: number, org: number, prefix: string): AsnRecord {
    const name = this.orgs[org] ?? '';
    // AS0 marks space that is allocated but not routed: no ASN to blame.
    return { asn: asn === 0 ? null : asn, org: name === '' ? null : name, prefix };
  }
}

/** Index of the last k in [0, n) with pred(k) true, for a monotone pred; -1 if none. */
function lastAtOrBelow(n: number, pred: (k: number) => boolean): number {
  let lo = 0;
  let hi = n - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (pred(mid)) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

function countLines(text: string): number {
  let n = 1;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

/** Calls `row` for each non-empty line with its fields; returns the number of rows. */
function eachRow(
  csv: string,
  what: string,
  row: (index: number, start: string, end: string, asn: number, org: string, line: number) => void,
): number {
  let pos = 0;
  let line = 0;
  let count = 0;
  while (pos < csv.length) {
    let eol = csv.indexOf('\n', pos);
    if (eol < 0) eol = csv.length;
    line++;
    const stop = csv.charCodeAt(eol - 1) === 13 ? eol - 1 : eol;
    const lineStart = pos;
    pos = eol + 1;
    if (stop <= lineStart) continue;
    const c1 = csv.indexOf(',', lineStart);
    const c2 = c1 < 0 || c1 >= stop ? -1 : csv.indexOf(',', c1 + 1);
    if (c2 < 0 || c2 >= stop) throw new Error(`${what}: line ${line} is not "start,end,asn,org"`);
    let c3 = csv.indexOf(',', c2 + 1);
    if (c3 < 0 || c3 > stop) c3 = stop;
    const start = csv.slice(lineStart, c1);
    const end = csv.slice(c1 + 1, c2);
    const asnText = csv.slice(c2 + 1, c3);
    if (!DIGITS.test(start) || !DIGITS.test(end) || !DIGITS.test(asnText))
      throw new Error(
        `${what}: line ${line} is not "start,end,asn,org": ${csv.slice(lineStart, Math.min(stop, lineStart + 80))}`,
      );
    row(
      count++,
      start,
      end,
      Number(asnText),
      c3 < stop ? unquote(csv.slice(c3 + 1, stop)) : '',
      line,
    );
  }
  return count;
}

const DIGITS = /^\d+$/;

function unquote(field: string): string {
  if (field.length >= 2 && field.startsWith('"') && field.endsWith('"'))
    return field.slice(1, -1).replaceAll('""', '"');
  return field;
}
