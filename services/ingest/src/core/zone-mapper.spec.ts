import { ZoneMapper } from './zone-mapper';

describe('ZoneMapper', () => {
  const zones = new ZoneMapper(['Example.com.', 'sub.example.com', 'example.net']);

  it('takes the longest served zone on a label boundary', () => {
    expect(zones.zoneOf('a.b.sub.example.com')).toBe('sub.example.com');
    expect(zones.zoneOf('x.example.com')).toBe('example.com');
    expect(zones.zoneOf('example.net')).toBe('example.net');
    expect(zones.zoneOf('notexample.net')).toBe('notexample.net');
  });

  it('falls back to the registrable domain from the Public Suffix List', () => {
    expect(zones.zoneOf('q1w2e3.victim.co.uk')).toBe('victim.co.uk');
    expect(zones.zoneOf('abc.foo.blogspot.com')).toBe('blogspot.com');
    expect(zones.zoneOf('com')).toBe('com');
    expect(zones.zoneOf('.')).toBe('.');
  });

  it('caches by the name minus its first label without changing any answer', () => {
    const suffixes = [
      'victim.co.uk',
      'co.uk',
      'city.kawasaki.jp',
      'foo.kawasaki.jp',
      'www.ck',
      'x.ck',
      'example.com',
      'a.b.example.com',
      'gov.uk',
      'b.sch.uk',
    ];
    const names = suffixes.flatMap((s) =>
      ['q1w2', 'www', 'city', 'gov', 'x'].map((l) => `${l}.${s}`),
    );
    const cached = new ZoneMapper();
    for (const round of [1, 2]) {
      for (const n of names)
        expect([round, n, cached.zoneOf(n)]).toEqual([round, n, new ZoneMapper().zoneOf(n)]);
      names.reverse();
    }
  });
});
