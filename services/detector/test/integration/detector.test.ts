import { deadLetterSchema, offenderSchema, zoneStatsSchema, type Alert } from '@sluice/contracts';
import { type Kafka } from '@sluice/kafka';
import { testKafka, uniqueName, waitFor } from '@sluice/testing';
import { simulate, zonesOf, type ScenarioSpec } from '@sluice/traffic-sim';
import { type Consumer, type Producer } from 'kafkajs';
import {
  alertKey,
  collectAlerts,
  collectMessages,
  detectorTopics,
  distinct,
  publishEvents,
  startDetector,
  type DetectorHarness,
} from './helpers';

// The jest project's testTimeout does not reach project runs; these tests replay ~100k queries.
jest.setTimeout(180_000);

const T0 = 1_700_000_000_000;
const ONSET = 50_000;
const ATTACK_MS = 25_000;

/**
 * Six zones: three attacked (Mirai flood, hex flood, low-and-slow from 2000 resolvers) and
 * three benign look-alikes (CDN hash names that repeat, a flash crowd, allowlisted RUM beacons).
 */
const zones = zonesOf({ zones: 6 } as ScenarioSpec);
const [mirai, hex, lowslow, cdn, crowd, rum] = zones as [
  string,
  string,
  string,
  string,
  string,
  string,
];
const spec: ScenarioSpec = {
  seed: 99,
  startTime: T0,
  durationMs: ONSET + ATTACK_MS + 30_000,
  zones,
  benignQps: 600,
  withResponses: true,
  streams: [
    { kind: 'mirai', zone: mirai, startMs: ONSET, durationMs: ATTACK_MS, qps: 900 },
    { kind: 'hex', zone: hex, startMs: ONSET, durationMs: ATTACK_MS, qps: 700 },
    {
      kind: 'lowslow',
      zone: lowslow,
      startMs: ONSET,
      durationMs: ATTACK_MS,
      qps: 40,
      resolvers: 2000,
    },
    { kind: 'cdn', zone: cdn, startMs: ONSET, durationMs: ATTACK_MS, qps: 400 },
    { kind: 'flashcrowd', zone: crowd, startMs: ONSET, durationMs: ATTACK_MS, qps: 1500 },
    { kind: 'rum', zone: rum, startMs: 0, durationMs: ONSET + ATTACK_MS + 30_000, qps: 200 },
  ],
};
const settings = { allowlist: [`rum.${rum}`] };
/** Each zone's lifecycle in publication order, replayed duplicates collapsed. */
const phasesByZone = (alerts: Alert[]) => {
  const out: Record<string, string[]> = {};
  const seen = new Set<string>();
  for (const a of alerts) {
    if (seen.has(alertKey(a))) continue;
    seen.add(alertKey(a));
    (out[a.zone] ??= []).push(a.phase);
  }
  return out;
};
const ended = (alerts: Alert[]) =>
  new Set(alerts.filter((a) => a.phase === 'ended').map((a) => a.zone)).size;

describe('detector through the real broker', () => {
  let kafka: Kafka;
  let producer: Producer;
  const running: DetectorHarness[] = [];
  const collectors: Consumer[] = [];

  beforeAll(async () => {
    kafka = testKafka('detector-it');
    producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
  });

  afterAll(async () => {
    // All at once: each waits out its own fetch and group leave.
    await Promise.all(
      running.map(async (h) => {
        await h.pipeline.kill().catch(() => undefined);
        h.redis.disconnect();
      }),
    );
    await Promise.all(collectors.map((c) => c.disconnect()));
    await producer.disconnect();
  });

  async function detector(
    topics: Awaited<ReturnType<typeof detectorTopics>>,
    groupId: string,
    redisPrefix?: string,
  ) {
    const h = await startDetector(kafka, topics, {
      groupId,
      settings,
      redisPrefix,
      checkpointIntervalMs: 500,
    });
    running.push(h);
    return h;
  }

  it('alerts on every attack kind and on nothing benign', async () => {
    const topics = await detectorTopics(kafka);
    await detector(topics, uniqueName('det-g'));
    const { alerts, consumer } = await collectAlerts(kafka, topics.alerts);
    const offenders = await collectMessages(kafka, topics.offenders, offenderSchema);
    const stats = await collectMessages(kafka, topics.zoneStats, zoneStatsSchema);
    const dead = await collectMessages(kafka, topics.deadLetter, deadLetterSchema);
    collectors.push(consumer, offenders.consumer, stats.consumer, dead.consumer);
    // Garbage on the input is counted and sampled to the dead-letter topic, never fatal.
    await producer.send({
      topic: topics.queries,
      acks: -1,
      messages: [{ key: mirai, value: Buffer.from([0xde, 0xad]) }],
    });
    await publishEvents(producer, topics.queries, simulate(spec));
    await waitFor(() => (ended(alerts) >= 3 ? true : undefined), 90_000, 'three attacks to end');
    await waitFor(() => (offenders.messages.length > 0 ? true : undefined), 10_000, 'offenders');

    await waitFor(() => (dead.messages.length > 0 ? true : undefined), 10_000, 'dead letter');
    expect(dead.messages[0]).toMatchObject({
      reason: 'undecodable',
      raw: Buffer.from([0xde, 0xad]).toString('base64'),
    });

    // Offenders: only attacked zones, keyed by zone, tied to the alert, Mirai defaults among them.
    const offenderZones = new Set(offenders.messages.map((o) => o.zone));
    expect([...offenderZones].sort()).toEqual([mirai, hex, lowslow].sort());
    expect(offenders.keys.every((k, i) => k === offenders.messages[i]!.zone)).toBe(true);
    const miraiOffenders = offenders.messages.filter((o) => o.zone === mirai);
    expect(miraiOffenders.map((o) => o.resolver)).toEqual(
      expect.arrayContaining(['8.8.8.8', '4.2.2.2']),
    );
    expect(new Set(miraiOffenders.map((o) => o.alertId))).toEqual(
      new Set([`${mirai}@${T0 + ONSET}`]),
    );
    expect(
      new Set(offenders.messages.filter((o) => o.zone === lowslow).map((o) => o.resolver)).size,
    ).toBeGreaterThan(500);
    // Zone stats for every zone, RUM beacons counted as allowlisted but not alerted.
    expect(new Set(stats.messages.map((s) => s.zone))).toEqual(new Set(zones));
    expect(
      stats.messages.filter((s) => s.zone === rum).some((s) => (s.allowlistedQueries ?? 0) > 0),
    ).toBe(true);
    const phases = phasesByZone(alerts);
    expect(Object.keys(phases).sort()).toEqual([mirai, hex, lowslow].sort());
    for (const z of [mirai, hex, lowslow]) {
      expect(phases[z]![0]).toBe('started');
      expect(phases[z]!.filter((p) => p === 'started')).toHaveLength(1);
      expect(phases[z]!.at(-1)).toBe('ended');
    }
    const start = (z: string) => alerts.find((a) => a.zone === z && a.phase === 'started')!;
    expect(start(mirai).at - (T0 + ONSET)).toBeLessThanOrEqual(2000);
    expect(start(hex).at - (T0 + ONSET)).toBeLessThanOrEqual(2000);
    expect(start(lowslow).at - (T0 + ONSET)).toBeLessThanOrEqual(15_000);
    expect(
      alerts.find((a) => a.zone === mirai && a.phase === 'updated')?.fingerprint.generator,
    ).toBe('mirai');
    expect(alerts.find((a) => a.zone === hex && a.phase === 'updated')?.fingerprint.generator).toBe(
      'hex',
    );
  });

  it('two instances in one group give the same alerts as one instance', async () => {
    const topics = await detectorTopics(kafka);
    const group = uniqueName('det-pair');
    const a = await detector(topics, group);
    const b = await detector(topics, group);
    // Both members have joined and split the partitions before any traffic arrives.
    await new Promise((r) => setTimeout(r, 3000));
    const { alerts: pair, consumer } = await collectAlerts(kafka, topics.alerts);
    collectors.push(consumer);
    await publishEvents(producer, topics.queries, simulate(spec));
    await waitFor(
      () => (ended(pair) >= 3 ? true : undefined),
      90_000,
      'pair: three attacks to end',
    );
    const pairKeys = distinct(pair);
    expect(a.pipeline.core.partitionsHeld().length).toBeGreaterThan(0);
    expect(b.pipeline.core.partitionsHeld().length).toBeGreaterThan(0);

    // A single instance in a fresh group over the same input, its outputs to fresh topics.
    const solo = await detectorTopics(kafka);
    const single = await detector({ ...solo, queries: topics.queries }, uniqueName('det-solo'));
    const { alerts: one, consumer: c2 } = await collectAlerts(kafka, solo.alerts);
    collectors.push(c2);
    await waitFor(
      () => (distinct(one).length >= pairKeys.length ? true : undefined),
      90_000,
      'single instance to catch up',
    );
    await new Promise((r) => setTimeout(r, 1000));
    expect(distinct(one)).toEqual(pairKeys);
    expect(single.pipeline.core.counters.late).toBe(0);
  });

  it('resumes mid-attack after a crash without a false end or a second start', async () => {
    const topics = await detectorTopics(kafka);
    const group = uniqueName('det-restart');
    const first = await detector(topics, group);
    const { alerts, consumer } = await collectAlerts(kafka, topics.alerts);
    collectors.push(consumer);
    const events = [...simulate(spec)];
    const cut = events.findIndex((e) => e.ts >= T0 + ONSET + 10_000);
    await publishEvents(producer, topics.queries, events.slice(0, cut));
    await waitFor(
      () => (first.pipeline.core.activeAlerts().length >= 3 ? true : undefined),
      60_000,
      'attacks active',
    );
    await new Promise((r) => setTimeout(r, 1500)); // let a checkpoint land
    await first.pipeline.kill();
    await publishEvents(producer, topics.queries, events.slice(cut));
    // Same group and Redis prefix: loads the checkpoint, seeks back, replays the gap.
    const second = await detector(topics, group, first.redisPrefix);
    await waitFor(
      () => (ended(alerts) >= 3 ? true : undefined),
      90_000,
      'attacks to end after restart',
    );
    const phases = phasesByZone(alerts);
    for (const z of [mirai, hex, lowslow]) {
      expect(phases[z]!.filter((p) => p === 'started')).toHaveLength(1);
      expect(phases[z]!.filter((p) => p === 'ended')).toHaveLength(1);
      const end = alerts.find((a) => a.zone === z && a.phase === 'ended')!;
      expect(end.endedAt!).toBeGreaterThanOrEqual(T0 + ONSET + ATTACK_MS);
    }
    expect(second.pipeline.restoredPartitions).toBeGreaterThan(0);
    expect(second.pipeline.core.activeAlerts()).toEqual([]);
  });

  it('keeps consuming after a restart whose checkpoint is days behind the new traffic', async () => {
    // The demo's second run: state restored from Redis, then traffic whose event time is days
    // later. Closing that gap used to take longer than the group session (6 s here, the broker
    // minimum), so the coordinator dropped the member, the commit failed with UNKNOWN_MEMBER_ID
    // wrapped as non-retriable, kafkajs crashed without restarting, and nothing was consumed
    // again while readiness still said true.
    const topics = await detectorTopics(kafka, 1);
    const group = uniqueName('det-gap');
    const quiet = { seed: 5, durationMs: 20_000, zones: 4, benignQps: 300, streams: [] };
    const opts = (redisPrefix?: string) => ({
      groupId: group,
      settings: { evictIdleMs: 30 * 86_400_000 },
      redisPrefix,
      checkpointIntervalMs: 500,
      sessionTimeoutMs: 6000,
    });
    const first = await startDetector(kafka, topics, opts());
    running.push(first);
    const before = [...simulate({ ...quiet, startTime: T0 })];
    await publishEvents(producer, topics.queries, before);
    await waitFor(
      () => (first.pipeline.core.counters.events >= before.length ? true : undefined),
      60_000,
      'first instance to consume',
    );
    await first.pipeline.stop(); // graceful: final checkpoint

    const later = T0 + 20 * 86_400_000;
    const after = [...simulate({ ...quiet, seed: 6, startTime: later })];
    await publishEvents(producer, topics.queries, after);
    const { messages: stats, consumer } = await collectMessages(
      kafka,
      topics.zoneStats,
      zoneStatsSchema,
    );
    collectors.push(consumer);
    const second = await startDetector(kafka, topics, opts(first.redisPrefix));
    running.push(second);
    await waitFor(
      () => (second.pipeline.core.counters.events >= after.length ? true : undefined),
      60_000,
      'restarted instance to consume the new traffic',
    );
    expect(second.pipeline.restoredPartitions).toBe(1);
    // More than a session timeout later it is still a member and still consuming.
    await new Promise((r) => setTimeout(r, 7000));
    const more = [...simulate({ ...quiet, seed: 7, startTime: later + 20_000 })];
    await publishEvents(producer, topics.queries, more);
    await waitFor(
      () => (second.pipeline.core.counters.events >= after.length + more.length ? true : undefined),
      30_000,
      'the instance to keep consuming',
    );
    await waitFor(
      () => (stats.some((s) => s.windowStart >= later + 20_000) ? true : undefined),
      30_000,
      'zone stats from the new traffic',
    );
    expect(second.pipeline.crashes).toBe(0);
    expect(second.pipeline.isRunning).toBe(true);
    await second.pipeline.stop();
    expect(second.pipeline.isRunning).toBe(false);
  });
});
