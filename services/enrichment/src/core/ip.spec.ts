import { coveringCidrV4, coveringCidrV6, formatIp, parseCidr, parseIp, parseIpv6 } from './ip';

describe('ip', () => {
  it('parses and formats IPv4', () => {
    expect(parseIp('8.8.8.8')).toEqual({ family: 4, value: 0x08080808 });
    expect(formatIp(parseIp('255.255.255.255')!)).toBe('255.255.255.255');
    expect(parseIp('256.1.1.1')).toBeNull();
  });

  it('parses IPv6 in every spelling and formats canonically (RFC 5952)', () => {
    expect(formatIp(parseIp('2001:4860:4860:0:0:0:0:8888')!)).toBe('2001:4860:4860::8888');
    expect(formatIp(parseIp('2001:DB8:0:0:1:0:0:1')!)).toBe('2001:db8::1:0:0:1');
    expect(formatIp(parseIp('::')!)).toBe('::');
    expect(formatIp(parseIp('fe80::1%eth0')!)).toBe('fe80::1');
    expect(parseIpv6('64:ff9b::192.0.2.33')).toBe((0x64ff9bn << 96n) | 0xc0000221n);
    expect(parseIp('2001:db8::g')).toBeNull();
    expect(parseIp('not an ip')).toBeNull();
  });

  it('treats IPv4-mapped IPv6 as the IPv4 address it carries', () => {
    expect(parseIp('::ffff:8.8.4.4')).toEqual({ family: 4, value: 0x08080404 });
  });

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
});
