/**
 * Hot-zone scale-out (issue 13 item 1): one zone's queries split over K shard stages by name,
 * one merge stage deciding. The claim held here: for K = 1, 2, 4 every output is the same —
 * alerts (every field: phase, onset, start and end ticks, severity, signals, rates, z-scores,
 * fingerprint, samples), zone stats, offender records and known names — except the top-resolver
 * lists, which add up each shard's busiest resolvers (approximate at K > 1; see docs/scaling.md).
 * On the scenario traffic the two-stage detector also keeps the single-instance detector's
 * alert lifecycle (start and end ticks, severity) and meets the same targets.
 */
import { hotZoneShard, type Alert, type QueryEvent } from '@sluice/contracts';
import { simulate } from '@sluice/traffic-sim';
import {
  ADVERSARIAL_CASES,
  BENIGN_CASES,
  buildScenario,
  judge,
  type AdversarialCase,
} from '../../../test/adversarial-scenarios';
import { statsRankingCase } from '../../../test/stats-ranking';
import { DetectorCore } from '../detector-core';
import { withDefaults } from '../settings';
import { ZoneDetector } from '../zone-detector';
import { type ZoneOutput } from '../zone-output';
import { MergeStage, type MergeSnapshot } from './merge-stage';
import { shardOfQname } from './shard-routing';
import { ShardStage, type ShardSnapshot } from './shard-stage';
import { ShardedDetector, type ShardedPartitionSnapshot } from './sharded-detector';

const TIMEOUT_MS = 300_000;

function query(ts: number, zone: string, qname: string, resolver: string): QueryEvent {
  return {
    ts,
    resolver,
    resolverPort: 53000,
    transport: 'udp',
    qname,
    qtype: 1,
    qclass: 1,
    rd: true,
    cd: false,
    do: false,
    ednsSize: null,
    id: 1,
    zone,
    rcode: 0,
    ancount: 1,
  };
}

interface Source {
  process(partition: number, events: readonly QueryEvent[]): ZoneOutput;
  drain(partition: number, extraMs: number): ZoneOutput;
}

function empty(): ZoneOutput {
  return { alerts: [], zoneStats: [], offenders: [], knownNames: [] };
}

function append(to: ZoneOutput, o: ZoneOutput): void {
  to.alerts.push(...o.alerts);
  to.zoneStats.push(...o.zoneStats);
  to.offenders.push(...o.offenders);
  to.knownNames.push(...o.knownNames);
}

function run(core: Source, events: readonly QueryEvent[], batch = 1000): ZoneOutput {
  const out = empty();
  for (let i = 0; i < events.length; i += batch)
    append(out, core.process(0, events.slice(i, i + batch)));
  append(out, core.drain(0, 60_000));
  return out;
}

/**
 * Each zone's outputs in order, without the merged top-resolver lists. (Zones
 * interleave differently: a split zone closes a tick once all its shards' clocks passed it.)
 */
function exact(o: ZoneOutput, keepTop = false): Record<string, unknown[]> {
  const top = <T extends { topResolvers: unknown }>(m: T) =>
    keepTop ? m : { ...m, topResolvers: null };
  const g: Record<string, unknown[]> = {};
  const add = (kind: string, zone: string, m: unknown) => (g[`${kind} ${zone}`] ??= []).push(m);
  for (const a of o.alerts) add('alert', a.zone, top(a));
  for (const z of o.zoneStats) add('stats', z.zone, top(z));
  for (const x of o.offenders) add('offender', x.zone, x);
  for (const k of o.knownNames) add('names', k.zone, k);
  return g;
}

const lifecycle = (alerts: readonly Alert[]) =>
  alerts
    .filter((a) => a.phase !== 'updated')
    .map((a) => [a.zone, a.phase, a.onset, a.at, a.endedAt, a.severity].join(' '));

const sharded = (k: number, c: AdversarialCase) =>
  new ShardedDetector({ allowlist: c.allowlist ?? [] }, { shardsFor: () => k, serialize: true });

/**
 * Attack shapes and benign look-alikes, each with its own seed and another. The short replay
 * (queries only: the surge's flatness counts, per block) and a deployment of new hosts are
 * decided by per-name coincidence counts that every split must add up the same.
 */
const CASES: [string, AdversarialCase, boolean][] = [
  'pulse: mirai 10× (10 s on, 20 s off, 3 min)',
  'wordlist: 2000 names at 35× from 1500 resolvers (the flood issue 11 saw)',
  'silent zone: mirai at 300 qps',
  'nested: 3 parents at 5×',
  'replay: 300 names at 5× from 500 resolvers',
  'cdn hash names at 3×',
  'flash crowd at 10× on existing names',
  'deployment: 300 new hosts at 3× from 3000 resolvers, TTL 300 s',
].flatMap((name) => {
  const c = [...ADVERSARIAL_CASES, ...BENIGN_CASES].find((x) => x.name === name);
  if (!c) throw new Error(`no case ${name}`);
  return [
    [`${name}, seed ${c.seed}, with responses`, c, true],
    [`${name}, seed ${c.seed + 1000}, queries only`, { ...c, seed: c.seed + 1000 }, false],
  ];
});

describe('a hot zone over K shards', () => {
  it.each(CASES)(
    '%s: the same outputs for K = 1, 2, 4, and the single detector’s alerts',
    (_name, c, withResponses) => {
      const built = buildScenario(c, { withResponses });
      const events = [...simulate(built.spec)];
      const one = run(sharded(1, c), events);
      // Quality: the two-stage detector meets the scenario's targets on its own…
      expect(judge(built, one.alerts, c).violations).toEqual([]);
      if (built.isAttack) expect(one.alerts.some((a) => a.phase === 'started')).toBe(true);
      // …with the single-instance detector's start and end ticks and severities…
      const reference = run(new DetectorCore({ allowlist: c.allowlist ?? [] }), events);
      expect(lifecycle(one.alerts)).toEqual(lifecycle(reference.alerts));
      // …and every split gives the same outputs.
      for (const k of [2, 4]) expect(exact(run(sharded(k, c), events))).toEqual(exact(one));
    },
    TIMEOUT_MS,
  );

  it(
    'queries up to the allowed lateness out of order: still the same for every K',
    () => {
      const c = CASES[0]![1];
      const built = buildScenario(c, { withResponses: true });
      // Each run of 50 events reversed: up to ~100 ms out of order at these rates, none late.
      const events = [...simulate(built.spec)];
      const shuffled: QueryEvent[] = [];
      for (let i = 0; i < events.length; i += 50)
        shuffled.push(...events.slice(i, i + 50).reverse());
      const outputs = [1, 2, 4].map((k) => {
        const d = sharded(k, c);
        const out = run(d, shuffled);
        expect(d.late).toBe(0);
        return exact(out);
      });
      expect(outputs[1]).toEqual(outputs[0]);
      expect(outputs[2]).toEqual(outputs[0]);
    },
    TIMEOUT_MS,
  );

  /** A flood case, its events and an uninterrupted K = 2 run of them (made once, shared). */
  let flood: { c: AdversarialCase; onset: number; events: QueryEvent[]; whole: ZoneOutput };
  const floodRun = () => {
    if (!flood) {
      const c = CASES[2]![1];
      const built = buildScenario(c, { withResponses: true });
      const events = [...simulate(built.spec)];
      flood = { c, onset: built.onset!, events, whole: run(sharded(2, c), events) };
    }
    return flood;
  };

  it(
    'a checkpoint taken mid-flood and restored gives the outputs of an uninterrupted run',
    () => {
      const { c, onset, events, whole } = floodRun();
      // Cut in the middle of the attack, with ticks buffered and an alert open.
      const cut = events.findIndex((e) => e.ts >= onset + 10_000) + 137;
      const first = sharded(2, c);
      const out = empty();
      for (let i = 0; i < cut; i += 1000)
        append(out, first.process(0, events.slice(i, Math.min(i + 1000, cut))));
      expect(first.activeAlerts()).toHaveLength(1);
      const snap = JSON.parse(JSON.stringify(first.snapshot(0))) as ShardedPartitionSnapshot;
      const second = sharded(2, c);
      second.restore(0, snap);
      append(out, run(second, events.slice(cut)));
      expect(exact(out, true)).toEqual(exact(whole, true));
    },
    TIMEOUT_MS,
  );

  it(
    'shards that rebuild their resolver id tables every tick publish the same outputs',
    () => {
      const { c, events, whole } = floodRun();
      expect(whole.offenders.length).toBeGreaterThan(0);
      const slack = ZoneDetector.resolverSlack;
      const compactions = ShardStage.resolverCompactions;
      ZoneDetector.resolverSlack = 0;
      try {
        const compacted = run(sharded(2, c), events);
        expect(ShardStage.resolverCompactions - compactions).toBeGreaterThan(50);
        expect(exact(compacted, true)).toEqual(exact(whole, true));
      } finally {
        ZoneDetector.resolverSlack = slack;
      }
    },
    TIMEOUT_MS,
  );

  it('a shard closes no tick before the decision on the one before, and a merge restored mid-tick completes it', () => {
    const s = withDefaults({});
    const zone = 'hot.example';
    const origin = 1_700_000_000_000;
    const mk = () => [0, 1].map((i) => new ShardStage(zone, i, 2, s, origin));
    const shards = mk();
    const twins = mk();
    const merge = new MergeStage(zone, 2, s, origin);
    const twin = new MergeStage(zone, 2, s, origin);
    for (let q = 0; q < 400; q++) {
      const qname = `host${q % 40}.${zone}`;
      const e = query(origin + q, zone, qname, `192.0.2.${q % 7}`);
      shards[shardOfQname(qname, zone, 2)]!.buffer(e);
      twins[shardOfQname(qname, zone, 2)]!.buffer(e);
    }
    const a = shards.map((sh) => sh.closeTick());
    const b = twins.map((sh) => sh.closeTick());
    expect(() => shards[0]!.closeTick()).toThrow(/before the decision/);
    expect(merge.accept(a[0]!)).toEqual([]);
    // The merge stage checkpointed with one shard's summary waiting.
    const restored = MergeStage.fromJSON(
      s,
      JSON.parse(JSON.stringify(merge.toJSON())) as MergeSnapshot,
    );
    expect(twin.accept(b[0]!)).toEqual([]);
    const [r] = restored.accept(a[1]!);
    const [t] = twin.accept(b[1]!);
    expect(r).toEqual(t);
    expect(r!.decision.train.length).toBeGreaterThan(0);
    // A shard restored after the decision continues as its twin does.
    for (const sh of shards) sh.applyDecision(r!.decision);
    for (const sh of twins) sh.applyDecision(t!.decision);
    const back = ShardStage.fromJSON(
      s,
      JSON.parse(JSON.stringify(shards[1]!.toJSON())) as ShardSnapshot,
    );
    expect(back.closeTick()).toEqual(twins[1]!.closeTick());
  });

  it('the ingest’s routing (contracts) puts every name in the shard the detector expects', () => {
    const zone = 'hot.example';
    for (let i = 0; i < 5000; i++) {
      const qname = i % 97 === 0 ? zone : `x${(i * 2654435761) % 1e9}.${i % 3 ? 'a.' : ''}${zone}`;
      for (const k of [2, 3, 4, 7, 64])
        expect(hotZoneShard(qname, zone, k)).toBe(shardOfQname(qname, zone, k));
    }
  });

  it('K = 1: the stats window’s top resolvers are exact — the single detector’s — through a checkpoint and a compaction', () => {
    // The case detector-core.spec ranks, with names spread over the blocks.
    const zone = 'hot.example';
    const T = 1_700_000_000_000;
    const from = (ts: number, resolver: string, n: number) =>
      query(ts, zone, `h${n % 300}.${zone}`, resolver);
    const { before, events, expected } = statsRankingCase(T, from);
    const last = from(T + 1000, '192.0.2.1', 0);
    const settings = { statsEveryTicks: 1, offenderWindowTicks: 1, allowedLatenessMs: 0 };
    const window = (o: ZoneOutput) => o.zoneStats.find((z) => z.windowStart === T)!;
    const split = () => new ShardedDetector(settings, { shardsFor: () => 1, serialize: true });
    const whole = split().process(0, [...before, ...events, last]);
    expect(window(whole).topResolvers).toEqual(expected);
    const single = new DetectorCore(settings).process(0, [...before, ...events, last]);
    expect(window(whole).topResolvers).toEqual(window(single).topResolvers);
    // Cut mid-window: the checkpoint carries the counts, the compacted id table keeps them.
    const first = split();
    first.process(0, [...before, ...events.slice(0, 700)]);
    const second = split();
    second.restore(0, JSON.parse(JSON.stringify(first.snapshot(0))) as ShardedPartitionSnapshot);
    const slack = ZoneDetector.resolverSlack;
    const compactions = ShardStage.resolverCompactions;
    ZoneDetector.resolverSlack = 1;
    try {
      const out = second.process(0, [...events.slice(700), last]);
      expect(ShardStage.resolverCompactions).toBeGreaterThan(compactions);
      expect(window(out).topResolvers).toEqual(expected);
    } finally {
      ZoneDetector.resolverSlack = slack;
    }
  });

  it('a query routed to the wrong shard is refused', () => {
    const s = withDefaults({});
    const zone = 'hot.example';
    const qname = `www.${zone}`;
    const wrong = 1 - shardOfQname(qname, zone, 2);
    const sh = new ShardStage(zone, wrong, 2, s, 0);
    sh.buffer(query(10, zone, qname, '192.0.2.1'));
    expect(() => sh.closeTick()).toThrow(/block/);
  });
});
