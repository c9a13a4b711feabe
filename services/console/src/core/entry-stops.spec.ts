import { type BlocklistEntry, type EnrichedOffender } from '@sluice/contracts';
import { EntryStops } from './entry-stops';

const W = 10_000;
const T = 1_000_000;

function entry(id: string, scope: BlocklistEntry['scope'], extra: Partial<BlocklistEntry> = {}) {
  const e: BlocklistEntry = {
    v: 1,
    id,
    scope,
    action: 'refused',
    reason: 'test',
    score: 1,
    createdAt: T,
    expiresAt: T + 10 * W,
    shadow: false,
    ...extra,
  };
  return e;
}

function rec(
  resolver: string,
  w: number,
  attack: number,
  total: number,
  extra: Partial<EnrichedOffender> = {},
  asn: number | null = 64500,
): EnrichedOffender {
  return {
    v: 1,
    zone: 'Victim.Example.',
    resolver,
    windowStart: T + w * W,
    windowEnd: T + (w + 1) * W,
    attackQueries: attack,
    totalQueries: total,
    alertId: 'a1',
    evidence: [],
    enrichment: {
      asn,
      asOrg: null,
      prefix: null,
      country: null,
      resolverKind: 'isp',
      resolverOperator: null,
    },
    ...extra,
  };
}

describe('EntryStops', () => {
  it('counts every query of a refusing client entry, in its zone and its life only, pro rata at the edges', () => {
    const s = new EntryStops();
    s.set(
      'rz',
      entry(
        'rz',
        { kind: 'resolver-zone', resolver: '192.0.2.1', zone: 'victim.example' },
        { createdAt: T + W / 2, expiresAt: T + 3 * W },
      ),
    );
    expect(s.apply(rec('192.0.2.1', 0, 80, 100))).toEqual(['rz']); // half the window: 50
    s.apply(rec('192.0.2.1', 1, 80, 100)); // 100
    s.apply(rec('192.0.2.1', 2, 80, 100)); // 100
    expect(s.apply(rec('192.0.2.1', 3, 80, 100))).toEqual([]); // expired
    expect(s.apply(rec('192.0.2.2', 1, 80, 100))).toEqual([]); // another resolver
    expect(s.apply(rec('192.0.2.1', 1, 80, 100, { zone: 'other.example' }))).toEqual([]);
    expect(s.figures('rz').queries).toBe(250);
    expect(s.figures('rz').lastAt).toBe(T + 3 * W);
  });

  it('counts only never-seen names for guard entries; an offenders-only zone guard counts guarded clients', () => {
    const s = new EntryStops();
    const guard = (appliesTo: 'offenders' | 'all', shadow: boolean) =>
      entry(
        `g-${appliesTo}-${shadow}`,
        { kind: 'zone', zone: 'victim.example' },
        {
          shadow,
          guard: {
            alertId: 'a1',
            appliesTo,
            knownNames: ['www.victim.example'],
            namesTruncated: false,
            sources: ['traffic'],
            alertEndedAt: null,
          },
        },
      );
    s.set('g-offenders-false', guard('offenders', false));
    s.set('g-offenders-true', guard('offenders', true));
    s.set('g-all-false', guard('all', false));
    s.set(
      'c1',
      entry(
        'c1',
        { kind: 'resolver-zone', resolver: '192.0.2.1', zone: 'victim.example' },
        { action: 'guard' },
      ),
    );
    s.set(
      'c2',
      entry(
        'c2',
        { kind: 'prefix-zone', prefix: '198.51.100.0/24', zone: 'victim.example' },
        { action: 'guard', shadow: true },
      ),
    );

    s.apply(rec('192.0.2.1', 0, 70, 100)); // enforced guarded client
    s.apply(rec('198.51.100.9', 0, 40, 50)); // shadow guarded client
    s.apply(rec('203.0.113.5', 0, 10, 20)); // no client entry

    expect(s.figures('c1').queries).toBe(70);
    expect(s.figures('c2').queries).toBe(40);
    expect(s.figures('g-offenders-false').queries).toBe(70); // what it really stopped
    expect(s.figures('g-offenders-true').queries).toBe(110); // shadow: would have, with c2
    expect(s.figures('g-all-false').queries).toBe(120); // every client's never-seen names
  });

  it('matches prefixes (both families, any spelling) and ASN entries through their networks', () => {
    const s = new EntryStops();
    s.set('p4', entry('p4', { kind: 'prefix', prefix: '198.51.100.0/24' }));
    s.set(
      'p6',
      entry('p6', { kind: 'prefix-zone', prefix: '2001:DB8:0:0::/48', zone: 'victim.example' }),
    );
    s.set('r6', entry('r6', { kind: 'resolver', resolver: '2001:db8::0:1' }));
    s.set('a', entry('a', { kind: 'asn', asn: 64500 }, { networks: ['203.0.113.0/25'] }));
    s.set('az', entry('az', { kind: 'asn-zone', asn: 64501, zone: 'victim.example' }));

    s.apply(rec('198.51.100.200', 0, 1, 10, {}, 1));
    s.apply(rec('198.51.101.1', 0, 1, 1000, {}, 1));
    s.apply(rec('2001:db8::1', 0, 1, 20, {}, 1));
    s.apply(rec('2001:db9::1', 0, 1, 1000, {}, 1));
    s.apply(rec('203.0.113.5', 0, 1, 30)); // AS64500, inside its networks
    s.apply(rec('203.0.113.200', 0, 1, 1000)); // AS64500, outside: not enforced there
    s.apply(rec('192.0.2.1', 0, 1, 40, {}, 64501)); // by ASN (no networks listed)

    expect(s.figures('p4').queries).toBe(10);
    expect(s.figures('p6').queries).toBe(20);
    expect(s.figures('r6').queries).toBe(20);
    expect(s.figures('a').queries).toBe(30);
    expect(s.figures('az').queries).toBe(40);
  });

  it('gives a recent rate over the last minute of event time, falling to 0 when matches stop', () => {
    const s = new EntryStops(60_000);
    s.set('r', entry('r', { kind: 'resolver', resolver: '192.0.2.1' }, { expiresAt: T + 100 * W }));
    for (let w = 0; w < 12; w++) s.apply(rec('192.0.2.1', w, 0, 600));
    expect(s.figures('r')).toEqual({ queries: 7200, recentQps: 60, lastAt: T + 12 * W });
    s.advance(T + 15 * W); // 30 s of nothing
    expect(s.figures('r').recentQps).toBe(30);
    s.advance(T + 30 * W);
    expect(s.figures('r')).toEqual({ queries: 7200, recentQps: 0, lastAt: T + 12 * W });
  });

  it('keeps the counts of an updated entry, drops them with a tombstone, matches the new scope only', () => {
    const s = new EntryStops();
    const e = entry('x', { kind: 'resolver', resolver: '192.0.2.1' });
    s.set('x', e);
    s.apply(rec('192.0.2.1', 0, 0, 5));
    s.set('x', { ...e, score: 9, scope: { kind: 'resolver', resolver: '192.0.2.2' } });
    s.apply(rec('192.0.2.1', 1, 0, 5));
    s.apply(rec('192.0.2.2', 1, 0, 7));
    expect(s.figures('x').queries).toBe(12);
    s.delete('x');
    expect(s.figures('x')).toEqual({ queries: 0, recentQps: 0, lastAt: null });
    expect(s.apply(rec('192.0.2.2', 2, 0, 7))).toEqual([]);
  });
});
