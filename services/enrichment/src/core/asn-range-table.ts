import { coveringCidrV4, coveringCidrV6, type ParsedIp } from './ip';
import { type AsnRecord, type AsnSource } from './sources';

const MASK64 = (1n << 64n) - 1n;

/**
 * IP range → ASN table from the `*-num.csv` files of @ip-location-db/asn
 * (`start,end,asn,org`, numeric addresses, inclusive, sorted by start). Kept in typed arrays
 * and binary-searched: ~410k IPv4 + ~100k IPv6 rows take a few MB, a lookup ~20 compares.
 */
export class AsnRangeTable implements AsnSource {
  readonly name: string;
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

  private constructor(name: string) {
    this.name = name;
  }

  /** Build from the text of the IPv4 and IPv6 numeric CSV files. Throws on a malformed row. */
  static fromCsv(name: string, v4Csv: string, v6Csv: string): AsnRangeTable {
    const table = new AsnRangeTable(name);
    const orgIndex = new Map<string, number>();
    const intern = (org: string): number => {
      let i = orgIndex.get(org);
      if (i === undefined) {
        i = table.orgs.length;
        table.orgs.push(org);
        orgIndex.set(org, i);
      }
      return i;
    };

    const v4 = parseRows(v4Csv, `${name} (IPv4)`);
    table.v4Start = new Uint32Array(v4.length);
    table.v4End = new Uint32Array(v4.length);
    table.v4Asn = new Uint32Array(v4.length);
    table.v4Org = new Uint32Array(v4.length);
    v4.forEach((r, i) => {
      table.v4Start[i] = Number(r.start);
      table.v4End[i] = Number(r.end);
      table.v4Asn[i] = r.asn;
      table.v4Org[i] = intern(r.org);
    });

    const v6 = parseRows(v6Csv, `${name} (IPv6)`);
    table.v6StartHi = new BigUint64Array(v6.length);
    table.v6StartLo = new BigUint64Array(v6.length);
    table.v6EndHi = new BigUint64Array(v6.length);
    table.v6EndLo = new BigUint64Array(v6.length);
    table.v6Asn = new Uint32Array(v6.length);
    table.v6Org = new Uint32Array(v6.length);
    v6.forEach((r, i) => {
      const s = BigInt(r.start);
      const e = BigInt(r.end);
      table.v6StartHi[i] = s >> 64n;
      table.v6StartLo[i] = s & MASK64;
      table.v6EndHi[i] = e >> 64n;
      table.v6EndLo[i] = e & MASK64;
      table.v6Asn[i] = r.asn;
      table.v6Org[i] = intern(r.org);
    });
    return table;
  }

  get rows(): { v4: number; v6: number } {
    return { v4: this.v4Start.length, v6: this.v6StartHi.length };
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

interface Row {
  start: string;
  end: string;
  asn: number;
  org: string;
}

function parseRows(csv: string, what: string): Row[] {
  const rows: Row[] = [];
  let pos = 0;
  let line = 0;
  let prevStart = -1n;
  while (pos < csv.length) {
    let eol = csv.indexOf('\n', pos);
    if (eol < 0) eol = csv.length;
    line++;
    const text = csv.charCodeAt(eol - 1) === 13 ? csv.slice(pos, eol - 1) : csv.slice(pos, eol);
    pos = eol + 1;
    if (text.length === 0) continue;
    const c1 = text.indexOf(',');
    const c2 = text.indexOf(',', c1 + 1);
    const c3 = text.indexOf(',', c2 + 1);
    const start = text.slice(0, c1);
    const end = text.slice(c1 + 1, c2);
    const asn = Number(text.slice(c2 + 1, c3 < 0 ? undefined : c3));
    if (c1 < 0 || c2 < 0 || !/^\d+$/.test(start) || !/^\d+$/.test(end) || !Number.isInteger(asn))
      throw new Error(`${what}: line ${line} is not "start,end,asn,org": ${text.slice(0, 80)}`);
    const startN = BigInt(start);
    if (startN < prevStart) throw new Error(`${what}: line ${line} is out of order`);
    prevStart = startN;
    rows.push({ start, end, asn, org: c3 < 0 ? '' : unquote(text.slice(c3 + 1)) });
  }
  return rows;
}

function unquote(field: string): string {
  if (field.length >= 2 && field.startsWith('"') && field.endsWith('"'))
    return field.slice(1, -1).replaceAll('""', '"');
  return field;
}
