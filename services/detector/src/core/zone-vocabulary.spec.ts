import { simulate } from '@sluice/traffic-sim';
import { DetectorCore, type DetectorOutput } from './detector-core';
import { hash2 } from './hash';
import { ZoneVocabulary, type VocabularyJson } from './zone-vocabulary';

const h = (name: string) => hash2(name).h1;

const NOERROR = 0;
const NXDOMAIN = 3;

describe('ZoneVocabulary', () => {
  const vocab = () => new ZoneVocabulary({ capacity: 100, agingTicks: 10 });

  it('knows names asked twice or answered NOERROR before the onset, never NXDOMAIN ones', () => {
    const v = vocab();
    v.observe(h('www.z'), 'www.z', null, 0, true);
    v.observe(h('www.z'), 'www.z', null, 1000, true);
    v.observe(h('api.z'), 'api.z', NOERROR, 0, true);
    v.observe(h('once.z'), 'once.z', null, 0, true);
    v.observe(h('typo.z'), 'typo.z', NXDOMAIN, 0, true);
    v.observe(h('typo.z'), 'typo.z', NXDOMAIN, 0, true);
    v.observe(h('late.z'), 'late.z', null, 5000, true);
    v.observe(h('late.z'), 'late.z', null, 5000, true);
    expect(v.known(5000, 100, 1e6)).toEqual({ names: ['www.z', 'api.z'], truncated: false });
  });

  it('learns nothing while an alert is active', () => {
    const v = vocab();
    v.observe(h('flood.z'), 'flood.z', NOERROR, 0, false);
    v.observe(h('www.z'), 'www.z', null, 0, true);
    v.observe(h('www.z'), 'www.z', null, 0, false);
    expect(v.known(10_000, 100, 1e6).names).toEqual([]);
  });

  it('is bounded: a full table takes no new names and never evicts established ones', () => {
    const v = new ZoneVocabulary({ capacity: 3, agingTicks: 1000 });
    for (const n of ['a.z', 'b.z', 'c.z']) {
      v.observe(h(n), n, null, 0, true);
      v.observe(h(n), n, null, 0, true);
    }
    for (let i = 0; i < 1000; i++) v.observe(h(`r${i}.z`), `r${i}.z`, null, 1, true);
    expect(v.size).toBe(3);
    expect(v.known(10, 100, 1e6).names.sort()).toEqual(['a.z', 'b.z', 'c.z']);
  });

  it('ages: names no longer asked drop out, names still asked stay', () => {
    const v = new ZoneVocabulary({ capacity: 100, agingTicks: 2, retentionAgings: 3 });
    for (let i = 0; i < 4; i++) v.observe(h('old.z'), 'old.z', null, 0, true);
    for (let t = 0; t < 12; t++) {
      v.observe(h('live.z'), 'live.z', null, 0, true);
      v.observe(h('live.z'), 'live.z', null, 0, true);
      v.tick();
    }
    expect(v.known(1e9, 100, 1e6).names).toEqual(['live.z']);
  });

  it("keeps the zone's long tail: a known name asked hours apart stays known for the retention", () => {
    // Agings of 300 ticks, 24 h retention (288 agings): one query every 6 h keeps a name.
    const v = new ZoneVocabulary({ capacity: 100, agingTicks: 300, retentionAgings: 288 });
    v.observe(h('tail.z'), 'tail.z', NOERROR, 0, true);
    v.observe(h('twice.z'), 'twice.z', null, 0, true);
    v.observe(h('twice.z'), 'twice.z', null, 0, true);
    v.observe(h('once.z'), 'once.z', null, 0, true);
    for (let hour = 1; hour <= 48; hour++) {
      for (let t = 0; t < 3600; t++) v.tick();
      if (hour % 6 === 0) v.observe(h('tail.z'), 'tail.z', NOERROR, hour * 3_600_000, true);
    }
    // twice.z was last asked 48 h ago (> 24 h): gone; once.z (never known) went at the first aging.
    expect(v.known(1e12, 100, 1e6).names).toEqual(['tail.z']);
    expect(v.size).toBe(1);
  });

  it('near capacity, forgets the names idle longest — but never during an alert', () => {
    const v = new ZoneVocabulary({ capacity: 10, agingTicks: 1, retentionAgings: 1000 });
    for (let i = 0; i < 9; i++) v.observe(h(`n${i}.z`), `n${i}.z`, NOERROR, 0, true);
    v.tick();
    // n0..n5 asked again; n6..n8 idle one aging longer.
    for (let i = 0; i < 6; i++) v.observe(h(`n${i}.z`), `n${i}.z`, NOERROR, 0, true);
    v.observe(h('n9.z'), 'n9.z', NOERROR, 0, true);
    v.tick(false);
    expect(v.size).toBe(10);
    v.observe(h('n9.z'), 'n9.z', NOERROR, 0, true);
    for (let i = 0; i < 6; i++) v.observe(h(`n${i}.z`), `n${i}.z`, NOERROR, 0, true);
    v.tick();
    expect(v.size).toBe(8);
    const names = v.known(1e12, 100, 1e6).names;
    for (const gone of ['n6.z', 'n7.z']) expect(names).not.toContain(gone);
    expect(names).toContain('n9.z');
  });

  it('reads a checkpoint written before retention: names counted twice stay known', () => {
    const old: VocabularyJson = [
      [h('www.z') >>> 1, 'www.z', 3, 0, 0],
      [h('once.z') >>> 1, 'once.z', 1, 0, 0],
    ];
    const v = ZoneVocabulary.fromJSON({ capacity: 10, agingTicks: 1, retentionAgings: 5 }, old);
    for (let t = 0; t < 3; t++) v.tick();
    expect(v.known(1e12, 10, 1e6).names).toEqual(['www.z']);
  });

  it('caps names by count and by bytes, most asked first, and says so', () => {
    const v = vocab();
    for (let i = 0; i < 10; i++)
      for (let k = 0; k <= i; k++) v.observe(h(`n${i}.z`), `n${i}.z`, null, 0, true);
    expect(v.known(1, 3, 1e6)).toEqual({ names: ['n9.z', 'n8.z', 'n7.z'], truncated: true });
    expect(v.known(1, 100, 14).names).toEqual(['n9.z', 'n8.z']);
  });

  it('round-trips through its checkpoint form', () => {
    const v = vocab();
    v.observe(h('www.z'), 'www.z', NOERROR, 0, true);
    const back = ZoneVocabulary.fromJSON({ capacity: 100, agingTicks: 10 }, v.toJSON());
    expect(back.known(1, 10, 1e6)).toEqual(v.known(1, 10, 1e6));
    expect(ZoneVocabulary.fromJSON({ capacity: 1, agingTicks: 1 }, undefined).size).toBe(0);
  });
});

describe('known names at alert start', () => {
  it('hold the zone’s established names and none of the flood’s', () => {
    const T0 = 1_700_000_000_000;
    const events = [
      ...simulate({
        seed: 7,
        startTime: T0,
        durationMs: 100_000,
        zones: 4,
        benignQps: 400,
        withResponses: true,
        streams: [
          { kind: 'mirai', zone: 'acme.com', startMs: 60_000, durationMs: 30_000, qps: 1500 },
        ],
      }),
    ];
    const core = new DetectorCore({});
    const out: DetectorOutput = { alerts: [], zoneStats: [], offenders: [], knownNames: [] };
    for (let i = 0; i < events.length; i += 500) {
      const o = core.process(0, events.slice(i, i + 500));
      out.knownNames.push(...o.knownNames);
      out.alerts.push(...o.alerts);
    }
    const started = out.alerts.filter((a) => a.phase === 'started');
    expect(started.map((a) => a.zone)).toEqual(['acme.com']);
    expect(out.knownNames.length).toBeGreaterThanOrEqual(1);
    const known = out.knownNames[out.knownNames.length - 1]!;
    expect(new Set(out.knownNames.map((k) => k.alertId))).toEqual(new Set([started[0]!.alertId]));
    const beforeOnset = new Set(
      events.filter((e) => e.zone === 'acme.com' && e.ts < T0 + 60_000).map((e) => e.qname),
    );
    const asked = new Map<string, number>();
    for (const e of events)
      if (e.zone === 'acme.com') asked.set(e.qname, (asked.get(e.qname) ?? 0) + 1);
    const flood = events.filter((e) => e.zone === 'acme.com' && !beforeOnset.has(e.qname));
    expect(flood.length).toBeGreaterThan(10_000);
    expect(known.names.length).toBeGreaterThan(5);
    // Every name ever published was established before the onset or asked again and again since;
    // none of the flood's (each asked once).
    for (const msg of out.knownNames)
      for (const n of msg.names) expect(beforeOnset.has(n) || (asked.get(n) ?? 0) >= 3).toBe(true);
    // The legitimate queries during the attack mostly ask for names the guard would answer.
    const names = new Set(known.names);
    const legitDuring = events.filter(
      (e) => e.zone === 'acme.com' && e.ts >= T0 + 60_000 && beforeOnset.has(e.qname),
    );
    const answered = legitDuring.filter((e) => names.has(e.qname)).length;
    expect(answered / legitDuring.length).toBeGreaterThan(0.9);
  });
});

describe('ZoneVocabulary during an alert', () => {
  const v = () => new ZoneVocabulary({ capacity: 100, agingTicks: 1000 });

  it('a name new during the attack is known from its third sighting (second seen-filter hit)', () => {
    const x = v();
    const before = x.version;
    x.observeDuringAlert(h('new.z'), 'new.z', null, 5000);
    expect(x.known(1000, 100, 1e6).names).toEqual([]);
    x.observeDuringAlert(h('new.z'), 'new.z', null, 6000);
    expect(x.known(1000, 100, 1e6).names).toEqual(['new.z']);
    expect(x.version).toBe(before + 1);
  });

  it('a name asked once before the onset is known when asked again during the attack', () => {
    const x = v();
    x.observe(h('rare.z'), 'rare.z', null, 0, true);
    expect(x.known(1000, 100, 1e6).names).toEqual([]);
    x.observeDuringAlert(h('rare.z'), 'rare.z', null, 5000);
    expect(x.known(1000, 100, 1e6).names).toEqual(['rare.z']);
  });

  it('forgets what entered between the onset and the alert (the flood among it)', () => {
    const x = v();
    x.observe(h('www.z'), 'www.z', null, 0, true);
    x.observe(h('www.z'), 'www.z', null, 0, true);
    for (let i = 0; i < 50; i++) x.observe(h(`flood${i}.z`), `flood${i}.z`, null, 2000, true);
    x.forgetSince(1000);
    expect(x.size).toBe(1);
    // A flood name a filter false positive lets in is never known: it never comes back.
    x.observeDuringAlert(h('fp.z'), 'fp.z', 3, 3000);
    expect(x.known(1000, 100, 1e6).names).toEqual(['www.z']);
  });
});
