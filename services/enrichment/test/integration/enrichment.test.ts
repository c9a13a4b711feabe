import 'reflect-metadata';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  type Alert,
  decodeMessage,
  enrichedOffenderSchema,
  type EnrichedOffender,
  type Offender,
} from '@sluice/contracts';
import { type Kafka } from '@sluice/kafka';
import { createTestTopics, repoRoot, testKafka, uniqueName, waitFor } from '@sluice/testing';
import { loadEnrichmentConfig } from '../../src/config/enrichment.config';
import { EnrichmentModule } from '../../src/enrichment.module';
import { EnrichmentRuntime } from '../../src/enrichment.runtime';

const ZONE = 'victim.example';
const T0 = Date.UTC(2026, 10, 24, 12, 0, 0);
const WINDOW = 10_000;
const REPORT_KEY = 'enrichment-test-report-key';
const AUTH = { headers: { 'X-Api-Key': REPORT_KEY } };

function offender(
  resolver: string,
  window: number,
  attackQueries: number,
  alertId: string | null,
): Offender {
  const windowStart = T0 + window * WINDOW;
  return {
    v: 1,
    zone: ZONE,
    resolver,
    windowStart,
    windowEnd: windowStart + WINDOW,
    attackQueries,
    totalQueries: attackQueries + 2,
    alertId,
    evidence: [{ ts: windowStart + 17, resolver, qname: `abcdefgh0123.${ZONE}` }],
  };
}

const alert = (alertId: string): Alert => ({
  v: 1,
  alertId,
  zone: ZONE,
  phase: 'started',
  severity: 'high',
  onset: T0,
  at: T0,
  endedAt: null,
  qps: 900,
  baselineQps: 10,
  uniqueRate: 800,
  neverSeenRate: 0.99,
  randomShare: 0.98,
  nxdomainShare: null,
  meanEntropy: 3.4,
  sampleNames: [`abcdefgh0123.${ZONE}`],
  evidence: [],
  topResolvers: [],
  fingerprint: {
    labelLengths: { '12': 1 },
    alphabet: 'abcdefghijklmnopqrstuvw012345678',
    labelsPerName: { '1': 1 },
    generator: 'mirai',
    qtypes: { A: 1 },
  },
});

describe('enrichment service against the real broker and Redis', () => {
  let kafka: Kafka;
  let app: INestApplication;
  let runtime: EnrichmentRuntime;
  let topics: string[];
  let base: string;
  const alertId = uniqueName('alert');
  const received: EnrichedOffender[] = [];
  const consumer = () => kafka.consumer({ groupId: uniqueName('enriched-reader') });
  let reader: ReturnType<typeof consumer>;
  const producer = () => kafka.producer({ allowAutoTopicCreation: false });
  let writer: ReturnType<typeof producer>;

  beforeAll(async () => {
    kafka = testKafka('enrichment-test');
    topics = await createTestTopics(kafka, ['offenders', 'alerts', 'enriched', 'deadletter']);
    const [offenders, alerts, enriched, dead] = topics as [string, string, string, string];
    const config = loadEnrichmentConfig({
      KAFKA_BROKERS: process.env.KAFKA_BROKERS,
      REDIS_URL: process.env.REDIS_URL,
      REDIS_KEY_PREFIX: `${uniqueName('enrichment')}:`,
      HTTP_PORT: '0',
      HTTP_HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      ENRICH_CONSUMER_GROUP: uniqueName('enrichment'),
      ENRICH_OFFENDERS_TOPIC: offenders,
      ENRICH_ALERTS_TOPIC: alerts,
      ENRICH_OUTPUT_TOPIC: enriched,
      ENRICH_DEADLETTER_TOPIC: dead,
      REPORT_BUCKET_SECONDS: '60',
      REPORT_API_KEYS: REPORT_KEY,
    });
    app = await NestFactory.create(EnrichmentModule.register(config), { logger: false });
    await app.listen(0, '127.0.0.1');
    base = await app.getUrl();
    runtime = app.get(EnrichmentRuntime);

    reader = consumer();
    await reader.connect();
    await reader.subscribe({ topic: enriched, fromBeginning: true });
    await reader.run({
      eachMessage: async ({ message }) => {
        received.push(decodeMessage(enrichedOffenderSchema, message.value));
      },
    });
    writer = producer();
    await writer.connect();
  }, 60_000);

  afterAll(async () => {
    await reader?.disconnect();
    await writer?.disconnect();
    if (runtime) {
      // KEYS patterns ignore ioredis' keyPrefix: scan for this test's own prefix explicitly.
      const prefix = runtime.redis.options.keyPrefix ?? '';
      const keys = (await runtime.redis.keys(`${prefix}*`)).map((k) => k.slice(prefix.length));
      if (keys.length) await runtime.redis.del(...keys);
    }
    await app?.close();
  }, 60_000);

  const send = (topic: string, values: object[]) =>
    writer.send({ topic, messages: values.map((v) => ({ key: ZONE, value: JSON.stringify(v) })) });

  it('enriches offenders, publishes them, and serves the report over what it stored', async () => {
    const [offenders, alerts] = topics as [string, string];
    await send(alerts, [alert(alertId)]);
    const records: Offender[] = [];
    for (let w = 0; w < 3; w++) {
      records.push(offender('8.8.8.8', w, 300, alertId));
      records.push(offender('74.82.42.42', w, 100, alertId));
      records.push(offender('81.2.69.160', w, 200, alertId));
      records.push(offender('2001:4860:4860::8888', w, 50, alertId));
      records.push(offender('10.0.0.1', w, 50, alertId));
    }
    // a NAT-like resolver seen in one window only, at a far higher rate
    records.push(offender('4.2.2.2', 1, 20_000, alertId));
    await send(offenders, records);
    await writer.send({
      topic: offenders,
      messages: [{ key: ZONE, value: '{"not":"an offender"}' }],
    });

    await waitFor(
      () => (received.length >= records.length ? true : undefined),
      60_000,
      'enriched offenders',
    );
    const google = received.find((r) => r.resolver === '8.8.8.8')!;
    expect(google.enrichment).toMatchObject({
      asn: 15169,
      country: 'US',
      resolverKind: 'mirai-default',
      resolverOperator: 'Google Public DNS',
    });
    expect(received.find((r) => r.resolver === '74.82.42.42')!.enrichment).toMatchObject({
      asn: 6939,
      resolverKind: 'mirai-default',
    });
    expect(received.find((r) => r.resolver === '4.2.2.2')!.enrichment).toMatchObject({ asn: 3356 });
    expect(received.find((r) => r.resolver === '81.2.69.160')!.enrichment).toMatchObject({
      country: 'GB',
      resolverKind: 'isp',
    });
    expect(received.find((r) => r.resolver === '10.0.0.1')!.enrichment.resolverKind).toBe('bogon');
    expect(received.find((r) => r.resolver === '2001:4860:4860::8888')!.enrichment).toMatchObject({
      asn: 15169,
      resolverKind: 'public',
    });

    // the alert summary and all aggregates land in Redis
    const report = await waitFor(
      async () => {
        const r = await runtime.reports.build({ alertId }).catch(() => undefined);
        return r && r.totals.attackQueries === 22_100 && r.alert ? r : undefined;
      },
      30_000,
      'report totals',
    );
    expect(report.alert).toMatchObject({ zone: ZONE, generator: 'mirai', severity: 'high' });
    expect(report.dataSources.join('\n')).toContain('IP Geolocation by DB-IP (https://db-ip.com)');
    const us = report.countries.find((c) => c.country === 'US')!;
    // 8.8.8.8 900 + 74.82.42.42 300 + 2001:4860:4860::8888 150 + 4.2.2.2 20000 of 22100
    expect(us.attackQueries).toBe(21_350);
    expect(us.asns).toBe(3);
    expect(report.countries.reduce((a, c) => a + Math.round(c.share * 100), 0)).toBe(10_000);
    expect(report.asns.reduce((a, c) => a + Math.round(c.share * 100), 0)).toBe(10_000);
    expect(report.asns[0]).toMatchObject({ asn: 3356, miraiDefaultOperator: 'Level 3 (Lumen)' });
    expect(report.callouts.miraiDefaultAddresses.attackQueries).toBe(21_200);
    expect(report.callouts.miraiDefaultNetworks.attackQueries).toBe(21_350);
    expect(report.qps.outliers.map((o) => o.resolver)).toEqual(['4.2.2.2']);
    expect(report.qps.outliers[0]!.qps).toBe(2_000);
    expect(report.evidence.find((g) => g.asn === 20712)!.resolvers[0]!.samples).toHaveLength(3);

    // every report key expires with the retention (30 days by default)
    for (const key of [
      `report:a:${alertId}:agg`,
      `report:a:${alertId}:enr`,
      `report:a:${alertId}:ev`,
      `report:z:${ZONE}:${Math.floor(T0 / 60_000) * 60_000}:enr`,
      `report:alert:${alertId}`,
      'report:rows',
    ]) {
      const ttl = await runtime.redis.ttl(key);
      expect(ttl).toBeGreaterThan(29 * 86_400);
      expect(ttl).toBeLessThanOrEqual(30 * 86_400);
    }

    // the same windows delivered again are not counted twice
    await send(offenders, records.slice(0, 5));
    await waitFor(
      () => (received.length >= records.length + 5 ? true : undefined),
      30_000,
      'redelivered offenders',
    );
    const again = await runtime.reports.build({ alertId });
    expect(again.totals.attackQueries).toBe(22_100);

    // zone + time range: the same attack from the time buckets
    const zone = await runtime.reports.build({ zone: ZONE, from: T0, to: T0 + 3 * WINDOW });
    expect(zone.totals.attackQueries).toBe(22_100);
    expect(zone.countries.map((c) => [c.country, c.share])).toEqual(
      report.countries.map((c) => [c.country, c.share]),
    );

    // HTTP endpoint: JSON, CSV and SVG
    const json = (await (await fetch(`${base}/report?alert=${alertId}`, AUTH)).json()) as {
      totals: { attackQueries: number };
    };
    expect(json.totals.attackQueries).toBe(22_100);
    const csv = await fetch(`${base}/report?alert=${alertId}&format=csv&section=evidence`, AUTH);
    expect(csv.headers.get('content-type')).toContain('text/csv');
    expect(await csv.text()).toContain(`81.2.69.160,2026-11-24T12:00:00.017Z,abcdefgh0123.${ZONE}`);
    const svg = await fetch(
      `${base}/report?zone=${ZONE}&from=${new Date(T0).toISOString()}&to=${T0 + 30_000}&format=svg&chart=qps`,
      AUTH,
    );
    expect(svg.headers.get('content-type')).toContain('image/svg+xml');
    expect(await svg.text()).toMatch(/^<svg/);
    const desk = (await (
      await fetch(`${base}/report?alert=${alertId}&section=evidence&asn=AS20712`, AUTH)
    ).json()) as {
      evidence: Array<{ asn: number; resolvers: Array<{ resolver: string }> }>;
    };
    expect(desk.evidence).toEqual([
      expect.objectContaining({
        asn: 20712,
        resolvers: [expect.objectContaining({ resolver: '81.2.69.160' })],
      }),
    ]);
    expect((await fetch(`${base}/report?alert=${alertId}&asn=google`, AUTH)).status).toBe(400);
    expect((await fetch(`${base}/report?alert=nope`, AUTH)).status).toBe(404);
    expect((await fetch(`${base}/report`, AUTH)).status).toBe(400);

    // `sluice report --api` asks this running service instead of Redis
    const cli = join(repoRoot, 'apps/cli/dist/main.js');
    const cliEnv = { env: { ...process.env, SLUICE_API_KEY: REPORT_KEY } };
    const { stdout } = await promisify(execFile)(
      'node',
      [cli, 'report', '--api', base, '--alert', alertId, '-f', 'csv', '-s', 'asns'],
      cliEnv,
    );
    expect(stdout.split('\n')[1]).toMatch(
      /^3356,"Level 3 Communications, Inc\.",US,1,1,20000,90\.50,Level 3 \(Lumen\),Level 3 \(Lumen\)$/,
    );
    const table = await promisify(execFile)(
      'node',
      [cli, 'report', '--api', base, '--alert', alertId, '-s', 'qps'],
      cliEnv,
    );
    expect(table.stdout).toMatch(/│ 4\.2\.2\.2\s+│ 2000\.00\s+│/);
  }, 120_000);
});
