import { encodeMessage, offenderSchema, type Offender } from '@sluice/contracts';
import { formatIpv4 } from '@sluice/dns';
import { type Kafka } from '@sluice/kafka';
import { createTestTopics, testKafka, uniqueName, waitFor } from '@sluice/testing';
import { loadEnrichmentConfig } from '../../src/config/enrichment.config';
import { EnrichmentRuntime, loadEnrichmentData } from '../../src/enrichment.runtime';

const ZONE = 'capped.example';
const T0 = Date.UTC(2026, 10, 24, 12, 0, 0);
const PER_WINDOW = 5_000;
const WINDOWS = 4;
/** 5,000 resolvers' rows: each is one row in the alert and one in its zone's minute bucket. */
const CAP = 2 * PER_WINDOW;

/**
 * REPORT_MAX_RESOLVER_ROWS under a flood of distinct resolvers, through the service's consumer
 * path on the real broker and Redis: 20,000 resolvers (four windows a minute apart, 5,000 new
 * ones each) under a cap of 5,000 resolvers' rows leave exactly what the last window's 5,000
 * alone leave, and the report says what was evicted.
 */
describe('report store cap (REPORT_MAX_RESOLVER_ROWS)', () => {
  let kafka: Kafka;
  let topics: string[];
  const data = loadEnrichmentData(loadEnrichmentConfig({ ENRICH_MMDB_WATCH: 'false' }));
  const runtimes: EnrichmentRuntime[] = [];
  const alertId = uniqueName('cap-alert');

  // distinct public addresses, spread over the IPv4 space so they fall in many ASNs and countries
  const resolver = (i: number) => formatIpv4((0x0b000000 + i * 40_503) >>> 0);
  const records: Offender[] = [];
  for (let w = 0; w < WINDOWS; w++)
    for (let j = 0; j < PER_WINDOW; j++) {
      const ip = resolver(w * PER_WINDOW + j);
      const windowStart = T0 + w * 60_000;
      const attackQueries = 1 + ((w * PER_WINDOW + j) % 97);
      records.push({
        v: 1,
        zone: ZONE,
        resolver: ip,
        windowStart,
        windowEnd: windowStart + 10_000,
        attackQueries,
        totalQueries: attackQueries + 3,
        alertId,
        evidence: [{ ts: windowStart + 5, resolver: ip, qname: `x${j}abcdefgh.${ZONE}` }],
      });
    }
  const last = records.slice(-PER_WINDOW);

  beforeAll(async () => {
    kafka = testKafka('enrichment-cap');
    topics = await createTestTopics(kafka, ['all', 'last', 'alerts', 'enriched', 'dlq']);
    const producer = kafka.producer();
    await producer.connect();
    for (const [topic, rs] of [
      [topics[0]!, records],
      [topics[1]!, last],
    ] as const)
      for (let i = 0; i < rs.length; i += 2_000)
        await producer.send({
          topic,
          messages: rs
            .slice(i, i + 2_000)
            .map((o) => ({ key: ZONE, value: encodeMessage(offenderSchema, o) })),
        });
    await producer.disconnect();
  }, 60_000);

  afterAll(async () => {
    for (const rt of runtimes) {
      const prefix = rt.redis.options.keyPrefix ?? '';
      const keys = (await rt.redis.keys(`${prefix}*`)).map((k) => k.slice(prefix.length));
      if (keys.length) await rt.redis.del(...keys);
      await rt.stop();
    }
  }, 60_000);

  /** The service's consumer path over one topic; resolves once it has stored `n` records. */
  async function consume(topic: string, n: number) {
    let processed = 0;
    let evicted = 0;
    const rt = new EnrichmentRuntime(
      loadEnrichmentConfig({
        KAFKA_BROKERS: process.env.KAFKA_BROKERS,
        REDIS_URL: process.env.REDIS_URL,
        REDIS_KEY_PREFIX: `${uniqueName('enr-cap')}:`,
        ENRICH_CONSUMER_GROUP: uniqueName('enr-cap'),
        ENRICH_OFFENDERS_TOPIC: topic,
        ENRICH_ALERTS_TOPIC: topics[2],
        ENRICH_OUTPUT_TOPIC: topics[3],
        ENRICH_DEADLETTER_TOPIC: topics[4],
        ENRICH_MMDB_WATCH: 'false',
        REPORT_MAX_RESOLVER_ROWS: String(CAP),
      }),
      {
        processed: (k) => (processed += k),
        bad: () => undefined,
        evicted: (k) => (evicted += k),
      },
      data,
    );
    runtimes.push(rt);
    await rt.start();
    await waitFor(() => processed >= n || undefined, 60_000, `${n} records stored`);
    return { rt, evicted: () => evicted };
  }

  /** Every report key of a run with its content (hash fields or ZSET with scores), prefix off. */
  async function dump(rt: EnrichmentRuntime): Promise<Map<string, unknown>> {
    const prefix = rt.redis.options.keyPrefix ?? '';
    const keys = (await rt.redis.keys(`${prefix}report:*`)).map((k) => k.slice(prefix.length));
    const out = new Map<string, unknown>();
    for (const k of keys.sort()) {
      const type = await rt.redis.type(k);
      if (type === 'hash') out.set(k, await rt.redis.hgetall(k));
      else if (type === 'zset') out.set(k, await rt.redis.zrange(k, 0, -1, 'WITHSCORES'));
      else out.set(k, await rt.redis.get(k));
    }
    return out;
  }

  it('keeps exactly what the newest 5,000 resolvers leave, and the report says what it evicted', async () => {
    const capped = await consume(topics[0]!, records.length);
    const alone = await consume(topics[1]!, last.length);

    const a = await dump(capped.rt);
    const b = await dump(alone.rt);
    expect((a.get('report:rows') as string[]).length / 2).toBe(CAP);
    // the capped run holds the same keys and contents as the 5,000 alone, plus what it evicted
    const evictedKeys = [...a.keys()].filter((k) => k.endsWith(':evicted'));
    expect(evictedKeys).toHaveLength(1 + WINDOWS - 1); // the alert, and the three older buckets
    for (const k of evictedKeys) a.delete(k);
    // and the bucket list names the emptied buckets too (a zone report finds their evictions)
    const bucketList = `report:zone-buckets:${ZONE}`;
    expect((a.get(bucketList) as string[]).length / 2).toBe(WINDOWS);
    a.delete(bucketList);
    b.delete(bucketList);
    expect([...a.keys()]).toEqual([...b.keys()]);
    for (const [k, v] of b) expect([k, a.get(k)]).toEqual([k, v]);

    // every row evicted is counted once, in the scope it left, with its queries
    expect(capped.evicted()).toBe(records.length * 2 - CAP);
    const older = records.slice(0, -PER_WINDOW);
    const sum = (rs: Offender[], f: (o: Offender) => number) => rs.reduce((s, o) => s + f(o), 0);
    const [withCap, without] = await Promise.all([
      capped.rt.reports.build({ alertId }),
      alone.rt.reports.build({ alertId }),
    ]);
    expect(withCap.evicted).toEqual({
      rows: older.length,
      attackQueries: sum(older, (o) => o.attackQueries),
      totalQueries: sum(older, (o) => o.totalQueries),
    });
    expect(without.evicted.rows).toBe(0);
    // the tables are those of the rows kept: the same as the 5,000 alone
    const { evicted: _e, generatedAt: _g, ...keptCap } = withCap;
    const { evicted: _e2, generatedAt: _g2, ...keptAlone } = without;
    expect(keptCap).toEqual(keptAlone);
    expect(withCap.totals.resolvers).toBe(PER_WINDOW);
    expect(withCap.totals.attackQueries + withCap.evicted.attackQueries).toBe(
      sum(records, (o) => o.attackQueries),
    );
    expect(withCap.countries.reduce((s, c) => s + Math.round(c.share * 100), 0)).toBe(10_000);

    // a zone report over the whole flood: the older buckets' rows are counted as evicted
    const zone = await capped.rt.reports.build({
      zone: ZONE,
      from: T0,
      to: T0 + WINDOWS * 60_000,
    });
    expect(zone.totals.resolvers).toBe(PER_WINDOW);
    expect(zone.evicted.rows).toBe(older.length);
  }, 90_000);
});
