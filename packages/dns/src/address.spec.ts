import {
  formatIp,
  AddressTexts,
  formatIpBytes,
  formatIpv4Cached,
  formatIpv6,
  parseIp,
  parseIpBytes,
  parseIpv6,
} from './address';

describe('formatIpBytes', () => {
  it.each([
    '192.0.2.1',
    '2001:db8::1',
    '::1',
    '::',
    'fe80::1:0:0:2',
    '2001:db8:0:1:1:1:1:1',
    '::ffff:192.0.2.7',
  ])('round-trips %s', (ip) => {
    expect(formatIpBytes(parseIpBytes(ip)!)).toBe(ip);
  });

  it('compresses the longest zero run, the first of equal runs, never a single zero (RFC 5952)', () => {
    expect(formatIpBytes(parseIpBytes('1:0:0:1:0:0:0:1')!)).toBe('1:0:0:1::1');
    expect(formatIpBytes(parseIpBytes('1:0:0:1:0:0:1:1')!)).toBe('1::1:0:0:1:1');
    expect(formatIpBytes(parseIpBytes('1:0:1:1:1:1:1:1')!)).toBe('1:0:1:1:1:1:1:1');
  });

  it('reads an address inside a larger buffer', () => {
    const packet = Buffer.from([9, 9, 192, 0, 2, 1, 9]);
    expect(formatIpBytes(packet, 2, 4)).toBe('192.0.2.1');
    expect(formatIpv4Cached(packet, 2)).toBe('192.0.2.1');
    expect(formatIpv4Cached(packet, 2)).toBe('192.0.2.1');
  });

  it('rejects other lengths', () => {
    expect(formatIpBytes(Buffer.alloc(5))).toBeNull();
  });
});

describe('AddressTexts', () => {
  it('gives formatIpBytes text for every address, repeats and past its bound', () => {
    const texts = new AddressTexts();
    let seed = 7;
    const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 16;
    const bytes = new Uint8Array(24);
    // Compared in the loop, asserted once: 400,000 expect() calls were ~50 s of CI.
    const wrong: string[] = [];
    for (let i = 0; i < 200_000; i++) {
      for (let j = 0; j < bytes.length; j++) bytes[j] = next() & 0xff;
      if (i % 3 === 0) bytes.fill(0, 4, 12); // zero runs
      if (i % 5 === 0) bytes.set([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff], 4); // IPv4-mapped
      if (i % 7 === 0) bytes.set([10, 0, 0, next() & 3], 4); // repeats
      const v4 = texts.v4At(bytes, 4);
      const v6 = texts.textAt(bytes, 4, 16);
      const want4 = formatIpBytes(bytes, 4, 4);
      const want6 = formatIpBytes(bytes, 4, 16);
      if (wrong.length < 5 && v4 !== want4) wrong.push(`#${i}: ${v4} for ${want4}`);
      if (wrong.length < 5 && v6 !== want6) wrong.push(`#${i}: ${v6} for ${want6}`);
    }
    expect(wrong).toEqual([]);
    const again = new AddressTexts();
    expect(again.v4At(Uint8Array.of(192, 0, 2, 1), 0)).toBe('192.0.2.1');
    expect(again.textAt(Uint8Array.of(9, 192, 0, 2, 1), 1, 4)).toBe('192.0.2.1');
  });

  it('gives the right text for every address while its tables grow', () => {
    const texts = new AddressTexts();
    const first4: string[] = [];
    const first6: string[] = [];
    const v4 = (i: number) => Uint8Array.of(10, (i >> 16) & 255, (i >> 8) & 255, i & 255);
    const v6 = (i: number) => {
      const b = new Uint8Array(16);
      b.set([0x20, 0x01, 0x0d, 0xb8]);
      b.set(v4(i), 12);
      return b;
    };
    // 20,000 of each: several doublings of both tables, below their limits.
    for (let i = 0; i < 20_000; i++) {
      first4.push(texts.v4At(v4(i), 0));
      first6.push(texts.v6At(v6(i), 0));
    }
    const wrong: number[] = [];
    for (let i = 0; i < 20_000; i++)
      if (
        first4[i] !== formatIpBytes(v4(i), 0, 4) ||
        first6[i] !== formatIpBytes(v6(i), 0, 16) ||
        texts.v4At(v4(i), 0) !== first4[i] ||
        texts.v6At(v6(i), 0) !== first6[i]
      )
        wrong.push(i);
    expect(wrong).toEqual([]);
    expect(first4[258]).toBe('10.0.1.2');
    expect(first6[258]).toBe('2001:db8::a00:102');
  });
});

describe('parseIp / formatIp', () => {
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

  it('writes a 128-bit value as formatIpBytes writes its bytes', () => {
    expect(formatIpv6(0x20010db8n << 96n)).toBe('2001:db8::');
    expect(formatIpv6((1n << 128n) - 1n)).toBe('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff');
  });
});

describe('parseIpBytes', () => {
  it('keeps the family of the text: 4 bytes for IPv4, 16 for IPv6 (IPv4-mapped too)', () => {
    expect([...parseIpBytes('192.0.2.1')!]).toEqual([192, 0, 2, 1]);
    expect(parseIpBytes('::ffff:192.0.2.1')).toHaveLength(16);
    expect([...parseIpBytes('2001:db8::1')!]).toEqual([
      0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
    ]);
  });

  it('rejects what is not an address', () => {
    for (const t of ['', '1.2.3', '256.1.1.1', '1::2::3', '192.0.2.1/24'])
      expect(parseIpBytes(t)).toBeNull();
  });
});
