import { SluiceError } from '@sluice/contracts';
import { parseIp, parseIpv6 } from './address';
import {
  cidrOf,
  coveringCidrV4,
  coveringCidrV6,
  formatNetwork,
  maskBytes,
  networkContains,
  networksOverlap,
  parseCidr,
  parseNetwork,
  rpzClientIpLabels,
} from './network';

describe('Network (bytes and prefix length)', () => {
  it('parses, masks and formats IPv4 and IPv6', () => {
    expect(formatNetwork(parseNetwork('2001:db8::1'))).toBe('2001:db8::1/128');
    expect(formatNetwork(parseNetwork('198.51.100.77/24'))).toBe('198.51.100.0/24');
    expect([...maskBytes(Uint8Array.of(255, 255, 255, 255), 20)]).toEqual([255, 255, 240, 0]);
    expect(networkContains(parseNetwork('10.0.0.0/8'), parseNetwork('10.2.3.4'))).toBe(true);
    expect(networkContains(parseNetwork('10.0.0.0/8'), parseNetwork('11.2.3.4'))).toBe(false);
    expect(networkContains(parseNetwork('::/0'), parseNetwork('10.2.3.4'))).toBe(false);
    expect(networksOverlap(parseNetwork('10.2.3.4'), parseNetwork('10.0.0.0/8'))).toBe(true);
  });

  it('fails naming the text', () => {
    expect(() => parseNetwork('nope/8')).toThrow(SluiceError);
    expect(() => parseNetwork('nope/8')).toThrow('not an IP address: "nope"');
    expect(() => parseNetwork('10.0.0.0/33')).toThrow('bad prefix length in "10.0.0.0/33"');
  });

  it('writes RPZ client-IP trigger labels as BIND expects', () => {
    expect(rpzClientIpLabels(parseNetwork('127.0.0.2'))).toBe('32.2.0.0.127');
    expect(rpzClientIpLabels(parseNetwork('198.51.100.0/24'))).toBe('24.0.100.51.198');
    expect(rpzClientIpLabels(parseNetwork('2001:db8::1'))).toBe('128.1.zz.db8.2001');
    expect(rpzClientIpLabels(parseNetwork('1:0:0:1:0:0:0:1'))).toBe('128.1.zz.1.0.0.1');
  });
});

describe('CIDR ranges (numbers)', () => {
  it('finds the largest CIDR inside a range that covers the address', () => {
    const p = (s: string) => parseIp(s)!.value as number;
    // 4.0.0.0–4.3.255.255 is exactly a /14
    expect(coveringCidrV4(p('4.2.2.2'), p('4.0.0.0'), p('4.3.255.255'))).toBe('4.0.0.0/14');
    // an unaligned range: 1.0.4.0–1.0.7.255 is a /22
    expect(coveringCidrV4(p('1.0.5.1'), p('1.0.4.0'), p('1.0.7.255'))).toBe('1.0.4.0/22');
    // 10.0.1.0–10.0.2.255 is not one block: each half is a /24
    expect(coveringCidrV4(p('10.0.2.9'), p('10.0.1.0'), p('10.0.2.255'))).toBe('10.0.2.0/24');
    const q = (s: string) => parseIpv6(s)!;
    expect(
      coveringCidrV6(
        q('2001:470:20::2'),
        q('2001:470::'),
        q('2001:470:ffff:ffff:ffff:ffff:ffff:ffff'),
      ),
    ).toBe('2001:470::/32');
  });

  it('parses CIDRs of both families', () => {
    expect(parseCidr('10.1.2.3/8')).toEqual({ family: 4, first: 0x0a000000, last: 0x0affffff });
    expect(parseCidr('2001:db8::/32')).toEqual({
      family: 6,
      first: 0x20010db8n << 96n,
      last: ((0x20010db8n + 1n) << 96n) - 1n,
    });
    expect(parseCidr('10.0.0.0/33')).toBeNull();
  });

  it('names the network an address sits in', () => {
    expect(cidrOf(parseIp('192.0.2.77')!, 24)).toBe('192.0.2.0/24');
    expect(cidrOf(parseIp('2001:db8:1:2::1')!, 48)).toBe('2001:db8:1::/48');
  });
});
