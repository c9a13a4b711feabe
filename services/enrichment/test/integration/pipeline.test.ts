import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DetectorPipeline } from '@sluice/detector';
import { loadIngestConfig, openPublisher, replayFile, ZoneMapper } from '@sluice/ingest';
import { type Kafka } from '@sluice/kafka';
import { createTestTopics, testKafka, uniqueName, waitFor } from '@sluice/testing';
import { simulate, writePcapFile, zonesOf, type ScenarioSpec } from '@sluice/traffic-sim';
import { loadEnrichmentConfig } from '../../src/config/enrichment.config';
import { type AttackReport } from '../../src/core/report-model';
import { renderText } from '../../src/core/report-render';
import { EnrichmentRuntime } from '../../src/enrichment.runtime';

const T0 = 1_700_000_000_000;
const ONSET = 50_000;
const ATTACK_MS = 60_000;

/**
 * The whole chain on the real broker: a simulated Mirai flood written as a pcap, replayed by
 * the ingest into Kafka, detected, enriched, and reported — the seed article's analysis with
 * no hand in between.
 */
describe('pipeline: simulated Mirai attack → ingest replay → detector → enrichment → report', () => {
  let kafka: Kafka;
  let dir: string;
  let detector: DetectorPipeline | null = null;
  let enrichment: EnrichmentRuntime | null = null;

  beforeAll(() => {
    kafka = testKafka('pipeline-it');
    dir = mkdtempSync(join(tmpdir(), 'sluice-pipeline-'));
  });

  afterAll(async () => {
    await detector?.stop().catch(() => undefined);
    if (enrichment) {
      const prefix = enrichment.redis.options.keyPrefix ?? '';
      const keys = (await enrichment.redis.keys(`${prefix}*`)).map((k) => k.slice(prefix.length));
      if (keys.length) await enrichment.redis.del(...keys);
      await enrichment.stop();
    }
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('yields the country table, the top ASNs with the Mirai defaults, and the qps distribution', async () => {
    const zones = zonesOf({ zones: 4 } as ScenarioSpec);
    const target = zones[0]!;
    const spec: ScenarioSpec = {
      seed: 2016,
      startTime: T0,
      durationMs: ONSET + ATTACK_MS + 30_000,
      zones,
      benignQps: 400,
      withResponses: true,
      streams: [
        {
          kind: 'mirai',
          zone: target,
          startMs: ONSET,
          durationMs: ATTACK_MS,
          qps: 800,
          resolvers: 300,
        },
      ],
    };
    const pcap = join(dir, 'mirai.pcap');
    await writePcapFile(pcap, simulate(spec), { withResponses: true });

    const [queries, alerts, offenders, zoneStats, dlq, enriched, knownNames] =
      await createTestTopics(kafka, [
        'pipe-queries',
        'pipe-alerts',
        'pipe-offenders',
        'pipe-stats',
        'pipe-dlq',
        'pipe-enriched',
        'pipe-names',
      ]);

    const config = loadEnrichmentConfig({
      KAFKA_BROKERS: process.env.KAFKA_BROKERS,
      REDIS_URL: process.env.REDIS_URL,
      REDIS_KEY_PREFIX: `${uniqueName('pipeline')}:`,
      LOG_LEVEL: 'warn',
      ENRICH_CONSUMER_GROUP: uniqueName('pipe-enrich'),
      ENRICH_OFFENDERS_TOPIC: offenders,
      ENRICH_ALERTS_TOPIC: alerts,
      ENRICH_OUTPUT_TOPIC: enriched,
      ENRICH_DEADLETTER_TOPIC: dlq,
    });
    enrichment = new EnrichmentRuntime(config, {
      processed: () => undefined,
      bad: () => undefined,
    });
    await enrichment.start();

    detector = new DetectorPipeline(kafka, {
      groupId: uniqueName('pipe-detect'),
      topics: { queries, alerts, offenders, zoneStats, deadLetter: dlq, knownNames },
      settings: {},
      fromBeginning: true,
      checkpoints: null,
      checkpointIntervalMs: 1000,
    });
    await detector.start();

    const ingest = await openPublisher(
      loadIngestConfig({
        KAFKA_BROKERS: process.env.KAFKA_BROKERS,
        INGEST_QUERIES_TOPIC: queries,
        INGEST_DEADLETTER_TOPIC: dlq,
      }),
      'pipeline-ingest',
    );
    const summary = await replayFile(pcap, {
      sink: ingest.publisher,
      zones: new ZoneMapper(zones),
    });
    await ingest.close();
    expect(summary.malformedTotal).toBe(0);

    const reports = enrichment.reports;
    const alertId = await waitFor(
      async () => (await reports.alertsOfZone(target))[0],
      90_000,
      'an alert on the attacked zone',
    );
    // Wait for the attack to end and its offenders to be stored.
    const report: AttackReport = await waitFor(
      async () => {
        const r = await reports.build({ alertId }).catch(() => undefined);
        return r?.alert?.phase === 'ended' && r.totals.resolvers > 0 ? r : undefined;
      },
      120_000,
      'the attack to end and be reported',
    );
    // settle: the last offender window may land just after the end
    await new Promise((r) => setTimeout(r, 2000));
    const final = await reports.build({ alertId });
    expect(final.alert).toMatchObject({ zone: target, generator: 'mirai' });
    expect(final.totals.attackQueries).toBeGreaterThanOrEqual(report.totals.attackQueries);

    // 1. countries: shares add up to 100, each with prefixes and ASNs behind it
    const cents = final.countries.reduce((a, c) => a + Math.round(c.share * 100), 0);
    expect(cents).toBe(10_000);
    expect(final.countries.length).toBeGreaterThanOrEqual(3);
    const us = final.countries.find((c) => c.country === 'US')!;
    expect(us.asns).toBeGreaterThanOrEqual(4);
    // a prefix comes with an ASN: a country whose resolvers are all unrouted has neither
    for (const c of final.countries) expect(c.prefixes > 0).toBe(c.asns > 0);
    if (process.env.SLUICE_PRINT_REPORT) process.stderr.write(renderText(final));

    // 2. top ASNs: the four Mirai defaults' networks are there and called out; the simulator
    // sends 30% of the flood to the four defaults
    const mirai = final.asns.filter((a) => a.miraiDefaultOperator !== null).map((a) => a.asn);
    expect(mirai.sort((a, b) => a! - b!)).toEqual([3356, 6939, 15169, 19905]);
    expect(final.callouts.miraiDefaultAddresses.resolvers).toBe(4);
    expect(final.callouts.miraiDefaultAddresses.share).toBeGreaterThan(22);
    expect(final.callouts.miraiDefaultAddresses.share).toBeLessThan(38);
    expect(final.asns.reduce((a, r) => a + Math.round(r.share * 100), 0)).toBe(10_000);

    // 3. qps per resolver: the four defaults each carry ~7.5% of 800 qps ≈ 60 qps, the 300
    // bots' resolvers ~1.9 qps each: the defaults are the outliers
    expect(final.qps.resolvers).toBeGreaterThan(100);
    expect(final.qps.p50).toBeGreaterThan(0.5);
    expect(final.qps.p50).toBeLessThan(6);
    expect(final.qps.histogram.reduce((a, b) => a + b.resolvers, 0)).toBe(final.qps.resolvers);
    const outliers = new Set(final.qps.outliers.map((o) => o.resolver));
    for (const ip of ['8.8.8.8', '74.82.42.42', '64.6.64.6', '4.2.2.2'])
      expect(outliers.has(ip)).toBe(true);

    // 4. evidence: Mirai's alphabet (no x, y, z or 9) in a 12-character label under the zone
    const google = final.evidence.find((g) => g.asn === 15169)!;
    const sample = google.resolvers.find((r) => r.resolver === '8.8.8.8')!.samples[0]!;
    expect(sample.qname).toMatch(new RegExp(`^[a-w0-8]{12}\\.${target.replaceAll('.', '\\.')}$`));
  }, 300_000);
});
