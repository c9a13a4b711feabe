import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as dnsPacket from 'dns-packet';
import { type QueryEvent } from '@sluice/contracts';
import { type Kafka } from '@sluice/kafka';
import { createTestTopics, waitFor } from '@sluice/testing';
import { writePcapFile } from '@sluice/traffic-sim';
import {
  ControlType,
  DNSTAP_CONTENT_TYPE,
  encodeControlFrame,
  encodeDataFrame,
} from '../../../src/core/frame-streams';
import { ZoneMapper } from '../../../src/core/zone-mapper';
import { DnstapListener, type ListenerDeps } from '../../../src/listeners/dnstap.listener';
import { UdpMirrorListener } from '../../../src/listeners/udp-mirror.listener';
import { openPublisher } from '../../../src/publish/open-publisher';
import { replayFile, type ReplaySummary } from '../../../src/replay';
import { CapturedLog, PrivateKafka } from '../../../../../test/integration/faults/fault-infra';
import { recordResult } from '../../../../../test/integration/faults/fault-pipeline';
import { authQuery } from '../dnstap-frames';
import { queryBatchReader, testIngestConfig } from '../kafka-helpers';

/**
 * Issue 14, overload: the ingest offered more than it can publish. A private broker is SIGSTOPped
 * (the port stays open, nothing answers: publishing stalls) while a nameserver-like dnstap sender
 * (a child process, so its writes are timed on its own event loop), a UDP mirror and a pcap
 * replay all feed one publisher whose queue is bounded (INGEST_MAX_BUFFERED_BYTES). Checked: the
 * queue never passes its bound (plus the open batches), live inputs past it are dropped and
 * counted per source and reason in /metrics, the dnstap sender's writes keep completing (its whole
 * output is read during the stall), the replay waits instead of dropping; after SIGCONT everything
 * that was not dropped is on the topic — exactly: per source, consumed = received − dropped.
 * Sizes scale by environment for the long runs (scripts/faults.sh); CI runs the defaults.
 */
const PORT = Number(process.env.SLUICE_FAULTS_OVERLOAD_KAFKA_PORT ?? 19_492);
const FRAMES = Number(process.env.SLUICE_OVERLOAD_DNSTAP_FRAMES ?? 100_000);
const DATAGRAMS = Number(process.env.SLUICE_OVERLOAD_DATAGRAMS ?? 20_000);
const REPLAY = Number(process.env.SLUICE_OVERLOAD_REPLAY ?? 60_000);
const BOUND = Number(process.env.SLUICE_OVERLOAD_BOUND_BYTES ?? 1024 * 1024);
const BATCH_EVENTS = Number(process.env.SLUICE_OVERLOAD_BATCH_EVENTS ?? 500);
const TIMEOUT_MS = Number(process.env.SLUICE_OVERLOAD_TIMEOUT_MS ?? 300_000);
const t0 = Date.now();
/** Phase marks on stderr: a long run that fails says where its time went. */
const phase = (what: string) =>
  process.stderr.write(`[overload] +${((Date.now() - t0) / 1000).toFixed(1)} s ${what}\n`);

/** A dnstap sender as a nameserver runs one: READY, ACCEPT, START, frames as fast as the socket
 * takes them, STOP, FINISH. Prints how long its writes were held up (waits for 'drain'). */
const SENDER = `
const net = require('node:net');
const fs = require('node:fs');
const [path, file, ready, start, stop] = process.argv.slice(1);
const data = fs.readFileSync(file);
const s = net.connect(path);
let stage = 0;
const r = { bytes: data.length, waits: 0, longestWaitMs: 0, totalWaitMs: 0, sendMs: 0 };
s.on('connect', () => s.write(Buffer.from(ready, 'hex')));
s.on('data', () => {
  if (stage === 0) { stage = 1; s.write(Buffer.from(start, 'hex')); void pump(); }
  else if (stage === 2) { stage = 3; process.stdout.write(JSON.stringify(r) + '\\n'); s.end(); }
});
s.on('error', (e) => { process.stderr.write(String(e)); process.exit(2); });
async function pump() {
  const t0 = Date.now();
  for (let i = 0; i < data.length; i += 65536) {
    if (!s.write(data.subarray(i, i + 65536))) {
      const t = Date.now();
      await new Promise((ok) => s.once('drain', ok));
      const w = Date.now() - t;
      r.waits++; r.totalWaitMs += w; r.longestWaitMs = Math.max(r.longestWaitMs, w);
    }
  }
  r.sendMs = Date.now() - t0;
  process.stderr.write('sent\\n');
  stage = 2;
  s.write(Buffer.from(stop, 'hex'));
}
`;

function replayEvent(i: number): QueryEvent {
  return {
    ts: 1_700_000_000_000 + i,
    resolver: `198.51.100.${1 + (i % 200)}`,
    resolverPort: 1024 + (i % 60_000),
    transport: 'udp',
    qname: `r${i}.replay.victim.example`,
    qtype: 1,
    qclass: 1,
    rd: false,
    cd: false,
    do: false,
    ednsSize: null,
    id: i & 0xffff,
    zone: 'victim.example',
    rcode: null,
  };
}

/** One value of a counter as /metrics serves it. */
function sample(text: string, name: string, labels: Record<string, string>): number {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) || !want.every((w) => line.includes(w))) continue;
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}

describe('overload: more offered than Kafka takes (broker SIGSTOPped)', () => {
  const broker = new PrivateKafka(PORT);
  let dir: string;
  let kafka: Kafka;
  let stopped = false;
  const closers: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-overload-'));
    await broker.start();
    kafka = broker.kafka('overload');
  }, 180_000);
  afterAll(async () => {
    if (stopped && broker.pid !== null) process.kill(broker.pid, 'SIGCONT');
    for (const c of closers.splice(0).reverse()) await c().catch(() => undefined);
    await broker.destroy();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it(
    'stays bounded, drops live input with a reason, never holds the dnstap sender, loses nothing else',
    async () => {
      phase('test start');
      const [queries, deadLetters] = await createTestTopics(kafka, [
        'overload.queries',
        'overload.dlq',
      ]);
      const open = await openPublisher(
        {
          ...testIngestConfig(queries, deadLetters, {
            INGEST_PAIR_WINDOW_MS: '0',
            INGEST_BATCH_EVENTS: String(BATCH_EVENTS),
            INGEST_MAX_BUFFERED_BYTES: String(BOUND),
          }),
          KAFKA_BROKERS: broker.brokers,
        },
        'overload-ingest',
      );
      closers.push(() => open.close());
      const { publisher, registry } = open;
      const deps: ListenerDeps = {
        zones: new ZoneMapper(['victim.example']),
        publisher,
        metrics: open.metrics,
        assembler: { pairWindowMs: 0, maxPending: 1000 },
        maxFrameBytes: 64 * 1024,
        log: { info: () => undefined, warn: () => undefined },
      };
      const socketPath = join(dir, 'dnstap.sock');
      const dnstap = new DnstapListener('dnstap-unix', deps);
      await dnstap.listenUnix(socketPath);
      const mirror = new UdpMirrorListener(deps);
      const mirrorAddress = await mirror.listen('127.0.0.1', 0);
      closers.push(
        () => dnstap.close(),
        () => mirror.close(),
      );

      // The inputs, built before the clock starts.
      const framesFile = join(dir, 'frames.bin');
      writeFileSync(framesFile, Buffer.alloc(0));
      for (let from = 0; from < FRAMES; from += 10_000) {
        const part: Buffer[] = [];
        for (let i = from; i < Math.min(FRAMES, from + 10_000); i++)
          part.push(encodeDataFrame(authQuery(1, i)));
        appendFileSync(framesFile, Buffer.concat(part));
      }
      const pcap = join(dir, 'replay.pcap');
      await writePcapFile(
        pcap,
        (function* () {
          for (let i = 0; i < REPLAY; i++) yield replayEvent(i);
        })(),
      );
      phase('inputs built');
      // Warm-up: the producer knows the topic's leaders before the broker stops.
      publisher.record(replayEvent(-1 >>> 0), 'warmup');
      await publisher.flush();

      global.gc?.();
      const base = process.memoryUsage();
      const peak = { rss: base.rss, heapArray: 0, queue: 0 };
      const sampler = setInterval(() => {
        const m = process.memoryUsage();
        peak.rss = Math.max(peak.rss, m.rss);
        peak.heapArray = Math.max(
          peak.heapArray,
          m.heapUsed + m.arrayBuffers - base.heapUsed - base.arrayBuffers,
        );
        peak.queue = Math.max(peak.queue, publisher.bufferedBytes);
      }, 20);
      closers.push(async () => clearInterval(sampler));

      // The broker stops answering.
      process.kill(broker.pid!, 'SIGSTOP');
      stopped = true;
      const stallStart = Date.now();
      phase('broker stopped');

      // Replay: waits at the bound, loses nothing.
      let replayDone: ReplaySummary | null = null;
      const replay = replayFile(pcap, { sink: publisher, zones: deps.zones, pairWindowMs: 0 }).then(
        (s) => (replayDone = s),
      );
      // dnstap: a nameserver's whole output, from another process.
      const hex = (b: Buffer) => b.toString('hex');
      const child = spawn(
        process.execPath,
        [
          '-e',
          SENDER,
          socketPath,
          framesFile,
          hex(encodeControlFrame(ControlType.READY, [DNSTAP_CONTENT_TYPE])),
          hex(encodeControlFrame(ControlType.START, [DNSTAP_CONTENT_TYPE])),
          hex(encodeControlFrame(ControlType.STOP)),
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let childOut = '';
      let childErr = '';
      child.stdout.on('data', (d: Buffer) => (childOut += d.toString()));
      child.stderr.on('data', (d: Buffer) => (childErr += d.toString()));
      const childExit = new Promise<number | null>((r) => child.once('exit', r));
      closers.push(async () => void child.kill('SIGKILL'));
      // UDP mirror copies, in bursts the socket's receive buffer holds (the kernel's drops are not
      // the ingest's to count; the figures below start from what the listener received).
      const udp = createSocket('udp4');
      closers.push(() => new Promise((r) => udp.close(() => r())));
      const udpReceived = async () =>
        sample(await registry.metrics(), 'sluice_ingest_inputs_total', { source: 'udp-mirror' });
      for (let i = 0; i < DATAGRAMS; i++) {
        const q = dnsPacket.encode({
          type: 'query',
          id: i & 0xffff,
          questions: [{ type: 'A', name: `u${i}.mirror.victim.example` }],
        });
        udp.send(q, mirrorAddress.port, '127.0.0.1');
        if (i % 100 === 99) {
          // Let the listener catch up (a lost datagram must not hang the loop: at most 20 turns).
          for (let turn = 0; turn < 20 && (await udpReceived()) < i - 100; turn++)
            await new Promise((r) => setImmediate(r));
        }
      }

      // During the stall: the sender's whole output is read, and the replay is held.
      const read = async () =>
        sample(await registry.metrics(), 'sluice_ingest_inputs_total', { source: 'dnstap-unix' });
      await waitFor(
        async () => ((await read()) === FRAMES ? true : undefined),
        TIMEOUT_MS / 2,
        `all ${FRAMES} dnstap frames read while the broker is stopped (sender: ${childErr})`,
      );
      const stallReadMs = Date.now() - stallStart;
      phase('every dnstap frame read');
      const during = await registry.metrics();
      expect(replayDone).toBeNull();
      expect(publisher.congested).toBe(true);

      process.kill(broker.pid!, 'SIGCONT');
      stopped = false;
      const stallMs = Date.now() - stallStart;
      phase('broker continued');
      const summary = await replay;
      phase('replay done');
      expect(await childExit).toBe(0);
      const sender = JSON.parse(childOut.trim()) as {
        bytes: number;
        waits: number;
        longestWaitMs: number;
        totalWaitMs: number;
        sendMs: number;
      };
      await publisher.flush();
      clearInterval(sampler);
      const text = await registry.metrics();
      const received = {
        dnstap: sample(text, 'sluice_ingest_inputs_total', { source: 'dnstap-unix' }),
        udp: sample(text, 'sluice_ingest_inputs_total', { source: 'udp-mirror' }),
      };
      const dropped = {
        dnstap: sample(text, 'sluice_ingest_dropped_total', {
          source: 'dnstap-unix',
          reason: 'queue-full',
        }),
        udp: sample(text, 'sluice_ingest_dropped_total', {
          source: 'udp-mirror',
          reason: 'queue-full',
        }),
      };

      // Read everything back.
      // Its own client, logging to memory: the fresh broker's group coordinator may still be
      // loading after SIGCONT, which kafkajs reports loudly and retries.
      const reader = queryBatchReader(broker.kafka('overload-reader', new CapturedLog()), queries);
      closers.push(() => reader.stop());
      await reader.start();
      const expected = {
        dnstap: received.dnstap - dropped.dnstap,
        udp: received.udp - dropped.udp,
        replay: summary.records,
      };
      const total = expected.dnstap + expected.udp + expected.replay + 1;
      const count = () => reader.items.reduce((n, b) => n + b.events.length, 0);
      await waitFor(
        () => (count() >= total ? true : undefined),
        TIMEOUT_MS / 2,
        `${total} records`,
      );
      phase('everything read back');
      const got = { dnstap: new Set<string>(), udp: new Set<string>(), replay: new Set<string>() };
      let duplicates = 0;
      for (const b of reader.items) {
        const kind = b.source.startsWith('dnstap')
          ? 'dnstap'
          : b.source === 'udp-mirror'
            ? 'udp'
            : b.source.startsWith('replay')
              ? 'replay'
              : null;
        if (kind === null) continue;
        for (const e of b.events) {
          if (got[kind].has(e.qname)) duplicates++;
          got[kind].add(e.qname);
        }
      }

      const mib = (n: number) => Math.round((n / 2 ** 20) * 10) / 10;
      recordResult('ingest-overload-broker-sigstop', {
        offeredDnstapFrames: FRAMES,
        offeredDatagrams: DATAGRAMS,
        offeredReplayRecords: REPLAY,
        stallMs,
        stallReadMs,
        dnstapOfferedPerSec: Math.round(FRAMES / (sender.sendMs / 1000)),
        senderWaits: sender.waits,
        senderLongestWaitMs: sender.longestWaitMs,
        queueBoundBytes: BOUND,
        queuePeakBytes: peak.queue,
        peakRssMiB: mib(peak.rss),
        rssGrowthMiB: mib(peak.rss - base.rss),
        heapArrayPeakGrowthMiB: mib(peak.heapArray),
        receivedDnstap: received.dnstap,
        droppedDnstap: dropped.dnstap,
        receivedDatagrams: received.udp,
        droppedDatagrams: dropped.udp,
        replayRecords: summary.records,
        consumedDnstap: got.dnstap.size,
        consumedDatagrams: got.udp.size,
        consumedReplay: got.replay.size,
        duplicates,
        publishLost: publisher.lostBatches,
      });

      // Drops are visible in /metrics, per source, with their reason — during the stall already.
      expect(
        sample(during, 'sluice_ingest_dropped_total', {
          source: 'dnstap-unix',
          reason: 'queue-full',
        }),
      ).toBeGreaterThan(0);
      expect(
        sample(during, 'sluice_ingest_dropped_total', {
          source: 'udp-mirror',
          reason: 'queue-full',
        }),
      ).toBeGreaterThan(0);
      // The nameserver's sender was read in full, and never held up for long.
      expect(received.dnstap).toBe(FRAMES);
      expect(sender.longestWaitMs).toBeLessThan(2000);
      // The queue stayed within its bound plus what the open batches add (≤ 40 × batch events).
      expect(peak.queue).toBeLessThanOrEqual(BOUND + 40 * BATCH_EVENTS * 48);
      expect(peak.heapArray).toBeLessThan(BOUND + 96 * 2 ** 20);
      // Everything not dropped arrived; the replay lost nothing.
      expect(summary.records).toBe(REPLAY);
      expect(got.replay.size).toBe(REPLAY);
      expect(got.dnstap.size).toBe(expected.dnstap);
      expect(got.udp.size).toBe(expected.udp);
      expect(publisher.lostBatches).toBe(0);
    },
    TIMEOUT_MS,
  );
});
