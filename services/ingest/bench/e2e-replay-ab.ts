/**
 * Before/after of the ingest process of `pnpm bench e2e`: bench/e2e-replay.ts (the built
 * ingest's openPublisher + replayFile, unpaced) of one capture, run from a baseline checkout and
 * from this one in alternating passes, each into fresh topics on the local broker. CPU seconds
 * per million queries from the first record to the last acknowledgement (what the e2e bench
 * reports for "ingest replay"). Both checkouts must be built. Each pass's topic is read back
 * and decoded: every pass must publish the same events (an order-independent digest: sum and
 * xor of a SHA-1 prefix per event; batch boundaries follow the linger's wall clock and differ).
 *
 *   node --require @swc-node/register services/ingest/bench/e2e-replay-ab.ts \
 *     <baseline checkout> <capture.pcap> <served zones, comma-separated> [passes=6]
 *
 * Markdown on stdout; progress on stderr.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { kafkaConfigFrom } from '@sluice/config';
import { decodeQueryBatch } from '@sluice/contracts';
import { createKafka, provisionTopics, type Kafka } from '@sluice/kafka';
import { machineLine, markdownTable } from '@sluice/testing';
import { loadIngestConfig } from '../dist';

const log = (s: string) => process.stderr.write(`${s}\n`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Pass {
  cpuPerM: number;
  records: number;
  lost: number;
  digest: string;
}

/** Events on `topic` (read until `records` are in): count, sum and xor of per-event SHA-1 prefixes. */
async function topicDigest(kafka: Kafka, topic: string, records: number): Promise<string> {
  const consumer = kafka.consumer({ groupId: `${topic}.digest` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const mask = (1n << 64n) - 1n;
  let events = 0;
  let sum = 0n;
  let xor = 0n;
  await new Promise<void>((done, fail) => {
    consumer
      .run({
        eachMessage: async ({ message }) => {
          const batch = decodeQueryBatch(message.value!);
          for (const e of batch.events) {
            const fields: unknown[] = [message.key?.toString(), batch.source, e.ts, e.resolver];
            fields.push(e.resolverPort, e.transport, e.qname, e.qtype, e.qclass, e.rd, e.cd);
            fields.push(e.do, e.ednsSize, e.id, e.zone, e.rcode, e.ancount ?? null);
            const sha = createHash('sha1').update(JSON.stringify(fields)).digest('hex');
            const h = BigInt(`0x${sha.slice(0, 16)}`);
            sum = (sum + h) & mask;
            xor ^= h;
            events++;
          }
          if (events >= records) done();
        },
      })
      .catch(fail);
  });
  await consumer.disconnect();
  return `${events}:${sum.toString(16)}:${xor.toString(16)}`;
}

async function main(): Promise<void> {
  const [baseArg, capture, zones, passesArg] = process.argv.slice(2);
  if (!baseArg || !capture || zones === undefined)
    throw new Error('usage: e2e-replay-ab.ts <baseline checkout> <capture> <zones> [passes]');
  const passes = Number(passesArg ?? 6);
  const trees = { baseline: resolve(baseArg), 'this build': resolve(__dirname, '../../..') };
  const config = loadIngestConfig(process.env);
  const kafka = createKafka(kafkaConfigFrom(config, 'sluice-bench'));
  const floods = join(tmpdir(), `sluice-ab-floods-${process.pid}.json`);
  writeFileSync(floods, '[]');

  const run = async (root: string): Promise<Pass> => {
    const id = `bench.ab.${Date.now().toString(36)}`;
    const topics = [`${id}.queries`, `${id}.deadletter`];
    await provisionTopics(
      kafka,
      topics.map((name) => ({ name, compacted: false, retentionMs: 600_000 })),
      { partitions: 6, replicationFactor: 1 },
    );
    try {
      const out = execFileSync(
        process.execPath,
        ['--require', '@swc-node/register', 'bench/e2e-replay.ts', resolve(capture), '0', floods],
        {
          cwd: root,
          env: {
            ...process.env,
            INGEST_QUERIES_TOPIC: topics[0],
            INGEST_DEADLETTER_TOPIC: topics[1],
            INGEST_SERVED_ZONES: zones,
            KAFKAJS_NO_PARTITIONER_WARNING: '1',
          },
          stdio: ['ignore', 'pipe', 'ignore'],
          maxBuffer: 64 * 1024 * 1024,
        },
      );
      const lines = out
        .toString()
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { type: string; cpuSeconds: number } & Record<string, number>);
      const start = lines.find((l) => l.type === 'start')!;
      const done = lines.find((l) => l.type === 'done')!;
      return {
        cpuPerM: ((done.cpuSeconds - start.cpuSeconds) / done.records!) * 1e6,
        records: done.records!,
        lost: done.lostBatches!,
        digest: await topicDigest(kafka, topics[0]!, done.records!),
      };
    } finally {
      const admin = kafka.admin();
      await admin.connect();
      await admin.deleteTopics({ topics });
      await admin.disconnect();
    }
  };

  const results: Record<string, Pass[]> = { baseline: [], 'this build': [] };
  for (let i = 0; i < passes; i++) {
    const order =
      i % 2 === 0 ? (['baseline', 'this build'] as const) : (['this build', 'baseline'] as const);
    for (const name of order) {
      const p = await run(trees[name]);
      results[name]!.push(p);
      log(
        `pass ${i + 1} ${name}: ${p.cpuPerM.toFixed(2)} CPU s per M (${p.records} records, ${p.lost} lost, digest ${p.digest})`,
      );
    }
  }
  const base = results.baseline!;
  const cur = results['this build']!;
  const ratios = cur.map((c, i) => base[i]!.cpuPerM / c.cpuPerM);
  const digests = new Set([...base, ...cur].map((p) => p.digest));
  const load = (await import('node:os'))
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' / ');
  process.stdout.write(
    [
      `Machine: ${machineLine()}; load average at the end ${load}.`,
      '',
      markdownTable(
        ['build', 'CPU s per M queries, per pass', 'median'],
        (['baseline', 'this build'] as const).map((name) => [
          name,
          results[name]!.map((p) => p.cpuPerM.toFixed(2)).join(', '),
          `**${median(results[name]!.map((p) => p.cpuPerM)).toFixed(2)}**`,
        ]),
      ),
      '',
      `Baseline ÷ this build, per pass: ${ratios.map((r) => r.toFixed(2)).join(', ')} — median **${median(ratios).toFixed(2)}×**. Records per pass: ${cur[0]!.records.toLocaleString('en-US')}; batches lost: ${[...base, ...cur].reduce((n, p) => n + p.lost, 0)}. Published events (count:sum:xor digest): ${digests.size === 1 ? `the same in every pass, ${[...digests][0]}` : `**DIFFER** (${[...digests].join(', ')})`}.`,
      '',
    ].join('\n'),
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
