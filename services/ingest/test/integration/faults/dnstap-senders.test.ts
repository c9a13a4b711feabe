import { mkdtempSync, rmSync } from 'node:fs';
import { type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Kafka } from '@sluice/kafka';
import { createTestTopics, testKafka, waitFor } from '@sluice/testing';
import {
  ControlType,
  DNSTAP_CONTENT_TYPE,
  encodeControlFrame,
  encodeDataFrame,
} from '../../../src/core/frame-streams';
import { ZoneMapper } from '../../../src/core/zone-mapper';
import {
  DnstapListener,
  type DnstapConnectionSettings,
  type ListenerDeps,
} from '../../../src/listeners/dnstap.listener';
import { openPublisher, type OpenPublisher } from '../../../src/publish/open-publisher';
import { recordResult } from '../../../../../test/integration/faults/fault-pipeline';
import { authQuery, senderOf } from '../dnstap-frames';
import { FstrmClient, rawConnect } from '../fstrm-client';
import { eventsOf, queryBatchReader, testIngestConfig } from '../kafka-helpers';

/**
 * Issue 14, faults: dnstap senders that disconnect, reconnect, send garbage, stall half-way
 * through a frame, never read the handshake — several at once, over real unix and TCP sockets,
 * into the real listener and publisher and the real broker. The good senders lose nothing (the
 * topic is read back and reconciled frame by frame) and finish while the abusive connections are
 * still held open; every abusive connection is closed by a deadline or a protocol check and
 * counted with its reason; the bytes the listener holds stay bounded (a 100 MB frame length
 * buffers nothing); the listener serves a sender that arrives after it all.
 */

type Target = string | { host: string; port: number };

const MAX_FRAME = 64 * 1024;
const SETTINGS: DnstapConnectionSettings = {
  handshakeMs: 3000,
  frameMs: 3000,
  idleMs: 0,
  maxConnections: 100,
};

async function counter(
  open: OpenPublisher,
  name: string,
  label: string,
): Promise<Record<string, number>> {
  const metric = await open.registry.getSingleMetric(name)!.get();
  const out: Record<string, number> = {};
  for (const v of metric.values) {
    const k = String(v.labels[label]);
    out[k] = (out[k] ?? 0) + v.value;
  }
  return out;
}

const handshake = Buffer.concat([
  encodeControlFrame(ControlType.READY, [DNSTAP_CONTENT_TYPE]),
  encodeControlFrame(ControlType.START, [DNSTAP_CONTENT_TYPE]),
]);
const frames = (sender: number, from: number, to: number) =>
  Array.from({ length: to - from }, (_, k) => authQuery(sender, from + k));

describe('faults: hostile and broken dnstap senders', () => {
  let kafka: Kafka;
  let dir: string;
  const closers: (() => Promise<void>)[] = [];
  const sockets: Socket[] = [];
  const timers: NodeJS.Timeout[] = [];

  beforeAll(() => {
    kafka = testKafka('ingest-dnstap-faults');
    dir = mkdtempSync(join(tmpdir(), 'sluice-dnstap-faults-'));
  });
  afterAll(async () => {
    for (const t of timers) clearInterval(t);
    for (const s of sockets) s.destroy();
    for (const c of closers.splice(0).reverse()) await c();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  /**
   * The listeners' clock stands still until the test moves it: which connections a deadline
   * cuts, and when, does not depend on how busy the box is.
   */
  async function setup(settings: DnstapConnectionSettings) {
    const clock = { now: Date.now() };
    const [queries, deadLetters] = await createTestTopics(kafka, [
      'ingest.faults.queries',
      'ingest.faults.deadletter',
    ]);
    const open = await openPublisher(
      testIngestConfig(queries, deadLetters, { INGEST_PAIR_WINDOW_MS: '0' }),
      'ingest-dnstap-faults',
    );
    closers.push(() => open.close());
    const deps: ListenerDeps = {
      zones: new ZoneMapper(['victim.example']),
      publisher: open.publisher,
      metrics: open.metrics,
      assembler: { pairWindowMs: 0, maxPending: 1000 },
      maxFrameBytes: MAX_FRAME,
      dnstap: settings,
      clock: () => clock.now,
      log: { info: () => undefined, warn: () => undefined },
    };
    const unix = new DnstapListener('dnstap-unix', deps);
    const tcp = new DnstapListener('dnstap-tcp', deps);
    const socketPath = join(dir, `dnstap-${closers.length}.sock`);
    await unix.listenUnix(socketPath);
    const address = await tcp.listenTcp('127.0.0.1', 0);
    closers.push(
      () => unix.close(),
      () => tcp.close(),
    );
    const tcpTarget = { host: '127.0.0.1', port: address.port };
    return { open, queries, unix, tcp, socketPath, tcpTarget, clock };
  }

  async function raw(target: Target): Promise<Socket> {
    const s = await rawConnect(target);
    sockets.push(s);
    return s;
  }

  it('good senders lose nothing and are not held up; abusive ones are cut and counted', async () => {
    const { open, queries, unix, tcp, socketPath, tcpTarget, clock } = await setup(SETTINGS);
    const closed = () => counter(open, 'sluice_ingest_connections_closed_total', 'reason');
    const memory = { heapArray: 0, rss: 0, listenerBytes: 0 };
    const base = process.memoryUsage();
    const sampler = setInterval(() => {
      const m = process.memoryUsage();
      memory.heapArray = Math.max(
        memory.heapArray,
        m.heapUsed + m.arrayBuffers - base.heapUsed - base.arrayBuffers,
      );
      memory.rss = Math.max(memory.rss, m.rss);
      memory.listenerBytes = Math.max(memory.listenerBytes, unix.bufferedBytes + tcp.bufferedBytes);
    }, 10);
    timers.push(sampler);

    // Phase 1: connections that hold a socket and give nothing back.
    const silent = await raw(tcpTarget); // connects, never says a word
    void silent;
    const readyNoRead = await raw(socketPath); // READY, never reads ACCEPT, never STARTs
    readyNoRead.pause();
    readyNoRead.write(encodeControlFrame(ControlType.READY, [DNSTAP_CONTENT_TYPE]));
    const stall = await raw(socketPath); // 10 good frames, then half a frame, forever
    const half = encodeDataFrame(Buffer.alloc(500, 7)).subarray(0, 204);
    stall.write(Buffer.concat([handshake, ...frames(10, 0, 10).map(encodeDataFrame), half]));
    const trickle = await raw(tcpTarget); // a frame one byte every 50 ms: progress, never done
    trickle.write(handshake);
    const slow = encodeDataFrame(Buffer.alloc(400, 9));
    let trickled = 0;
    const trickler = setInterval(() => {
      if (trickle.destroyed || trickled >= slow.length) return;
      trickle.write(slow.subarray(trickled, ++trickled));
    }, 50);
    timers.push(trickler);
    trickle.once('close', () => clearInterval(trickler));
    // Never reads: READY, START, 20 frames and STOP in one write, ACCEPT and FINISH left unread,
    // and it never closes its side.
    const pipelined = await raw(socketPath);
    pipelined.pause();
    pipelined.write(
      Buffer.concat([
        handshake,
        ...frames(11, 0, 20).map(encodeDataFrame),
        encodeControlFrame(ControlType.STOP),
      ]),
    );
    await waitFor(
      () => (unix.connectionCount + tcp.connectionCount >= 5 ? true : undefined),
      10_000,
      'the abusive connections to be accepted',
    );

    // Phase 2: good senders, while the above are held open, and quick abusers beside them.
    const started = Date.now();
    const good = [0, 1, 2, 3, 4, 5];
    const perSender = 1000;
    const goodRuns = good.map(async (s) => {
      const client = await FstrmClient.open(s % 2 === 0 ? socketPath : tcpTarget);
      await client.send(frames(s, 0, perSender), 113 + s * 29); // frames straddle reads
      await client.stop();
      return Date.now() - started;
    });
    const abusers = (async () => {
      // Disconnects mid-frame, reconnects and resends from the frame it did not finish.
      const first = await raw(socketPath);
      first.write(
        Buffer.concat([
          handshake,
          ...frames(20, 0, 200).map(encodeDataFrame),
          encodeDataFrame(authQuery(20, 200)).subarray(0, 17),
        ]),
      );
      await waitFor(
        () => (open.publisher.records >= 200 ? true : undefined),
        10_000,
        'the first 200 frames',
      );
      first.destroy();
      const again = await FstrmClient.open(tcpTarget);
      await again.send(frames(20, 200, 400), 1000);
      await again.stop();
      // Garbage after START: the first word reads as a 3.7 GB frame length.
      const garbage = await raw(socketPath);
      const junk = Buffer.alloc(4096);
      for (let i = 0; i < junk.length; i++) junk[i] = (i * 7919 + 0xde) & 0xff;
      junk[0] = 0xde;
      garbage.write(Buffer.concat([handshake, junk]));
      // A 100 MB frame length, then the sender tries to write the 100 MB.
      const huge = await raw(tcpTarget);
      const header = Buffer.alloc(4);
      header.writeUInt32BE(100 * 1024 * 1024);
      huge.write(Buffer.concat([handshake, header]));
      const mib = Buffer.alloc(1024 * 1024, 0x5a);
      let hugeWritten = 0;
      for (let i = 0; i < 100 && !huge.destroyed; i++) {
        const ok = huge.write(mib);
        hugeWritten += mib.length;
        if (!ok)
          await Promise.race([
            new Promise((r) => huge.once('drain', r)),
            new Promise((r) => huge.once('close', r)),
          ]);
      }
      // A reconnect storm: 50 connections opened and closed without a byte.
      for (let i = 0; i < 50; i++) (await raw(i % 2 ? socketPath : tcpTarget)).destroy();
      return hugeWritten;
    })();
    const goodTimes = await Promise.all(goodRuns);
    const hugeWritten = await abusers;
    // The good senders are done while every stalled connection is still held open.
    // (The probes' and the rejected senders' sockets close as their 'close' events come in.)
    const heldWhenGoodDone = await waitFor(
      () => {
        const n = unix.connectionCount + tcp.connectionCount;
        return n <= 5 ? n : undefined;
      },
      10_000,
      'only the held connections to be left',
    );
    const whenGoodDone = await closed();

    // Phase 3: the deadlines pass; every abusive connection is cut.
    clock.now += SETTINGS.frameMs + 1;
    const finalClosed = await waitFor(
      async () => {
        const c = await closed();
        return (c['handshake-timeout'] ?? 0) >= 2 && (c['frame-timeout'] ?? 0) >= 2 ? c : undefined;
      },
      20_000,
      'the deadlines to cut the stalled connections',
    );
    await waitFor(
      () => (unix.connectionCount + tcp.connectionCount === 0 ? true : undefined),
      10_000,
      'every connection to be closed',
    );
    // A sender arriving after all that is served.
    const late = await FstrmClient.open(socketPath);
    await late.send([authQuery(30, 0)]);
    await late.stop();
    clearInterval(sampler);

    const expected = good.length * perSender + 10 + 20 + 400 + 1;
    const reader = queryBatchReader(kafka, queries);
    closers.push(() => reader.stop());
    await reader.start();
    await waitFor(
      () => (eventsOf(reader.items).length >= expected ? true : undefined),
      60_000,
      `${expected} records`,
    );
    const bySender = new Map<number, Set<number>>();
    let foreign = 0;
    let duplicates = 0;
    for (const e of eventsOf(reader.items)) {
      const id = senderOf(e.qname);
      if (!id) {
        foreign++;
        continue;
      }
      let seen = bySender.get(id.sender);
      if (!seen) bySender.set(id.sender, (seen = new Set()));
      if (seen.has(id.i)) duplicates++;
      seen.add(id.i);
    }
    const malformed = await counter(open, 'sluice_ingest_malformed_total', 'reason');
    recordResult('dnstap-hostile-senders', {
      goodSenders: good.length,
      goodFrames: good.length * perSender,
      goodSlowestMs: Math.max(...goodTimes),
      recordsExpected: expected,
      recordsConsumed: eventsOf(reader.items).length,
      duplicates,
      hugeWrittenBytes: hugeWritten,
      listenerPeakBufferedBytes: memory.listenerBytes,
      heapArrayPeakGrowthMiB: Math.round(memory.heapArray / 2 ** 20),
      ...Object.fromEntries(Object.entries(finalClosed).map(([k, v]) => [`closed_${k}`, v])),
    });

    // Nothing of the good senders lost, nothing invented, nothing twice.
    for (const s of good) expect(bySender.get(s)?.size).toBe(perSender);
    expect(bySender.get(10)?.size).toBe(10); // the staller's complete frames
    expect(bySender.get(11)?.size).toBe(20); // the sender that never read
    expect(bySender.get(20)?.size).toBe(400); // reconnected: the cut frame resent, not doubled
    expect(bySender.get(30)?.size).toBe(1);
    expect(bySender.size).toBe(good.length + 4);
    expect(foreign).toBe(0);
    expect(duplicates).toBe(0);
    // The good senders finished while the stalled connections were still held open: silent,
    // READY without reading, half a frame, trickling, and the one that never reads (its FINISH
    // unread, it never closes).
    expect(heldWhenGoodDone).toBe(5);
    expect(whenGoodDone['handshake-timeout'] ?? 0).toBe(0);
    expect(whenGoodDone['frame-timeout'] ?? 0).toBe(0);
    // Each abusive connection cut and counted with its reason.
    expect(finalClosed).toEqual({
      'handshake-timeout': 2, // silent, READY without reading
      'frame-timeout': 2, // half a frame, a trickled frame
      'protocol-error': 2, // garbage, 100 MB frame
      eof: 51, // 50 probes, the sender that vanished mid-frame
      stop: 6 + 1 + 1, // good senders, the reconnected one, the one that never read
    });
    expect(malformed).toEqual({
      'fstrm-handshake-timeout': 2,
      'fstrm-frame-timeout': 2,
      'fstrm-oversize-frame': 2,
      'fstrm-truncated': 1,
    });
    // The listener held at most a frame per connection; the 100 MB were never buffered.
    expect(memory.listenerBytes).toBeLessThanOrEqual(SETTINGS.maxConnections * MAX_FRAME);
    expect(memory.listenerBytes).toBeLessThan(MAX_FRAME);
    expect(memory.heapArray).toBeLessThan(64 * 2 ** 20);
  }, 120_000);

  it('refuses connections past the limit and cuts idle ones when told to, then serves again', async () => {
    const { open, socketPath, tcpTarget, unix, tcp, clock } = await setup({
      handshakeMs: 5000,
      frameMs: 5000,
      idleMs: 400,
      maxConnections: 3,
    });
    const closed = () => counter(open, 'sluice_ingest_connections_closed_total', 'reason');
    const idle = [
      await FstrmClient.open(socketPath),
      await FstrmClient.open(socketPath),
      await FstrmClient.open(socketPath),
    ];
    void idle;
    const refused = await raw(socketPath);
    await new Promise((r) => (refused.destroyed ? r(null) : refused.once('close', r)));
    expect((await closed())['connection-limit']).toBe(1);
    // The TCP listener has its own limit: it still serves.
    const other = await FstrmClient.open(tcpTarget);
    await other.send([authQuery(40, 0)]);
    await other.stop();
    await waitFor(() => (tcp.connectionCount === 0 ? true : undefined), 10_000, 'FINISH');
    expect(unix.connectionCount).toBe(3);
    clock.now += 401;
    const c = await waitFor(
      async () => {
        const v = await closed();
        return (v['idle-timeout'] ?? 0) >= 3 ? v : undefined;
      },
      10_000,
      'the idle connections to be cut',
    );
    expect(c).toEqual({ 'connection-limit': 1, 'idle-timeout': 3, stop: 1 });
    expect(unix.connectionCount + tcp.connectionCount).toBe(0);
    // Idle is not malformed input.
    expect(await counter(open, 'sluice_ingest_malformed_total', 'reason')).toEqual({});
    const after = await FstrmClient.open(socketPath);
    await after.send([authQuery(41, 0)]);
    await after.stop();
    await open.publisher.flush();
    expect(open.publisher.records).toBe(2);
  }, 60_000);
});
