import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type QueryEvent } from '@sluice/contracts';
import { CheckpointRepository, DetectorPipeline } from '@sluice/detector';
import {
  ControlType,
  DNSTAP_CONTENT_TYPE,
  DnstapListener,
  encodeControlFrame,
  encodeDataFrame,
  encodeDnstap,
  loadIngestConfig,
  openPublisher,
  ZoneMapper,
} from '@sluice/ingest';
import { type Kafka } from '@sluice/kafka';
import { createRedis, type Redis } from '@sluice/redis';
import { createTestTopics, testRedisConfig, uniqueName, waitFor } from '@sluice/testing';
import { encodeQuery, ipBytes, simulate } from '@sluice/traffic-sim';

import { CapturedLog, PrivateKafka } from './fault-infra';
import {
  collectAlerts,
  groupCaughtUp,
  judgeAlerts,
  miraiSpec,
  reconcileQueries,
  recordResult,
} from './fault-pipeline';

/**
 * Issue 14, faults: the Kafka broker SIGKILLed and restarted during a LIVE dnstap stream. A
 * nameserver-like Frame Streams sender (a child process, so its writes are timed on its own event
 * loop) streams AUTH_QUERY frames in real time — a Mirai flood on one zone of four, benign traffic
 * on all, timestamps = the wall clock — into the ingest's dnstap listener (unix socket, production
 * queue settings), which publishes to a private broker that the detector consumes. 20 s into the
 * attack the broker is SIGKILLed and restarted. Unlike a replay, a live source cannot wait: once
 * the publish queue is full the listener drops frames and counts them. Checked afterwards:
 * - the listener read every frame the sender wrote (the sender was never held up);
 * - queries on the topic + queries dropped (by reason, from /metrics) = queries sent, exactly;
 *   no batch lost after retries; duplicates (at-least-once) counted and bounded by the queue;
 * - the attack is alerted once: one start, one end, no false end and restart, no other zone.
 * Queries only (no AUTH_RESPONSE frames): a dropped frame is then exactly one missing query.
 * ~3 minutes (real time): scripts/faults.sh runs it (SLUICE_FAULTS_LONG=1), CI does not.
 */
const PORT = Number(process.env.SLUICE_FAULTS_DNSTAP_KAFKA_PORT ?? 19_692);
const ONSET = 20_000;
const ATTACK = 60_000;
const TAIL = 35_000;
const KILL_AT = ONSET + 20_000;
const SLOT_MS = 10;
/** Extra outage after the kill (the broker's restart alone takes 15–25 s on this box). */
const OUTAGE_MS = Number(process.env.SLUICE_FAULTS_OUTAGE_MS ?? 0);
/** The publish queue's byte bound (default: the service's, 32 MiB); small forces drops. */
const BOUND_BYTES = process.env.SLUICE_FAULTS_DNSTAP_BOUND_BYTES;

/** A dnstap sender as a nameserver runs one, in real time: READY, ACCEPT, START, each slot's
 * frames when the wall clock reaches it, STOP, FINISH. Reports how long its writes were held up. */
const SENDER = `
const net = require('node:net');
const fs = require('node:fs');
const [path, file, slotsFile, startAt, ready, start, stop] = process.argv.slice(1);
const data = fs.readFileSync(file);
const slots = JSON.parse(fs.readFileSync(slotsFile, 'utf8'));
const s = net.connect(path);
let stage = 0;
const r = { bytes: data.length, waits: 0, longestWaitMs: 0, lateMs: 0 };
let blockedAt = null;
s.on('drain', () => {
  if (blockedAt === null) return;
  const w = Date.now() - blockedAt;
  r.waits++; r.longestWaitMs = Math.max(r.longestWaitMs, w); blockedAt = null;
});
s.on('connect', () => s.write(Buffer.from(ready, 'hex')));
s.on('data', () => {
  if (stage === 0) { stage = 1; s.write(Buffer.from(start, 'hex')); tick(); }
  else if (stage === 2) { stage = 3; process.stdout.write(JSON.stringify(r) + '\\n'); s.end(); }
});
s.on('error', (e) => { process.stderr.write(String(e)); process.exit(2); });
let next = 0, pos = 0;
function tick() {
  const now = Date.now() - Number(startAt);
  let end = pos;
  while (next < slots.length && slots[next][0] <= now) {
    r.lateMs = Math.max(r.lateMs, now - slots[next][0]);
    end = slots[next][1];
    next++;
  }
  if (end > pos) {
    if (!s.write(data.subarray(pos, end)) && blockedAt === null) blockedAt = Date.now();
    pos = end;
  }
  if (next < slots.length) return void setTimeout(tick, 5);
  stage = 2;
  s.write(Buffer.from(stop, 'hex'));
}
`;

/** The query's identity as the ingest reports it (Mirai draws a new port and id per packet). */
const queryKey = (e: QueryEvent) =>
  `${e.ts}|${e.resolverPort}|${e.id}|${e.qname.toLowerCase()}|${e.qtype}`;

/** Every sample of a counter as /metrics serves it, by the value of one label. */
function samples(text: string, name: string, source: string, by: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) || !line.includes(`source="${source}"`)) continue;
    const m = new RegExp(`${by}="([^"]*)"`).exec(line);
    out[m?.[1] ?? ''] = Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return out;
}

const maybe = process.env.SLUICE_FAULTS_LONG === '1' ? describe : describe.skip;

maybe('faults: Kafka broker SIGKILLed during a live dnstap stream', () => {
  const broker = new PrivateKafka(PORT);
  let dir: string;
  let redis: Redis;
  const closers: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-faults-dnstap-'));
    redis = createRedis(testRedisConfig());
    await redis.connect();
    await broker.start();
  }, 180_000);

  afterAll(async () => {
    for (const c of closers.splice(0).reverse()) await c().catch(() => undefined);
    redis.disconnect();
    await broker.destroy();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('counts what it drops, reconciles the rest and alerts the attack once', async () => {
    const seed = Number(process.env.SLUICE_FAULTS_SEED ?? 14);
    const mirai = miraiSpec({ seed, t0: 0, onsetMs: ONSET, attackMs: ATTACK, tailMs: TAIL });
    const { target, zones } = mirai;
    const events = [...simulate({ ...mirai.spec, withResponses: false })];

    const log = new CapturedLog();
    const kafka: Kafka = broker.kafka('faults-dnstap', log);
    const [queries, alerts, offenders, zoneStats, deadLetter, knownNames] = await createTestTopics(
      kafka,
      ['dt-queries', 'dt-alerts', 'dt-offenders', 'dt-stats', 'dt-dlq', 'dt-names'],
    );
    const groupId = uniqueName('dt-detector');
    const detector = new DetectorPipeline(kafka, {
      groupId,
      topics: { queries, alerts, offenders, zoneStats, deadLetter, knownNames },
      settings: {},
      fromBeginning: true,
      checkpoints: new CheckpointRepository(redis, groupId),
      checkpointIntervalMs: 500,
      log,
    });
    closers.push(() => detector.kill());
    await detector.start();
    const collected = await collectAlerts(kafka, alerts);
    closers.push(() => collected.consumer.disconnect());

    // The ingest as the service runs it: production queue and batching settings.
    const config = loadIngestConfig({
      KAFKA_BROKERS: broker.brokers.join(','),
      INGEST_QUERIES_TOPIC: queries,
      INGEST_DEADLETTER_TOPIC: deadLetter,
      ...(BOUND_BYTES ? { INGEST_MAX_BUFFERED_BYTES: BOUND_BYTES } : {}),
    });
    const ingest = await openPublisher(config, 'faults-dnstap-ingest', log);
    closers.push(() => ingest.close());
    const listener = new DnstapListener('dnstap-unix', {
      zones: new ZoneMapper(zones),
      publisher: ingest.publisher,
      metrics: ingest.metrics,
      assembler: { pairWindowMs: config.INGEST_PAIR_WINDOW_MS, maxPending: 100_000 },
      maxFrameBytes: config.INGEST_MAX_FRAME_BYTES,
      log,
    });
    const socketPath = join(dir, 'dnstap.sock');
    await listener.listenUnix(socketPath);
    closers.push(() => listener.close());

    // The stream, built before the clock starts: frames in 10 ms slots of wall time.
    // Building takes a while on a loaded box (~200,000 frames): the stream starts once it is done.
    const startAt = Date.now() + 15_000 + Math.round(events.length / 10);
    const expected = new Map<string, number>();
    const frames: Buffer[] = [];
    const slots: [number, number][] = [];
    let bytes = 0;
    for (const e of events) {
      const ts = Math.round(startAt + e.ts);
      const live = { ...e, ts };
      const k = queryKey(live);
      expected.set(k, (expected.get(k) ?? 0) + 1);
      const frame = encodeDataFrame(
        encodeDnstap({
          type: 1, // AUTH_QUERY
          identity: 'ns1',
          socketFamily: e.resolver.includes(':') ? 2 : 1,
          socketProtocol: e.transport === 'tcp' ? 2 : 1,
          queryAddress: ipBytes(e.resolver),
          queryPort: e.resolverPort,
          queryTimeSec: Math.floor(ts / 1000),
          queryTimeNsec: (ts % 1000) * 1_000_000,
          queryMessage: encodeQuery(live),
        }),
      );
      frames.push(frame);
      bytes += frame.length;
      const slot = Math.floor(e.ts / SLOT_MS) * SLOT_MS;
      if (slots.length > 0 && slots[slots.length - 1]![0] === slot)
        slots[slots.length - 1]![1] = bytes;
      else slots.push([slot, bytes]);
    }
    writeFileSync(join(dir, 'frames.bin'), Buffer.concat(frames));
    writeFileSync(join(dir, 'slots.json'), JSON.stringify(slots));
    if (Date.now() >= startAt)
      throw new Error('building the stream took longer than its start budget');

    const hex = (b: Buffer) => b.toString('hex');
    const child = spawn(
      process.execPath,
      [
        '-e',
        SENDER,
        socketPath,
        join(dir, 'frames.bin'),
        join(dir, 'slots.json'),
        String(startAt),
        hex(encodeControlFrame(ControlType.READY, [DNSTAP_CONTENT_TYPE])),
        hex(encodeControlFrame(ControlType.START, [DNSTAP_CONTENT_TYPE])),
        hex(encodeControlFrame(ControlType.STOP)),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    closers.push(async () => void child.kill('SIGKILL'));
    let childOut = '';
    let childErr = '';
    child.stdout.on('data', (d: Buffer) => (childOut += d.toString()));
    child.stderr.on('data', (d: Buffer) => (childErr += d.toString()));
    const childExit = new Promise<number | null>((r) => child.once('exit', r));

    // The kill, 20 s into the attack, and the restart at once.
    await new Promise((r) => setTimeout(r, startAt + KILL_AT - Date.now()));
    const metricsText = () => ingest.registry.metrics();
    const droppedBefore = samples(
      await metricsText(),
      'sluice_ingest_dropped_total',
      'dnstap-unix',
      'reason',
    );
    const killedAt = Date.now();
    await broker.kill();
    if (OUTAGE_MS > 0) await new Promise((r) => setTimeout(r, OUTAGE_MS));
    await broker.start();
    const outageMs = Date.now() - killedAt;
    const droppedAfterRestart = samples(
      await metricsText(),
      'sluice_ingest_dropped_total',
      'dnstap-unix',
      'reason',
    );

    expect(await childExit).toBe(0);
    const sender = JSON.parse(childOut.trim()) as {
      bytes: number;
      waits: number;
      longestWaitMs: number;
      lateMs: number;
    };
    expect(childErr).toBe('');
    // Everything the sender wrote was read: the listener never made it wait for good.
    const read = async () =>
      samples(await metricsText(), 'sluice_ingest_inputs_total', 'dnstap-unix', 'source')[
        'dnstap-unix'
      ] ?? 0;
    await waitFor(
      async () => ((await read()) >= events.length ? true : undefined),
      30_000,
      'the listener to read every frame',
    );
    await ingest.publisher.flush();

    const dropped = samples(
      await metricsText(),
      'sluice_ingest_dropped_total',
      'dnstap-unix',
      'reason',
    );
    const droppedTotal = Object.values(dropped).reduce((a, b) => a + b, 0);
    const topic = await reconcileQueries(kafka, queries, expected, queryKey);
    await waitFor(
      async () => ((await groupCaughtUp(kafka, groupId, queries)) ? true : undefined),
      120_000,
      'the detector to commit the end of the topic',
    );
    const verdict = await waitFor(
      () => {
        const v = judgeAlerts(collected.alerts, target);
        return v.ended >= 1 ? v : undefined;
      },
      90_000,
      'the attack to end',
    );
    await new Promise((r) => setTimeout(r, 1000));
    const final = judgeAlerts(collected.alerts, target);
    recordResult('kafka-broker-sigkill-live-dnstap', {
      seed,
      boundBytes: config.INGEST_MAX_BUFFERED_BYTES,
      peakBufferedBytes: ingest.publisher.peakBufferedBytes,
      sent: events.length,
      read: await read(),
      outageMs,
      sender,
      droppedBefore,
      droppedAfterRestart,
      dropped,
      ...topic,
      publishLost: ingest.publisher.lostBatches,
      detectorCrashes: detector.crashes,
      restoredPartitions: detector.restoredPartitions,
      ...final,
      errorLines: log.errors.length,
    });
    expect(await read()).toBe(events.length);
    expect(ingest.publisher.lostBatches).toBe(0);
    expect(topic.unexpected).toBe(0);
    // Every query missing from the topic was dropped on purpose and counted, and nothing else.
    expect(topic.lost).toBe(droppedTotal);
    expect(Object.keys(dropped).every((reason) => reason === 'queue-full')).toBe(true);
    // At-least-once: a produce request whose answer the kill swallowed is sent again — at most
    // the whole queue.
    expect(topic.duplicates).toBeLessThanOrEqual(
      config.INGEST_MAX_BUFFERED_BATCHES * config.INGEST_BATCH_EVENTS,
    );
    expect(verdict.started).toBe(1);
    expect(final).toMatchObject({ started: 1, ended: 1, falseAlerts: 0 });
    expect(final.alertIds).toHaveLength(1);
  }, 600_000);
});
