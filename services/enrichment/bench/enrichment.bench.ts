/**
 * Enrichment lookups per second (uncached and cached, IPv4 and IPv6) against a bare MMDB
 * lookup measured in the same run, and the attack report over a 10-minute attack in Redis.
 * Run: pnpm bench enrichment
 */
import { Reader } from 'mmdb-lib';
import { readFileSync } from 'node:fs';
import { type EnrichedOffender } from '@sluice/contracts';
import { createKafka, provisionTopics } from '@sluice/kafka';
import { createRedis } from '@sluice/redis';
import { formatRate, machineLine, markdownTable, PeakRss } from '@sluice/testing';
import { formatIpv4, formatIpv6 } from '@sluice/dns';
import { Enricher } from '../src/core/enricher';
import { countrySourceOf, MmdbFile } from '../src/data/mmdb-file';
import { loadPackagedAsnTable, packagedDataPaths } from '../src/data/packaged-data';
import { loadEnrichmentConfig } from '../src/config/enrichment.config';
import { EnrichmentRuntime } from '../src/enrichment.runtime';
import { ReportRepository } from '../src/report/report.repository';
import { ReportService } from '../src/report/report.service';

const log = (m: string) => process.stderr.write(`${m}\n`);

// Deterministic pseudo-random addresses (xorshift), public unicast only.
let seed = 0x9e3779b9;
const rnd = () => {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return seed >>> 0;
};
const v4 = () => {
  for (;;) {
    const x = rnd();
    const a = x >>> 24;
    if (a === 0 || a === 10 || a === 127 || a >= 224) continue;
    return formatIpv4(x);
  }
};
const v6 = () =>
  formatIpv6(
    (0x2000n << 112n) | (BigInt(rnd() & 0x1fff) << 112n) | (BigInt(rnd()) << 80n) | BigInt(rnd()),
  );

function rate(n: number, fn: (i: number) => unknown): number {
  for (let i = 0; i < Math.min(n, 20_000); i++) fn(i);
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn(i);
  return n / (Number(process.hrtime.bigint() - start) / 1e9);
}

async function main() {
  const rss = new PeakRss();
  const t0 = Date.now();
  const asn = loadPackagedAsnTable();
  const loadMs = Date.now() - t0;
  const paths = packagedDataPaths();
  const country = MmdbFile.open(paths.countryMmdb);
  const enricher = new Enricher({ asn, country: countrySourceOf(country) }, 100_000);
  const N = 300_000;
  const ips4 = Array.from({ length: N }, v4);
  const ips6 = Array.from({ length: N }, v6);
  const hot = ips4.slice(0, 10_000);

  log('lookups…');
  const reader = new Reader(readFileSync(paths.countryMmdb));
  const baseline = rate(N, (i) => reader.get(ips4[i]!));
  const u4 = rate(N, (i) => enricher.compute(ips4[i]!));
  const u6 = rate(N, (i) => enricher.compute(ips6[i]!));
  const cached = rate(N, (i) => enricher.enrich(hot[i % hot.length]!));
  const rows = [
    ['mmdb-lib country lookup alone, IPv4 (baseline)', formatRate(baseline), '1.00×'],
    ['full enrichment, uncached, IPv4', formatRate(u4), `${(u4 / baseline).toFixed(2)}×`],
    ['full enrichment, uncached, IPv6', formatRate(u6), `${(u6 / baseline).toFixed(2)}×`],
    [
      'full enrichment, LRU hit (10k hot resolvers)',
      formatRate(cached),
      `${(cached / baseline).toFixed(2)}×`,
    ],
  ];

  // A 10-minute attack: 10 s detector windows, RESOLVERS resolvers, each active in a random
  // half of the windows, with rates spread over four decades (bots to CGNs).
  log('report…');
  const RESOLVERS = 10_000;
  const WINDOWS = 60;
  const redis = createRedis({
    url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    keyPrefix: `bench:enrichment:${Date.now()}:`,
  });
  await redis.connect();
  const repo = new ReportRepository(redis, {
    bucketSeconds: 60,
    retentionDays: 1,
    evidencePerResolver: 5,
    maxRows: 1_000_000,
  });
  const alertId = 'bench-alert';
  const T = Date.UTC(2026, 0, 1);
  const resolvers = Array.from({ length: RESOLVERS }, (_, i) =>
    i % 10 === 9 ? ips6[i]! : ips4[i]!,
  );
  const weight = resolvers.map(() => 10 ** ((rnd() % 4000) / 1000));
  const offenders: EnrichedOffender[] = [];
  for (let w = 0; w < WINDOWS; w++)
    for (let r = 0; r < RESOLVERS; r++) {
      if (rnd() % 2) continue;
      const ip = resolvers[r]!;
      const ws = T + w * 10_000;
      const aq = Math.max(1, Math.round(weight[r]!));
      offenders.push({
        v: 1,
        zone: 'bench.example',
        resolver: ip,
        windowStart: ws,
        windowEnd: ws + 10_000,
        attackQueries: aq,
        totalQueries: aq + 3,
        alertId,
        evidence: [{ ts: ws + 5, resolver: ip, qname: `abcdefgh0123.bench.example` }],
        enrichment: enricher.enrich(ip),
      });
    }
  const wStart = process.hrtime.bigint();
  for (let i = 0; i < offenders.length; i += 1_000)
    await repo.record(offenders.slice(i, i + 1_000));
  const writeRate = offenders.length / (Number(process.hrtime.bigint() - wStart) / 1e9);
  const service = new ReportService(repo);
  const time = async (fn: () => Promise<unknown>) => {
    const s = process.hrtime.bigint();
    await fn();
    return Number(process.hrtime.bigint() - s) / 1e6;
  };
  const alertMs = await time(() => service.build({ alertId }));
  const zoneMs = await time(() =>
    service.build({ zone: 'bench.example', from: T, to: T + WINDOWS * 10_000 }),
  );
  const report = await service.build({ alertId });
  const shareSum = report.countries.reduce((a, c) => a + Math.round(c.share * 100), 0) / 100;
  // clean up this run's keys (KEYS ignores keyPrefix, so give it explicitly)
  const prefix = redis.options.keyPrefix ?? '';
  const keys = (await redis.keys(`${prefix}*`)).map((k) => k.slice(prefix.length));
  for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500));
  await redis.quit();

  // The service end to end: offenders on a topic → consume, enrich, publish, store → committed.
  log('service…');
  const SERVICE_N = 60_000;
  const kafka = createKafka({
    brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
    clientId: 'bench-enrichment',
    sasl: null,
    tls: { enabled: false, caFile: null },
    topicPartitions: 3,
    replicationFactor: 1,
  });
  const stamp = `bench.enrichment.${Date.now()}`;
  const names = ['offenders', 'alerts', 'enriched', 'dlq'].map((n) => `${stamp}.${n}`);
  await provisionTopics(
    kafka,
    names.map((name) => ({ name, compacted: false })),
    { partitions: 3, replicationFactor: 1 },
  );
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  for (let i = 0; i < SERVICE_N; i += 2_000)
    await producer.send({
      topic: names[0]!,
      acks: -1,
      messages: offenders
        .slice(i, i + 2_000)
        .map(({ enrichment: _e, ...o }) => ({ key: o.zone, value: JSON.stringify(o) })),
    });
  await producer.disconnect();
  let processed = 0;
  const config = loadEnrichmentConfig({
    KAFKA_BROKERS: process.env.KAFKA_BROKERS ?? '127.0.0.1:9092',
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    REDIS_KEY_PREFIX: `${stamp}:`,
    ENRICH_CONSUMER_GROUP: stamp,
    ENRICH_OFFENDERS_TOPIC: names[0],
    ENRICH_ALERTS_TOPIC: names[1],
    ENRICH_OUTPUT_TOPIC: names[2],
    ENRICH_DEADLETTER_TOPIC: names[3],
    ENRICH_MMDB_WATCH: 'false',
  });
  const runtime = new EnrichmentRuntime(config, {
    processed: (n) => (processed += n),
    bad: () => undefined,
  });
  await runtime.start();
  const sStart = process.hrtime.bigint();
  while (processed < SERVICE_N) await new Promise((r) => setTimeout(r, 20));
  const serviceRate = SERVICE_N / (Number(process.hrtime.bigint() - sStart) / 1e9);
  const sKeys = (await runtime.redis.keys(`${stamp}:*`)).map((k) => k.slice(stamp.length + 1));
  for (let i = 0; i < sKeys.length; i += 500) await runtime.redis.del(...sKeys.slice(i, i + 500));
  await runtime.stop();
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: names });
  await admin.disconnect();
  const peak = rss.stop();

  const out = [
    '## Enrichment: lookups and the attack report',
    '',
    machineLine(),
    '',
    '`pnpm bench enrichment` (services/enrichment/bench/enrichment.bench.ts)',
    '',
    `Packaged data: @ip-location-db/asn (${asn.rows.v4.toLocaleString('en-US')} IPv4 + ${asn.rows.v6.toLocaleString('en-US')} IPv6 ranges) loaded in ${loadMs} ms; country from @ip-location-db/geo-whois-asn-country-mmdb. ${N.toLocaleString('en-US')} random public addresses per row.`,
    '',
    markdownTable(['lookup', 'rate', 'vs baseline'], rows),
    '',
    `Report over a 10-minute attack: ${RESOLVERS.toLocaleString('en-US')} resolvers (10% IPv6), ${WINDOWS} windows of 10 s, ${offenders.length.toLocaleString('en-US')} offender records stored in Redis (alert scope + 1-minute zone buckets).`,
    '',
    markdownTable(
      ['step', 'result'],
      [
        ['store offender aggregates (Lua, pipelined)', formatRate(writeRate)],
        ['report by alert id', `${alertMs.toFixed(0)} ms`],
        ['report by zone + 10-minute range (10 buckets merged)', `${zoneMs.toFixed(0)} ms`],
        ['country shares add up to', `${shareSum.toFixed(2)}%`],
        [
          `service end to end: ${SERVICE_N.toLocaleString('en-US')} offenders from Kafka → enriched, published, stored, committed (3 partitions)`,
          formatRate(serviceRate),
        ],
        ['peak RSS', `${(peak / 2 ** 20).toFixed(0)} MiB`],
      ],
    ),
    '',
  ];
  process.stdout.write(out.join('\n'));
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
