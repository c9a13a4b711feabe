/**
 * Reputation throughput and blocklist rendering.
 * 1. Offender records/s folded into Redis (one atomic Lua script per batch of up to 1,000) and the full
 *    ingest path (fold + score + policy + blocklist store), against a baseline of the same number
 *    of plain HSETs pipelined to the same Redis in the same run.
 * 2. Time to render a 100,000-entry blocklist in each output format, against JSON.stringify of
 *    the raw entries (the cheapest serialisation possible) measured in the same run.
 */
import { randomBytes } from 'node:crypto';
import { type BlocklistEntry, type EnrichedOffender } from '@sluice/contracts';
import { createRedis } from '@sluice/redis';
import { BatchingProducer, createKafka, provisionTopics } from '@sluice/kafka';
import { encodeMessage, enrichedOffenderSchema } from '@sluice/contracts';
import { OffendersConsumer } from '../src/kafka/offenders.consumer';
import { machineLine, markdownTable, formatRate, PeakRss, formatMiB } from '@sluice/testing';
import {
  createPipeline,
  dnsdistCdb,
  dnsdistKv,
  loadReputationConfig,
  renderDnsdistLua,
  renderRpz,
  renderText,
  RpzZoneSet,
  rpzRecordsByZone,
  toDecision,
} from '../src';
import { answerRequest } from '../src/core/xfr';
import * as dnsPacket from 'dns-packet';

const RECORDS = Number(process.env.BENCH_RECORDS ?? 40_000);
const BATCH = 500;
const ENTRIES = 100_000;
const log = (s: string) => process.stderr.write(`${s}\n`);

function records(n: number, t0: number): EnrichedOffender[] {
  const out: EnrichedOffender[] = [];
  for (let i = 0; i < n; i++) {
    const net = i % 400;
    const host = (i * 7) % 250;
    const resolver = `10.${net >> 8}.${net & 255}.${host + 1}`;
    const zone = `zone${i % 20}.test`;
    const attack = i % 3 === 0 ? 50 : 900;
    out.push({
      v: 1,
      zone,
      resolver,
      windowStart: t0 + i * 10 - 10_000,
      windowEnd: t0 + i * 10,
      attackQueries: attack,
      totalQueries: 1000,
      alertId: 'bench',
      evidence: [{ ts: t0 + i, resolver, qname: `abc${i}.${zone}` }],
      enrichment: {
        asn: 64500 + (net % 50),
        asOrg: 'BENCH',
        prefix: null,
        country: 'NL',
        resolverKind: 'isp',
        resolverOperator: null,
      },
    });
  }
  return out;
}

function entries(n: number): BlocklistEntry[] {
  const now = Date.now();
  const out: BlocklistEntry[] = [];
  for (let i = 0; i < n; i++) {
    const a = `${10 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}.1`;
    const kind = i % 20;
    const scope: BlocklistEntry['scope'] =
      kind < 14
        ? { kind: 'resolver-zone', resolver: a, zone: `zone${i % 100}.test` }
        : kind < 19
          ? { kind: 'resolver', resolver: a }
          : { kind: 'prefix', prefix: `${a.split('.').slice(0, 3).join('.')}.0/24` };
    out.push({
      v: 1,
      id: `e${i}`,
      scope,
      action: i % 2 ? 'drop' : 'refused',
      reason: `bench entry ${i} with a reason of typical length`,
      score: 50 + (i % 50),
      createdAt: now,
      expiresAt: now + 3_600_000,
      shadow: false,
    });
  }
  return out;
}

function time<T>(fn: () => T): { ms: number; out: T } {
  const s = process.hrtime.bigint();
  const out = fn();
  return { ms: Number(process.hrtime.bigint() - s) / 1e6, out };
}

async function timeAsync<T>(fn: () => Promise<T>): Promise<{ ms: number; out: T }> {
  const s = process.hrtime.bigint();
  const out = await fn();
  return { ms: Number(process.hrtime.bigint() - s) / 1e6, out };
}

/**
 * Publishes the records to a private topic first, then times the service's consumer from its first
 * batch to the last record folded (group join time excluded). The topic is deleted afterwards.
 */
async function throughKafka(
  config: ReturnType<typeof loadReputationConfig>,
  input: EnrichedOffender[],
  redis: ReturnType<typeof createRedis>,
  prefix: string,
): Promise<number> {
  const kafka = createKafka({
    brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
    clientId: 'bench-reputation',
    sasl: null,
    tls: { enabled: false, caFile: null },
    topicPartitions: 3,
    replicationFactor: 1,
  });
  const topic = `bench.reputation.${randomBytes(4).toString('hex')}`;
  await provisionTopics(kafka, [{ name: topic as never, compacted: false }], {
    partitions: 3,
    replicationFactor: 1,
  });
  const producer = new BatchingProducer(kafka);
  await producer.connect();
  for (let i = 0; i < input.length; i += 2000)
    await producer.send(
      topic,
      input
        .slice(i, i + 2000)
        .map((r) => ({ key: r.zone, value: encodeMessage(enrichedOffenderSchema, r) })),
    );
  await producer.disconnect();
  const { pipeline } = createPipeline(config, redis, []);
  let first = 0n;
  let done = 0n;
  let seen = 0;
  const finished = new Promise<void>((resolve) => {
    const ingest = pipeline.ingest.bind(pipeline);
    pipeline.ingest = async (records) => {
      if (first === 0n) first = process.hrtime.bigint();
      await ingest(records);
      seen += records.length;
      if (seen >= input.length) {
        done = process.hrtime.bigint();
        resolve();
      }
    };
  });
  const consumer = new OffendersConsumer(
    kafka,
    { groupId: `${prefix}bench`, topic },
    pipeline,
    () => Promise.resolve(),
  );
  await consumer.start();
  await finished;
  await consumer.stop();
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [topic] });
  await admin.deleteGroups([`${prefix}bench`]).catch(() => undefined);
  await admin.disconnect();
  return Number(done - first) / 1e6;
}

async function main(): Promise<void> {
  const prefix = `bench:${randomBytes(4).toString('hex')}:`;
  const env = {
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    REDIS_KEY_PREFIX: prefix,
    BLOCK_MAX_ENTRIES: String(ENTRIES),
    REPUTATION_MIN_ATTACK_QUERIES: '100',
  };
  const config = loadReputationConfig(env);
  const redis = createRedis({ url: env.REDIS_URL, keyPrefix: prefix });
  await redis.connect();
  const rss = new PeakRss();
  try {
    const { pipeline, reputation, blocklist } = createPipeline(config, redis, []);
    const t0 = Date.now() - 3_600_000;
    const input = records(RECORDS, t0);

    log('baseline: plain HSET pipeline');
    const base = await timeAsync(async () => {
      for (let i = 0; i < input.length; i += BATCH) {
        const p = redis.pipeline();
        for (const r of input.slice(i, i + BATCH))
          p.hset(`base:${r.resolver}|${r.zone}`, 'a', r.attackQueries, 't', r.totalQueries);
        await p.exec();
      }
    });
    log('fold only');
    const fold = await timeAsync(async () => {
      for (let i = 0; i < input.length; i += BATCH)
        await reputation.fold(
          input.slice(i, i + BATCH),
          (r) => pipeline.prefixOf(r),
          () => false,
        );
    });
    log('full ingest (new event times)');
    const again = records(RECORDS, t0 + RECORDS * 10);
    const ingest = await timeAsync(async () => {
      for (let i = 0; i < again.length; i += BATCH)
        await pipeline.ingest(again.slice(i, i + BATCH));
    });
    const live = await blocklist.count();

    log('through Kafka: consumer → full ingest');
    const viaKafka = await throughKafka(
      config,
      records(RECORDS, t0 + 2 * RECORDS * 10),
      redis,
      prefix,
    );
    const resolvers = new Set(input.map((r) => r.resolver)).size;
    const prefixes = new Set(input.map((r) => pipeline.prefixOf(r))).size;

    const list = entries(ENTRIES);
    const origin = 'rpz.sluice';
    log('rendering 100k entries');
    const baseline = time(() => JSON.stringify(list));
    const now = Date.now();
    const rows: Array<[string, { ms: number; out: string | Buffer | number }, string?]> = [
      ['JSON.stringify(entries) — baseline', baseline],
      [
        'json (CrowdSec decisions)',
        time(() => JSON.stringify({ new: list.map((e) => toDecision(e, now)), deleted: [] })),
      ],
      ['plain text', time(() => renderText(list))],
      [
        'rpz zone text (origin zone)',
        time(() => renderRpz(list, { origin, zoneName: origin, serial: 1 })),
      ],
      [
        'rpz zone text (every policy zone, one pass)',
        time(() => {
          let n = 0;
          for (const [zoneName, records] of rpzRecordsByZone(list, origin))
            n += renderRpz([], { origin, zoneName, serial: 1, records }).length;
          return n;
        }),
      ],
      ['dnsdist Lua', time(() => renderDnsdistLua(list))],
      ['dnsdist CDB file', time(() => dnsdistCdb(dnsdistKv(list, { v4: [24], v6: [48] })))],
    ];
    const zones = new RpzZoneSet(origin, 1);
    const upd = time(() => zones.update(list).length);
    const axfrReq = dnsPacket.encode({
      type: 'query',
      id: 1,
      questions: [{ type: 'AXFR', name: origin }],
    });
    const axfr = time(() => {
      const r = answerRequest(axfrReq, zones, { keys: [], requireTsig: false }, 'tcp');
      return r.messages.reduce((n, m) => n + m.length, 0);
    });
    rows.push([
      'RPZ zone set update (all policy zones, diff for IXFR)',
      upd,
      `${upd.out} zones changed`,
    ]);
    rows.push(['RPZ AXFR wire (origin zone, dns-packet)', axfr]);
    log('loading 100k entries into Redis for the feed snapshot');
    for (let i = 0; i < list.length; i += 5000) await blocklist.apply(list.slice(i, i + 5000), []);
    const snap = await timeAsync(async () => (await blocklist.snapshot()).entries.length);
    rows.push([
      'feed snapshot read from Redis (HVALS + schema check)',
      snap,
      `${snap.out} entries`,
    ]);
    const peak = rss.stop();

    const out: string[] = [];
    out.push('## Reputation: offender records into Redis, and 100,000-entry blocklist rendering');
    out.push('');
    out.push(
      `Machine: ${machineLine()}. Redis ${(await redis.info('server')).match(/redis_version:(\S+)/)?.[1] ?? '?'} on loopback.`,
    );
    out.push('');
    out.push('Command: `pnpm bench reputation` (services/reputation/bench/reputation.bench.ts).');
    out.push('');
    out.push(
      `### Offender records/s (${RECORDS.toLocaleString('en-US')} records, batches of ${BATCH}, ${resolvers.toLocaleString('en-US')} resolvers in ${prefixes} /24s, 20 zones; then as many again with later event times)`,
    );
    out.push('');
    out.push(
      markdownTable(
        ['path', 'time', 'records/s', 'vs baseline'],
        [
          [
            'baseline: 1 plain HSET per record, pipelined',
            `${base.ms.toFixed(0)} ms`,
            formatRate((RECORDS / base.ms) * 1000),
            '1.00×',
          ],
          [
            'fold: one atomic Lua script per batch (dedupe, aggregate, 4 decayed subjects + members + evidence)',
            `${fold.ms.toFixed(0)} ms`,
            formatRate((RECORDS / fold.ms) * 1000),
            `${(base.ms / fold.ms).toFixed(2)}×`,
          ],
          [
            'full ingest: fold + score + policy + blocklist store',
            `${ingest.ms.toFixed(0)} ms`,
            formatRate((RECORDS / ingest.ms) * 1000),
            `${(base.ms / ingest.ms).toFixed(2)}×`,
          ],
          [
            'service path: Kafka consumer (JSON + schema) → full ingest',
            `${viaKafka.toFixed(0)} ms`,
            formatRate((RECORDS / viaKafka) * 1000),
            `${(base.ms / viaKafka).toFixed(2)}×`,
          ],
        ],
      ),
    );
    out.push('');
    out.push(
      `Live entries after the run: ${live.toLocaleString('en-US')} (thresholds at defaults). Throughput ratio is records/s relative to the baseline (higher is faster).`,
    );
    out.push('');
    out.push(
      `### Rendering a ${ENTRIES.toLocaleString('en-US')}-entry blocklist (70% resolver+zone over 100 zones, 25% resolver, 5% prefix)`,
    );
    out.push('');
    out.push(
      markdownTable(
        ['format', 'time', 'output', 'vs baseline'],
        rows.map(([name, r, label]) => [
          name,
          `${r.ms.toFixed(0)} ms`,
          label ??
            (typeof r.out === 'number'
              ? `${(r.out / 2 ** 20).toFixed(1)} MiB`
              : `${(r.out.length / 2 ** 20).toFixed(1)} MiB`),
          `${(r.ms / baseline.ms).toFixed(2)}× time`,
        ]),
      ),
    );
    out.push('');
    out.push(
      `Peak RSS: ${formatMiB(peak)}. "vs baseline" for rendering is time relative to JSON.stringify of the same entries (lower is faster).`,
    );
    process.stdout.write(`${out.join('\n')}\n`);
  } finally {
    // Clean up the bench's keys. SCAN returns full key names, so delete them through an
    // unprefixed client (the prefixed one would prefix them a second time).
    const raw = createRedis({ url: env.REDIS_URL, keyPrefix: '' });
    let cursor = '0';
    do {
      const [next, keys] = await raw.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await raw.unlink(...keys);
    } while (cursor !== '0');
    raw.disconnect();
    redis.disconnect();
  }
}

void main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
