import { inZone, normaliseName, normaliseZone } from './name';

describe('names', () => {
  it('normaliseName: lower case, one trailing dot dropped', () => {
    expect(normaliseName('Example.COM.')).toBe('example.com');
    expect(normaliseName('example.com')).toBe('example.com');
    expect(normaliseName('.')).toBe('');
    expect(normaliseName('a..')).toBe('a.');
  });

  it('normaliseZone: settings text, trimmed, the root kept as "."', () => {
    expect(normaliseZone(' Example.COM. ')).toBe('example.com');
    expect(normaliseZone(' . ')).toBe('.');
    expect(normaliseZone('')).toBe('');
  });

  it('inZone: the zone itself or a name below it, never a look-alike suffix', () => {
    expect(inZone('example.com', 'example.com')).toBe(true);
    expect(inZone('a.b.example.com', 'example.com')).toBe(true);
    expect(inZone('badexample.com', 'example.com')).toBe(false);
    expect(inZone('com', 'example.com')).toBe(false);
  });
});
