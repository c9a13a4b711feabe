import { AsnRangeTable } from './asn-range-table';
import { parseIp } from '@sluice/dns';

const V4 = [
  '16777216,16777471,13335,"Cloudflare, Inc."',
  '16778240,16779263,38803,Gtelecom Pty Ltd',
  '35309568,35313663,201907,"LLC ""SPUTNIK"""',
  '3596550144,3607166975,749,United States Department of Defense (DoD)',
  '3607101440,3607167999,721,DoD Network Information Center',
  '3607168000,3607168255,0,',
].join('\n');
const V6 = [
  '42540488161975842760550356425300246528,42540488241204005274814694018844196863,6939,Hurricane Electric LLC',
].join('\r\n');

describe('AsnRangeTable', () => {
  const table = AsnRangeTable.fromCsv('fixture', V4, V6);
  const look = (ip: string) => table.lookup(parseIp(ip)!);

  it('finds the row covering an address, with quoted org names unescaped', () => {
    expect(look('1.0.0.1')).toEqual({ asn: 13335, org: 'Cloudflare, Inc.', prefix: '1.0.0.0/24' });
    expect(look('2.26.200.1')?.org).toBe('LLC "SPUTNIK"');
    expect(look('1.0.5.9')).toEqual({ asn: 38803, org: 'Gtelecom Pty Ltd', prefix: '1.0.4.0/22' });
  });

  it('lists its rows in order, IPv4 then IPv6, AS0 as no ASN', () => {
    const rows = [...table.ranges()];
    expect(rows).toHaveLength(7);
    expect(rows[0]).toEqual({
      family: 4,
      first: 16777216n,
      last: 16777471n,
      asn: 13335,
      org: 'Cloudflare, Inc.',
    });
    expect(rows[5]).toMatchObject({ family: 4, asn: null, org: null });
    expect(rows[6]).toMatchObject({ family: 6, asn: 6939, org: 'Hurricane Electric LLC' });
    expect(rows[6]!.first).toBe(42540488161975842760550356425300246528n);
  });

  it('returns null in gaps and outside the table', () => {
    expect(look('1.0.1.1')).toBeNull();
    expect(look('0.0.0.1')).toBeNull();
    expect(look('255.255.255.255')).toBeNull();
  });

  it('falls back to the enclosing row when rows overlap', () => {
    // the real data's one overlap: 214.95.0.0–215.0.255.255 (749) and 215.0.0.0–215.1.3.255 (721)
    expect(look('215.1.0.1')?.asn).toBe(721);
    expect(look('214.200.0.1')?.asn).toBe(749);
    const nested = AsnRangeTable.fromCsv('n', '10,100,1,outer\n20,30,2,inner', '');
    expect(nested.lookup({ family: 4, value: 50 })?.org).toBe('outer');
    expect(nested.lookup({ family: 4, value: 25 })?.org).toBe('inner');
  });

  it('reports AS0 (unrouted) as no ASN', () => {
    expect(look('215.1.4.1')).toEqual({ asn: null, org: null, prefix: '215.1.4.0/24' });
  });

  it('looks up IPv6', () => {
    expect(look('2001:0:1::1')).toEqual({
      asn: 6939,
      org: 'Hurricane Electric LLC',
      prefix: '2001::/32',
    });
    expect(look('2001:db9::1')).toBeNull();
  });

  it('rejects malformed and unsorted input, naming the line', () => {
    expect(() => AsnRangeTable.fromCsv('x', 'a,b,c,d', '')).toThrow(/line 1/);
    expect(() => AsnRangeTable.fromCsv('x', '20,30,1,a\n10,15,2,b', '')).toThrow(
      /line 2 is out of order/,
    );
  });
});
