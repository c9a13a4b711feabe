import {
  decodeQueryColumns,
  encodeQueryBatch,
  QueryBatchBuilder,
  QueryColumns,
  type QueryEvent,
} from '@sluice/contracts';
import { baseEvent, Rng, simulate } from '@sluice/traffic-sim';
import { DetectorCore, type DetectorOutput } from './detector-core';
import { ResolverIds } from './resolver-ids';
import { ZoneDetector } from './zone-detector';

const T0 = 1_700_000_000_000;

/** A Mirai flood on acme.com from 6000 resolvers (each asks a few names), in a small benign mix. */
function events(): QueryEvent[] {
  const all = [
    ...simulate({
      seed: 8,
      startTime: T0,
      durationMs: 70_000,
      zones: 3,
      benignQps: 300,
      withResponses: true,
      streams: [{ kind: 'mirai', zone: 'acme.com', startMs: 30_000, durationMs: 30_000, qps: 800 }],
    }),
  ];
  let n = 0;
  return all.map((e) =>
    e.zone === 'acme.com' && e.ts >= T0 + 30_000 && e.ts < T0 + 60_000
      ? { ...e, resolver: `10.9.${(n % 6000) >> 8}.${n++ % 256}` }
      : e,
  );
}

/** As the consumer runs: per-zone batches of one second, decoded into columns. */
function run(list: readonly QueryEvent[]): { out: DetectorOutput; snapshot: unknown } {
  const core = new DetectorCore();
  const cols = new QueryColumns();
  const out: DetectorOutput = { alerts: [], zoneStats: [], offenders: [], knownNames: [] };
  const add = (o: DetectorOutput) => {
    out.alerts.push(...o.alerts);
    out.zoneStats.push(...o.zoneStats);
    out.offenders.push(...o.offenders);
    out.knownNames.push(...o.knownNames);
  };
  for (let s = 0; s < 70; s++) {
    const second = list.filter((e) => Math.floor((e.ts - T0) / 1000) === s);
    for (const zone of new Set(second.map((e) => e.zone))) {
      const batch = second.filter((e) => e.zone === zone);
      const value = encodeQueryBatch({ v: 1, source: 'spec', zone, events: batch });
      core.ingestColumns(0, decodeQueryColumns(value, cols));
    }
    add(core.advance(0));
  }
  const snapshot = JSON.parse(JSON.stringify(core.snapshot(0))) as unknown;
  add(core.drain(0, 60_000));
  return { out, snapshot };
}

/** Same records in the same order; on a difference, only the first differing one is diffed. */
function expectSame(a: readonly unknown[], b: readonly unknown[]): void {
  expect(a.length).toBe(b.length);
  const i = a.findIndex((x, k) => JSON.stringify(x) !== JSON.stringify(b[k]));
  if (i >= 0) expect(a[i]).toEqual(b[i]);
}

describe('resolver ids', () => {
  const slack = ZoneDetector.resolverSlack;
  afterEach(() => {
    ZoneDetector.resolverSlack = slack;
  });

  it('a zone that compacts its resolver ids emits exactly what one that never does emits', () => {
    const list = events();
    ZoneDetector.resolverSlack = 1 << 30;
    const before = ZoneDetector.resolverCompactions;
    const never = run(list);
    expect(ZoneDetector.resolverCompactions).toBe(before);
    ZoneDetector.resolverSlack = 0;
    const often = run(list);
    expect(ZoneDetector.resolverCompactions - before).toBeGreaterThan(10);
    expect(never.out.alerts.length).toBeGreaterThan(0);
    expect(never.out.offenders.length).toBeGreaterThan(1000);
    for (const key of ['alerts', 'zoneStats', 'offenders', 'knownNames'] as const)
      expectSame(often.out[key], never.out[key]);
    expectSame([often.snapshot], [never.snapshot]);
  });
});

describe('resolver ids from decoded columns', () => {
  it('gives every row the id of its own resolver, across batches, intern-slot collisions and long names', () => {
    // 6000 names over the decoder's 4096 intern slots: slots are taken over again and again, so a
    // cache keyed by slot that trusted a stale slot would hand a row another resolver's id.
    const names = Array.from(
      { length: 6000 },
      (_, i) => `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`,
    );
    names.push(`2001:db8:${'ffff:'.repeat(12)}1`); // longer than the decoder interns (64 bytes)
    const ids = new ResolverIds();
    const cols = new QueryColumns();
    let seed = 7;
    const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    for (let b = 0; b < 300; b++) {
      const batch = Array.from({ length: 200 }, (_, k) => ({
        ts: T0 + b * 1000 + k,
        resolver: names[(b % 3 === 0 ? next() : k * 31 + b) % names.length]!,
        resolverPort: 53,
        transport: 'udp' as const,
        qname: 'www.acme.com',
        qtype: 1,
        qclass: 1,
        rd: true,
        cd: false,
        do: false,
        ednsSize: null,
        id: 1,
        zone: 'acme.com',
        rcode: null,
      }));
      const value = encodeQueryBatch({ v: 1, source: 'spec', zone: 'acme.com', events: batch });
      decodeQueryColumns(value, cols);
      for (let i = 0; i < cols.count; i++)
        expect(ids.names[ids.ofColumns(cols, i, b)]).toBe(batch[i]!.resolver);
    }
    // One id per name, never two.
    expect(new Set(ids.names).size).toBe(ids.names.length);
    expect(ids.names.length).toBe(names.length);
  });

  it('gives each zone its own ids for a batch that holds several zones, rows interleaved', () => {
    // A partition's batch: three zones' rows interleaved over one resolver dictionary; each zone
    // maps only the entries its rows use, and a later batch reuses no stale entry.
    const zones = ['a.example', 'b.example', 'c.example'];
    const ids = zones.map(() => new ResolverIds());
    const cols = new QueryColumns();
    const rng = new Rng(3);
    for (let b = 0; b < 50; b++) {
      const builder = new QueryBatchBuilder('spec', zones[0]!);
      const rows: Array<[number, string]> = [];
      for (let k = 0; k < 300; k++) {
        const z = (k * 7 + b) % 3;
        const resolver = `10.0.${(k * 13 + b * 5) % 97}.${z}`;
        rows.push([z, resolver]);
        builder.add(baseEvent(rng, T0 + b * 1000 + k, resolver, `w.${zones[z]}`, zones[z]!, 1));
      }
      decodeQueryColumns(builder.finish(), cols);
      for (let i = 0; i < cols.count; i++) {
        const [z, resolver] = rows[i]!;
        expect(ids[z]!.names[ids[z]!.ofColumns(cols, i, b)]).toBe(resolver);
      }
    }
    // Each zone's table holds its own resolvers only, once each.
    for (const [z, t] of ids.entries()) {
      expect(t.names.every((n) => n.endsWith(`.${z}`))).toBe(true);
      expect(new Set(t.names).size).toBe(t.names.length);
    }
  });
});
