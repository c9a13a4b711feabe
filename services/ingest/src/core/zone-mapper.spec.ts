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
});
