import {
  type Alert,
  type BlocklistEntry,
  type EnrichedOffender,
  type ZoneStats,
} from '@sluice/contracts';
import { BlocklistTable } from './blocklist-table';
import { type ConsoleUpdate, ConsoleView } from './console-view';
import { parseReadyz, summariseMetrics } from './stage-health';

const options = {
  maxZones: 3,
  timelinePoints: 5,
  maxAttacks: 2,
  maxResolversPerAttack: 3,
  evidencePerResolver: 2,
  maxBlocklist: 1_000,
  reportIntervalMs: 1_000,
};

const EVIL = '<script>window.__pwned=1</script>"><img src=x onerror=alert(1)>.example.com';

function stats(zone: string, t: number, extra: Partial<ZoneStats> = {}): ZoneStats {
  return {
    v: 1,
    zone,
    windowStart: t,
    windowEnd: t + 1_000,
    queries: 100,
    qps: 100,
    baselineQps: 10,
    uniqueSubnames: 90,
    neverSeenRate: 0.9,
    randomShare: 0.8,
    nxdomainShare: 0.7,
    topResolvers: [],
    ...extra,
  };
}

function alert(phase: Alert['phase'], at: number, extra: Partial<Alert> = {}): Alert {
  return {
    v: 1,
    alertId: 'a1',
    zone: 'example.com',
    phase,
    severity: 'high',
    onset: 1_000,
    at,
    endedAt: phase === 'ended' ? at : null,
    qps: 500,
    baselineQps: 10,
    uniqueRate: 400,
    neverSeenRate: 0.95,
    randomShare: 0.9,
    nxdomainShare: 0.9,
    meanEntropy: 3.5,
    sampleNames: [EVIL],
    evidence: [],
    topResolvers: [],
    fingerprint: {
      labelLengths: { '12': 1 },
      alphabet: 'abc',
      labelsPerName: { '1': 1 },
      generator: 'mirai',
      qtypes: { A: 1 },
    },
    ...extra,
  };
}

function offender(
  resolver: string,
  asn: number | null,
  windowStart: number,
  attackQueries = 10,
): EnrichedOffender {
  return {
    v: 1,
    zone: 'example.com',
    resolver,
    windowStart,
    windowEnd: windowStart + 1_000,
    attackQueries,
    totalQueries: attackQueries + 1,
    alertId: 'a1',
    evidence: [
      { ts: windowStart + 1, resolver, qname: EVIL },
      { ts: windowStart + 2, resolver: 'someone-else', qname: 'x.example.com' },
    ],
    enrichment: {
      asn,
      asOrg: asn === null ? null : `Org ${asn}`,
      prefix: asn === null ? null : `198.51.${asn % 256}.0/24`,
      country: 'DE',
      resolverKind: asn === null ? 'unknown' : 'isp',
      resolverOperator: null,
    },
  };
}

function entry(id: string, extra: Partial<BlocklistEntry> = {}): BlocklistEntry {
  return {
    v: 1,
    id,
    scope: { kind: 'resolver-zone', resolver: `192.0.2.${id.length}`, zone: 'example.com' },
    action: 'refused',
    reason: 'attack share 0.9',
    score: 5,
    createdAt: 1,
    expiresAt: 2,
    shadow: true,
    ...extra,
  };
}

const ofType = <T extends ConsoleUpdate['type']>(u: ConsoleUpdate[], type: T) =>
  u.filter((x): x is Extract<ConsoleUpdate, { type: T }> => x.type === type);

describe('ConsoleView', () => {
  it('keeps a bounded per-zone timeline and pushes appends, then a resync for a late window', () => {
    const v = new ConsoleView(options);
    for (let i = 0; i < 7; i++) v.applyZoneStats(stats('example.com', i * 1_000));
    let u = v.takeUpdates(0);
    // first push of a zone is whole
    expect(ofType(u, 'zone')[0]!.zone.points.map((p) => p.t)).toEqual([
      2000, 3000, 4000, 5000, 6000,
    ]);
    v.applyZoneStats(stats('example.com', 7_000));
    u = v.takeUpdates(0);
    expect(ofType(u, 'points')[0]!.points.map((p) => p.t)).toEqual([7000]);
    // a redelivered window replaces its point, in place
    v.applyZoneStats(stats('example.com', 5_000, { qps: 1 }));
    u = v.takeUpdates(0);
    const z = ofType(u, 'zone')[0]!.zone;
    expect(z.points.map((p) => p.t)).toEqual([3000, 4000, 5000, 6000, 7000]);
    expect(z.points[2]!.qps).toBe(1);
    expect(v.takeUpdates(0)).toEqual([]);
  });

  it('marks alert phases on the zone, ignores a redelivered update after the end', () => {
    const v = new ConsoleView(options);
    v.applyAlert(alert('started', 2_000));
    v.applyAlert(alert('updated', 3_000));
    v.applyAlert(alert('updated', 4_000, { severity: 'critical', qps: 900 }));
    v.applyAlert(alert('ended', 9_000));
    v.applyAlert(alert('updated', 5_000));
    const [a] = v.attackViews();
    expect(a).toMatchObject({ phase: 'ended', severity: 'high', peakQps: 900, endedAt: 9_000 });
    expect(a!.sampleNames).toEqual([EVIL]);
    const snap = v.snapshot(0);
    expect(snap.zones[0]!.phases.map((p) => `${p.phase}@${p.t}`)).toEqual([
      'started@2000',
      'updated@4000',
      'ended@9000',
    ]);
    expect(snap.zones[0]!.activeAlertId).toBeNull();
  });

  it('aggregates enriched offenders into the enrichment report, deduplicating redelivered windows', () => {
    const v = new ConsoleView(options);
    v.applyAlert(alert('started', 2_000));
    v.applyOffender(offender('192.0.2.1', 64500, 1_000));
    v.applyOffender(offender('192.0.2.1', 64500, 1_000)); // redelivered
    v.applyOffender(offender('192.0.2.1', 64500, 2_000));
    v.applyOffender(offender('192.0.2.2', 64501, 1_000, 30));
    v.applyOffender(offender('192.0.2.3', null, 1_000));
    v.applyOffender(offender('192.0.2.4', 64500, 1_000)); // over maxResolversPerAttack
    const u = v.takeUpdates(10_000);
    const report = ofType(u, 'report')[0]!.report;
    expect(report.totals).toMatchObject({ attackQueries: 60, resolvers: 3, asns: 2 });
    expect(report.asns.map((a) => [a.asn, a.share])).toEqual([
      [64501, 50],
      [64500, 33.33],
      [null, 16.67],
    ]);
    expect('evidence' in report).toBe(false);
    expect(ofType(u, 'attack')[0]!.attack).toMatchObject({ resolvers: 3, resolversDropped: 1 });
    // throttled: a new offender within reportIntervalMs waits for the next push
    v.applyOffender(offender('192.0.2.2', 64501, 5_000));
    expect(ofType(v.takeUpdates(10_500), 'report')).toHaveLength(0);
    expect(ofType(v.takeUpdates(11_000), 'report')).toHaveLength(1);
  });

  it('exports per-ASN evidence as the enrichment report CSV and JSON, names verbatim', () => {
    const v = new ConsoleView(options);
    v.applyAlert(alert('started', 2_000));
    v.applyOffender(offender('192.0.2.1', 64500, 1_000));
    v.applyOffender(offender('192.0.2.2', 64501, 1_000));
    const csv = v.evidence('a1', 64500, 'csv', 0)!;
    const lines = csv.trim().split('\n');
    expect(lines[0]).toBe(
      'asn,org,country,resolver,time_utc,qname,resolver_first_seen_utc,resolver_last_seen_utc,resolver_attack_queries,resolver_total_queries',
    );
    expect(lines).toHaveLength(2); // one sample of its own resolver; someone-else's is not its evidence
    expect(lines[1]).toContain(
      '192.0.2.1,1970-01-01T00:00:01.001Z,"<script>window.__pwned=1</script>""><img',
    );
    expect(csv).not.toContain('192.0.2.2');
    const json = JSON.parse(v.evidence('a1', 64500, 'json', 0)!);
    expect(json.evidence[0].resolvers[0].samples[0]).toEqual({
      ts: 1_001,
      resolver: '192.0.2.1',
      qname: EVIL,
    });
    expect(v.evidence('nope', 1, 'csv', 0)).toBeNull();
    expect(v.evidence('a1', null, 'csv', 0)!.trim().split('\n')).toHaveLength(1);
  });

  it('shows what each entry stopped on its page rows, once per record, and pushes when it moves', () => {
    const v = new ConsoleView(options);
    v.applyAlert(alert('started', 2_000));
    v.applyBlocklist(
      'rz',
      entry('rz', {
        scope: { kind: 'resolver-zone', resolver: '192.0.2.7', zone: 'example.com' },
        createdAt: 3_000,
        expiresAt: 100_000,
      }),
    );
    v.takeUpdates(0);
    v.applyOffender(offender('192.0.2.7', 64500, 2_000, 10)); // before the entry: not its doing
    v.applyOffender(offender('192.0.2.7', 64500, 3_000, 10));
    v.applyOffender(offender('192.0.2.7', 64500, 3_000, 10)); // redelivered
    v.applyOffender(offender('192.0.2.8', 64500, 4_000, 10));
    const pushed = ofType(v.takeUpdates(0), 'blocklist');
    expect(pushed).toHaveLength(1);
    expect(pushed[0]!.summary.stopsVersion).toBe(1);
    const page = v.blocklistPage({ offset: 0, limit: 10, sort: 'score' });
    expect(page.rows[0]!.stopped).toEqual({ queries: 11, recentQps: 11 / 60, lastAt: 4_000 });
    expect(page.clock).toBe(5_000);
    expect(ofType(v.takeUpdates(0), 'blocklist')).toHaveLength(0);
    v.applyBlocklist('rz', null);
    expect(v.blocklistPage({ offset: 0, limit: 10, sort: 'score' }).rows).toEqual([]);
  });

  it('keeps active attacks and evicts the oldest ended ones; keeps zones under attack', () => {
    const v = new ConsoleView(options);
    for (const [id, phase, at] of [
      ['x1', 'ended', 1],
      ['x2', 'ended', 2],
      ['x3', 'started', 3],
    ] as const)
      v.applyAlert(alert(phase, at, { alertId: id, zone: `${id}.test` }));
    expect(v.attackViews().map((a) => a.alertId)).toEqual(['x3', 'x2']);
    expect(ofType(v.takeUpdates(0), 'removed')).toEqual([
      { type: 'removed', kind: 'attack', id: 'x1' },
    ]);
    for (const z of ['a.test', 'b.test', 'c.test']) v.applyZoneStats(stats(z, 10));
    const zones = v.snapshot(0).zones.map((z) => z.zone);
    expect(zones).toContain('x3.test');
    expect(zones).toHaveLength(3);
  });
});

describe('BlocklistTable', () => {
  it('upserts, removes on tombstones, summarises and pages 100,000 entries', () => {
    const t = new BlocklistTable(200_000);
    for (let i = 0; i < 100_000; i++)
      t.apply(`e${i}`, entry(`e${i}`, { score: i % 1_000, shadow: i % 2 === 0 }));
    t.apply(
      'g',
      entry('g', {
        scope: { kind: 'zone', zone: 'example.com' },
        action: 'guard',
        guard: {
          alertId: 'a1',
          appliesTo: 'offenders',
          knownNames: ['www.example.com', 'example.com'],
          namesTruncated: false,
          sources: ['traffic'],
          alertEndedAt: null,
        },
      }),
    );
    t.apply('e5', null);
    expect(t.apply('missing', null)).toBe(false);
    const s = t.summary();
    expect(s).toMatchObject({ total: 100_000, guards: 1, shadow: 50_001 });
    expect(s.byKind).toEqual({ 'resolver-zone': 99_999, zone: 1 });
    const p1 = t.page({ offset: 0, limit: 100, sort: 'score' });
    const p2 = t.page({ offset: 100, limit: 100, sort: 'score' });
    expect(p1.rows).toHaveLength(100);
    expect(p1.rows[0]!.score).toBe(999);
    expect(p2.rows[0]!.score).toBeLessThanOrEqual(p1.rows[99]!.score);
    const guards = t.page({ offset: 0, limit: 100, sort: 'expiresAt', kind: 'guards' });
    const filtered = t.page({ offset: 0, limit: 10, sort: 'score', q: 'E99999', mode: 'enforced' });
    expect(guards.rows.map((r) => r.guard?.knownNames)).toEqual([2]);
    expect(filtered.rows.map((r) => r.id)).toEqual(['e99999']);
  });

  it('keeps every sort order equal to a fresh sort through upserts, updates and tombstones', () => {
    // A seeded walk: batches of 1-200 changes (spliced in, or merged past 64) between pages of
    // each sort order, some orders left unread for long stretches (their log replayed later).
    let seed = 42; // mulberry32
    const rnd = (n: number) => {
      seed = (seed + 0x6d2b79f5) | 0;
      let x = Math.imul(seed ^ (seed >>> 15), seed | 1);
      x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
      return ((x ^ (x >>> 14)) >>> 0) % n;
    };
    const t = new BlocklistTable(100_000);
    const ids = Array.from({ length: 3_000 }, (_, i) => `id${i}`);
    const live = new Map<string, BlocklistEntry>();
    const sorts = ['score', 'expiresAt', 'createdAt', 'target'] as const;
    for (let round = 0; round < 150; round++) {
      const batch = rnd(3) === 0 ? 1 + rnd(200) : 1 + rnd(10);
      for (let i = 0; i < batch; i++) {
        const id = ids[rnd(ids.length)]!;
        if (rnd(5) === 0) {
          t.apply(id, null);
          live.delete(id);
        } else {
          const e = entry(id, {
            score: rnd(50),
            expiresAt: rnd(20),
            createdAt: rnd(20),
            shadow: rnd(2) === 0,
            scope: { kind: 'resolver-zone', resolver: `192.0.2.${rnd(30)}`, zone: 'example.com' },
          });
          t.apply(id, e);
          live.set(id, e);
        }
      }
      const sort = sorts[rnd(round % 7 === 0 ? 4 : 2)]!;
      const fresh = new BlocklistTable(100_000);
      for (const [id, e] of live) fresh.apply(id, e);
      for (const offset of [0, 1_000, 2_000]) {
        const q = { offset, limit: 1_000, sort };
        expect(t.page(q).rows.map((r) => r.id)).toEqual(fresh.page(q).rows.map((r) => r.id));
      }
      // A filtered page, twice: the second from the filter's cache, which a change must void.
      const f = { offset: 0, limit: 1_000, sort, q: '192.0.2.1', mode: 'shadow' as const };
      for (let twice = 0; twice < 2; twice++)
        expect(t.page(f)).toEqual({ ...fresh.page(f), version: t.currentVersion });
      expect(t.summary()).toEqual({ ...fresh.summary(), version: t.currentVersion });
    }
  });

  it('stops growing at its cap and counts the overflow', () => {
    const t = new BlocklistTable(2);
    t.apply('a', entry('a'));
    t.apply('b', entry('b'));
    expect(t.apply('c', entry('c'))).toBe(false);
    expect(t.apply('a', entry('a', { score: 9 }))).toBe(true);
    expect(t.summary()).toMatchObject({ total: 2, overflow: 1 });
  });
});

describe('stage health', () => {
  it('sums consumer lag per group, bad input and drops from Prometheus text', () => {
    const text = [
      '# HELP sluice_kafka_consumer_lag lag',
      'sluice_kafka_consumer_lag{group="sluice-detector",topic="sluice.queries.v1",partition="0",service="detector"} 5',
      'sluice_kafka_consumer_lag{group="sluice-detector",topic="sluice.queries.v1",partition="1",service="detector"} 7',
      'sluice_ingest_malformed_total{source="dnstap",service="ingest"} 3',
      'sluice_enrichment_malformed_total{reason="schema"} 1',
      'sluice_ingest_dropped_total 4',
      'sluice_ready 1',
    ].join('\n');
    expect(summariseMetrics(text)).toEqual({
      lag: { 'sluice-detector': 12 },
      badInput: 4,
      drops: 4,
    });
    expect(summariseMetrics('sluice_ready 1\n')).toEqual({
      lag: null,
      badInput: null,
      drops: null,
    });
    expect(parseReadyz({ ready: false, checks: { kafka: false, redis: true } })).toEqual({
      ready: false,
      checks: { kafka: false, redis: true },
    });
  });
});
