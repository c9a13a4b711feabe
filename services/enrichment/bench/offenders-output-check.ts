/**
 * Same output check for changes to the offender path: the same offender records (the bench's
 * flood, plus edge cases) through OffendersConsumer.handle of this code and of BENCH_BASELINE_SRC
 * (another version of services/enrichment/src, as for enrichment-offenders.bench.ts), each with its
 * own Redis key prefix and a producer that keeps what it is given. Compares the published values
 * byte for byte and every key the report store wrote (type and content; TTLs only for being set).
 * Exits 1 on any difference.
 *   BENCH_BASELINE_SRC=services/enrichment/.local/baseline/src \
 *     node --require @swc-node/register services/enrichment/bench/offenders-output-check.ts
 */
import { resolve } from 'node:path';
import { createHash } from 'node:crypto';
import { encodeMessage, offenderSchema, type Offender } from '@sluice/contracts';
import { createKafka, type KafkaMessage, type OutgoingMessage } from '@sluice/kafka';
import { createRedis } from '@sluice/redis';
import * as current from '../src';
import { OffendersConsumer } from '../src/kafka/offenders.consumer';
import { ReportRepository } from '../src/report/report.repository';
import { loadEnrichmentConfig } from '../src/config/enrichment.config';
import { loadEnrichmentData } from '../src/enrichment.runtime';
import { floodRecords } from './enrichment-offenders.bench';

type Mods = {
  consumer: typeof OffendersConsumer;
  repo: typeof ReportRepository;
  load: typeof loadEnrichmentData;
};
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const cfg = loadEnrichmentConfig({ ENRICH_MMDB_WATCH: 'false' });

function inputs(): Offender[] {
  const recs = floodRecords(10, 300, 3, Date.UTC(2026, 0, 1));
  const ws = Date.UTC(2026, 0, 1, 0, 7);
  const edge = (o: Partial<Offender>): Offender => ({
    v: 1,
    zone: 'edge.example',
    resolver: '8.8.8.8',
    windowStart: ws,
    windowEnd: ws + 10_000,
    attackQueries: 5,
    totalQueries: 6,
    alertId: null,
    evidence: [],
    ...o,
  });
  recs.push(
    edge({}),
    edge({ resolver: '10.0.0.1', alertId: 'a"\\é' }),
    edge({ resolver: 'not-an-ip', windowEnd: ws }),
    edge({ resolver: '1.1.1.1', zone: 'zöne.example', windowStart: ws + 0.5 }),
    edge({
      resolver: '9.9.9.9',
      evidence: Array.from({ length: 14 }, (_, i) => ({
        ts: ws + i,
        resolver: i % 2 ? '9.9.9.9' : '1.2.3.4',
        qname: `q${i}"\u2028.edge.example`,
      })),
    }),
  );
  return recs;
}

async function run(name: string, m: Mods, records: Offender[]) {
  const prefix = `check:${name}:${Date.now()}:`;
  const redis = createRedis({ url: redisUrl, keyPrefix: prefix });
  await redis.connect();
  const published: string[] = [];
  const producer = {
    send: (topic: string, msgs: OutgoingMessage[]) => {
      for (const x of msgs)
        published.push(
          `${topic} ${String(x.key)} ${Buffer.from(x.value as string).toString('hex')}`,
        );
      return Promise.resolve();
    },
    flush: () => Promise.resolve(),
  };
  const repo = new m.repo(redis, {
    bucketSeconds: cfg.REPORT_BUCKET_SECONDS,
    retentionDays: cfg.REPORT_RETENTION_DAYS,
    evidencePerResolver: cfg.REPORT_EVIDENCE_PER_RESOLVER,
    maxRows: 5_000, // small enough that eviction runs
  });
  const kafka = createKafka({
    brokers: ['127.0.0.1:1'],
    clientId: 'check',
    sasl: null,
    tls: { enabled: false, caFile: null },
    topicPartitions: 1,
    replicationFactor: 1,
  });
  const consumer = new m.consumer(
    kafka,
    producer as never,
    m.load(cfg).enricher,
    repo as never,
    { groupId: 'g', inputTopic: 'in', outputTopic: 'out', deadLetterTopic: 'dlq' },
    { processed: () => undefined, bad: () => undefined },
  );
  for (let i = 0; i < records.length; i += 700) {
    const batch = records.slice(i, i + 700).map(
      (o, j): KafkaMessage =>
        ({
          key: j % 5 ? Buffer.from(o.zone) : null,
          value: encodeMessage(offenderSchema, o),
        }) as unknown as KafkaMessage,
    );
    await consumer.handle(batch);
  }
  const raw = createRedis({ url: redisUrl, keyPrefix: '' });
  await raw.connect();
  const keys = (await raw.keys(`${prefix}*`)).sort();
  const dump: string[] = [];
  for (const k of keys) {
    const type = await raw.type(k);
    const ttl = await raw.ttl(k);
    let v: unknown;
    if (type === 'hash') v = Object.entries(await raw.hgetall(k)).sort();
    else if (type === 'zset') v = await raw.zrange(k, 0, -1, 'WITHSCORES');
    else if (type === 'string') v = await raw.get(k);
    else v = type;
    dump.push(`${k.slice(prefix.length)} ${type} ttl:${ttl > 0} ${JSON.stringify(v)}`);
  }
  for (let i = 0; i < keys.length; i += 500) await raw.del(...keys.slice(i, i + 500));
  raw.disconnect();
  redis.disconnect();
  return { published, dump };
}

function mods(dir: string | null): Mods {
  /* eslint-disable @typescript-eslint/no-require-imports */
  if (dir === null)
    return { consumer: OffendersConsumer, repo: ReportRepository, load: loadEnrichmentData };
  return {
    consumer: (
      require(`${dir}/kafka/offenders.consumer`) as { OffendersConsumer: Mods['consumer'] }
    ).OffendersConsumer,
    repo: (require(`${dir}/report/report.repository`) as { ReportRepository: Mods['repo'] })
      .ReportRepository,
    load: (require(`${dir}/enrichment.runtime`) as { loadEnrichmentData: Mods['load'] })
      .loadEnrichmentData,
  };
  /* eslint-enable @typescript-eslint/no-require-imports */
}

async function main(): Promise<void> {
  void current;
  const baseDir = process.env.BENCH_BASELINE_SRC;
  if (!baseDir)
    throw new Error('BENCH_BASELINE_SRC: the version of services/enrichment/src to compare with');
  const records = inputs();
  const a = await run('baseline', mods(resolve(baseDir)), records);
  const b = await run('current', mods(null), records);
  const sha = (xs: string[]) =>
    createHash('sha256').update(xs.join('\n')).digest('hex').slice(0, 16);
  process.stdout.write(
    `${records.length} records; published ${a.published.length} / ${b.published.length} (sha ${sha(a.published)} / ${sha(b.published)}); ` +
      `report keys ${a.dump.length} / ${b.dump.length} (sha ${sha(a.dump)} / ${sha(b.dump)})\n`,
  );
  let diff = 0;
  for (const [what, x, y] of [
    ['published', a.published, b.published],
    ['report', a.dump, b.dump],
  ] as const)
    for (let i = 0; i < Math.max(x.length, y.length); i++)
      if (x[i] !== y[i] && diff++ < 5)
        process.stdout.write(
          `${what}[${i}]:\n  baseline ${x[i]?.slice(0, 300)}\n  current  ${y[i]?.slice(0, 300)}\n`,
        );
  process.stdout.write(diff ? `DIFFERENT (${diff})\n` : 'identical\n');
  process.exit(diff ? 1 : 0);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
