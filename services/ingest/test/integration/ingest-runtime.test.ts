import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as dnsPacket from 'dns-packet';
import { type Kafka } from '@sluice/kafka';
import { type ServiceLog } from '@sluice/service-kit';
import { createTestTopics, testKafka, waitFor } from '@sluice/testing';
import { ipBytes } from '@sluice/traffic-sim';
import { Registry } from 'prom-client';
import { encodeDnstap } from '../../src/core/dnstap';
import { IngestRuntime } from '../../src/ingest.runtime';
import { FstrmClient } from './fstrm-client';
import { eventsOf, queryBatchReader, testIngestConfig } from './kafka-helpers';

const query = (name: string, id: number) =>
  dnsPacket.encode({ type: 'query', id, questions: [{ type: 'A', name }] });

function authQuery(resolver: string, i: number): Buffer {
  return encodeDnstap({
    type: 1,
    socketFamily: 1,
    socketProtocol: 1,
    queryAddress: ipBytes(resolver),
    queryPort: 1000 + i,
    queryTimeSec: 1_700_000_000 + i,
    queryTimeNsec: 0,
    queryMessage: query(`n${i}.victim.example`, i),
  });
}

/** A log that keeps each line's fields, for the listeners' bound ports. */
function keptLog(): ServiceLog & { lines: Array<{ obj: object; msg: string }> } {
  const lines: Array<{ obj: object; msg: string }> = [];
  const keep = (obj: object, msg: string) => void lines.push({ obj, msg });
  return { lines, debug: keep, info: keep, warn: keep, error: keep };
}

describe('IngestRuntime (the service without Nest)', () => {
  let kafka: Kafka;
  let dir: string;
  const closers: (() => Promise<void>)[] = [];

  beforeAll(() => {
    kafka = testKafka('ingest-runtime-test');
    dir = mkdtempSync(join(tmpdir(), 'sluice-ingest-runtime-'));
  });
  afterAll(async () => {
    await Promise.all(closers.map((c) => c()));
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('opens every configured listener after the producer, publishes what each receives, and on stop closes them and flushes', async () => {
    const [queries, deadLetters] = await createTestTopics(kafka, [
      'ingest-runtime.queries',
      'ingest-runtime.deadletter',
    ]);
    const socket = join(dir, 'dnstap.sock');
    const registry = new Registry();
    const log = keptLog();
    const runtime = new IngestRuntime(
      testIngestConfig(queries, deadLetters, {
        INGEST_SERVED_ZONES: 'victim.example',
        INGEST_PAIR_WINDOW_MS: '0',
        INGEST_DNSTAP_SOCKET: socket,
        INGEST_DNSTAP_TCP: '127.0.0.1:0',
        INGEST_UDP_MIRROR: '127.0.0.1:0',
        // Nothing leaves on a timer: what reaches the topic was flushed by stop().
        INGEST_LINGER_MS: '600000',
      }),
      { log, registry },
    );
    let stopped = false;
    closers.push(() => (stopped ? Promise.resolve() : runtime.stop()));
    expect(runtime.connected).toBe(false);
    await runtime.start();
    expect(runtime.connected).toBe(true);
    const portOf = (prefix: string) => {
      const line = log.lines.find((l) => l.msg.startsWith(prefix));
      if (!line) throw new Error(`no "${prefix}" line in ${JSON.stringify(log.lines)}`);
      return (line.obj as { port: number }).port;
    };
    const tcpPort = portOf('dnstap on tcp');
    const udpPort = portOf('UDP mirror on');

    const n = 40;
    for (const [target, resolver] of [
      [socket, '10.0.0.1'],
      [{ host: '127.0.0.1', port: tcpPort }, '10.0.0.2'],
    ] as const) {
      const client = await FstrmClient.open(target);
      await client.send(Array.from({ length: n }, (_, i) => authQuery(resolver, i)));
      await client.stop();
    }
    const udp = createSocket('udp4');
    for (let i = 0; i < n; i++)
      await new Promise<void>((resolve, reject) =>
        udp.send(query(`u${i}.victim.example`, i), udpPort, '127.0.0.1', (e) =>
          e ? reject(e) : resolve(),
        ),
      );
    udp.close();
    // Every input taken in (records are counted when their batch is published, at stop).
    const inputs = async () =>
      (await registry.getSingleMetric('sluice_ingest_inputs_total')!.get()).values.reduce(
        (sum, v) => sum + v.value,
        0,
      );
    await waitFor(async () => ((await inputs()) >= 3 * n ? true : undefined), 30_000, 'inputs');

    await runtime.stop();
    stopped = true;
    expect(runtime.connected).toBe(false);
    // The listeners are closed: the socket file is gone and TCP refuses.
    const refused = (target: string | { host: string; port: number }) =>
      new Promise<boolean>((resolve) => {
        const s = typeof target === 'string' ? connect(target) : connect(target);
        s.once('connect', () => (s.destroy(), resolve(false)));
        s.once('error', () => resolve(true));
      });
    expect(await refused(socket)).toBe(true);
    expect(await refused({ host: '127.0.0.1', port: tcpPort })).toBe(true);

    const reader = queryBatchReader(kafka, queries);
    closers.push(() => reader.stop());
    await reader.start();
    await waitFor(
      () => (eventsOf(reader.items).length >= 3 * n ? true : undefined),
      30_000,
      `${3 * n} events`,
    );
    const events = eventsOf(reader.items);
    expect(events).toHaveLength(3 * n);
    const by = (r: string) => events.filter((e) => e.resolver === r).length;
    expect([by('10.0.0.1'), by('10.0.0.2'), by('127.0.0.1')]).toEqual([n, n, n]);
  });
});
