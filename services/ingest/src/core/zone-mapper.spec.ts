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

  it('answers served zones through the cache exactly as a plain suffix walk does', () => {
    const served = ['example.com', 'sub.example.com', 'a.b.c.example.org', 'co.uk', 'x.io'];
    const reference = (name: string): string => {
      const labels = name.split('.');
      for (let i = 0; i < labels.length; i++) {
        const suffix = labels.slice(i).join('.');
        if (served.includes(suffix)) return suffix;
      }
      return new ZoneMapper().zoneOf(name);
    };
    const rests = [
      'example.com',
      'sub.example.com',
      'deep.sub.example.com',
      'c.example.org',
      'b.c.example.org',
      'a.b.c.example.org',
      'victim.co.uk',
      'co.uk',
      'uk',
      'x.io',
      'io',
      'other.net',
      'example.com.evil.net',
    ];
    const names = rests.flatMap((r) =>
      ['q1w2', 'sub', 'a', 'www.b', 'example'].map((l) => `${l}.${r}`),
    );
    names.push(...rests, 'com', 'example');
    const mapper = new ZoneMapper(served);
    for (const round of [1, 2]) {
      for (const n of names) expect([round, n, mapper.zoneOf(n)]).toEqual([round, n, reference(n)]);
      names.reverse();
    }
    const rooted = new ZoneMapper(['.', 'example.com']);
    expect(rooted.zoneOf('www.example.com')).toBe('example.com');
    expect(rooted.zoneOf('www.example.net')).toBe('.');
    expect(rooted.zoneOf('net')).toBe('.');
  });
});
