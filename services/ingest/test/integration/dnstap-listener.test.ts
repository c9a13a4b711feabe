import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as dnsPacket from 'dns-packet';
import { type Kafka } from '@sluice/kafka';
import { createTestTopics, testKafka, waitFor } from '@sluice/testing';
import { encodeDnstap } from '../../src/core/dnstap';
import { ControlType, encodeControlFrame, encodeDataFrame } from '../../src/core/frame-streams';
import { ipBytes } from '@sluice/traffic-sim';
import { ZoneMapper } from '../../src/core/zone-mapper';
import { DnstapListener } from '../../src/listeners/dnstap.listener';
import { openPublisher, type OpenPublisher } from '../../src/publish/open-publisher';
import { FstrmClient, rawConnect } from './fstrm-client';
import { eventsOf, queryBatchReader, testIngestConfig } from './kafka-helpers';

function authQuery(sender: number, i: number): Buffer {
  return encodeDnstap({
    type: 1,
    identity: `sender-${sender}`,
    socketFamily: 1,
    socketProtocol: 1,
    queryAddress: ipBytes(`10.0.${sender}.1`),
    queryPort: 1000 + i,
    queryTimeSec: 1_700_000_000 + i,
    queryTimeNsec: 0,
    queryMessage: dnsPacket.encode({
      type: 'query',
      id: i,
      flags: dnsPacket.RECURSION_DESIRED,
      questions: [{ type: 'A', name: `n${i}.s${sender}.victim.example` }],
    }),
  });
}

async function malformedCounts(open: OpenPublisher): Promise<Record<string, number>> {
  const metric = await open.registry.getSingleMetric('sluice_ingest_malformed_total')!.get();
  return Object.fromEntries(metric.values.map((v) => [String(v.labels.reason), v.value]));
}

describe('dnstap listener (unix socket and TCP)', () => {
  let kafka: Kafka;
  let dir: string;
  const closers: (() => Promise<void>)[] = [];

  beforeAll(() => {
    kafka = testKafka('ingest-dnstap-test');
    dir = mkdtempSync(join(tmpdir(), 'sluice-dnstap-'));
  });
  afterAll(async () => {
    await Promise.all(closers.map((c) => c()));
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('serves many concurrent senders while rejecting misbehaving ones, and counts each problem', async () => {
    const [queries, deadLetters] = await createTestTopics(kafka, [
      'ingest.queries',
      'ingest.deadletter',
    ]);
    const open = await openPublisher(
      testIngestConfig(queries, deadLetters, { INGEST_PAIR_WINDOW_MS: '0' }),
      'ingest-dnstap-test',
    );
    const deps = {
      zones: new ZoneMapper(['victim.example']),
      publisher: open.publisher,
      metrics: open.metrics,
      assembler: { pairWindowMs: 0, maxPending: 1000 },
      maxFrameBytes: 64 * 1024,
      log: { info: () => undefined, warn: () => undefined },
    };
    const unix = new DnstapListener('dnstap-unix', deps);
    const tcp = new DnstapListener('dnstap-tcp', deps);
    const socketPath = join(dir, 'dnstap.sock');
    await unix.listenUnix(socketPath);
    const address = await tcp.listenTcp('127.0.0.1', 0);
    closers.push(
      () => open.close(),
      () => unix.close(),
      () => tcp.close(),
    );
    const target = (s: number) =>
      s % 3 === 0 ? { host: '127.0.0.1', port: address.port } : socketPath;

    const perSender = 300;
    const senders = Array.from({ length: 8 }, (_, s) => s);
    const bad = (async () => {
      // Wrong content type in READY.
      const wrong = await rawConnect(socketPath);
      wrong.write(encodeControlFrame(ControlType.READY, ['protobuf:not.Dnstap']));
      // Oversize data frame after a proper handshake.
      const big = await rawConnect(socketPath);
      const huge = Buffer.alloc(4);
      huge.writeUInt32BE(10_000_000);
      big.write(
        Buffer.concat([
          encodeControlFrame(ControlType.READY, ['protobuf:dnstap.Dnstap']),
          encodeControlFrame(ControlType.START),
          huge,
        ]),
      );
      // A zero-length control frame.
      const zero = await rawConnect({ host: '127.0.0.1', port: address.port });
      zero.write(Buffer.alloc(8));
      // Vanishes mid-frame after one good frame.
      const vanish = await rawConnect(socketPath);
      const good = encodeDataFrame(authQuery(99, 1));
      vanish.write(
        Buffer.concat([
          encodeControlFrame(ControlType.READY, ['protobuf:dnstap.Dnstap']),
          encodeControlFrame(ControlType.START),
          good,
          encodeDataFrame(authQuery(99, 2)).subarray(0, 10),
        ]),
      );
      await new Promise((r) => setTimeout(r, 200));
      vanish.destroy();
      // Garbage protobuf inside a valid frame.
      const garbage = await FstrmClient.open(socketPath);
      await garbage.send([Buffer.from([0x08, 0xff, 0xff])]);
      await garbage.stop();
    })();
    await Promise.all([
      bad,
      ...senders.map(async (s) => {
        const client = await FstrmClient.open(target(s));
        const frames = Array.from({ length: perSender }, (_, i) => authQuery(s, i));
        await client.send(frames, 97 + s * 13); // odd chunk sizes: frames straddle reads
        await client.stop();
      }),
    ]);
    // A sender arriving after all that is still served.
    const late = await FstrmClient.open(socketPath);
    await late.send([authQuery(50, 7)]);
    await late.stop();

    const expected = senders.length * perSender + 1 + 1; // + vanished sender's whole frame + late sender
    const reader = queryBatchReader(kafka, queries);
    closers.push(() => reader.stop());
    await reader.start();
    await waitFor(
      () => (eventsOf(reader.items).length >= expected ? true : undefined),
      60_000,
      `${expected} events`,
    );
    const events = eventsOf(reader.items);
    expect(events).toHaveLength(expected);
    for (const s of senders) {
      const mine = events.filter((e) => e.resolver === `10.0.${s}.1`);
      expect(mine).toHaveLength(perSender);
      expect(new Set(mine.map((e) => e.qname)).size).toBe(perSender);
    }
    expect(events[0]).toMatchObject({
      zone: 'victim.example',
      qtype: 1,
      rd: true,
      transport: 'udp',
    });
    expect(await malformedCounts(open)).toEqual({
      'fstrm-content-type': 1,
      'fstrm-oversize-frame': 1,
      'fstrm-zero-length-control': 1,
      'fstrm-truncated': 1,
      'dnstap-decode': 1,
    });
    expect(unix.connectionCount + tcp.connectionCount).toBe(0);
  });
});
