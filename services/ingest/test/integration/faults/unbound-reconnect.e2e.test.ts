import { createSocket } from 'node:dgram';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as dnsPacket from 'dns-packet';
import { type Kafka } from '@sluice/kafka';
import { createTestTopics, freePort, testKafka, unboundConfig, waitFor } from '@sluice/testing';
import { ZoneMapper } from '../../../src/core/zone-mapper';
import { DnstapListener, type ListenerDeps } from '../../../src/listeners/dnstap.listener';
import { openPublisher } from '../../../src/publish/open-publisher';
import { recordResult } from '../../../../../test/integration/faults/fault-pipeline';
import { eventsOf, queryBatchReader, testIngestConfig } from '../kafka-helpers';
import {
  answering,
  checkConfig,
  Daemon,
  describeWithBinaries,
  Scratch,
  VICTIM,
  writeVictimZone,
} from '../nameserver-e2e.harness';

/**
 * Issue 14, faults: the ingest's dnstap listener restarted under a real nameserver's stream.
 * Unbound 1.17 answers a steady stream of queries and logs them over dnstap to the listener's
 * unix socket; the listener is closed mid-stream (its connection cut) and a new one opened on the
 * same path. Unbound reconnects by itself and frames resume: every query answered after the
 * reconnection is on the topic, and so is every query whose frames the first listener read.
 * What Unbound could not send while nothing listened is Unbound's to drop (the gap is recorded).
 */
describeWithBinaries(
  ['unbound', 'unbound-checkconf'],
  'faults: dnstap listener restarted under Unbound',
  () => {
    let scratch: Scratch;
    let kafka: Kafka;

    beforeAll(() => {
      scratch = new Scratch('unbound-restart');
      kafka = testKafka('ingest-unbound-restart');
    });
    afterAll(() => scratch.cleanup(), 30_000);

    it('Unbound reconnects by itself and frames resume', async () => {
      const { dir } = scratch;
      const [queries, deadLetters] = await createTestTopics(kafka, [
        'ingest.restart.queries',
        'ingest.restart.deadletter',
      ]);
      const config = testIngestConfig(queries, deadLetters, { INGEST_SERVED_ZONES: VICTIM });
      const open = await openPublisher(config, 'ingest-unbound-restart');
      scratch.defer(() => open.close());
      const deps: ListenerDeps = {
        zones: new ZoneMapper([VICTIM]),
        publisher: open.publisher,
        metrics: open.metrics,
        assembler: { pairWindowMs: config.INGEST_PAIR_WINDOW_MS, maxPending: 1000 },
        maxFrameBytes: config.INGEST_MAX_FRAME_BYTES,
        log: { info: () => undefined, warn: () => undefined },
      };
      const path = join(dir, 'dnstap.sock');
      const first = new DnstapListener('dnstap-unix', deps);
      await first.listenUnix(path);
      let second: DnstapListener | null = null;
      scratch.defer(() => second?.close());

      const port = await freePort();
      const conf = join(dir, 'unbound.conf');
      const text = unboundConfig({
        dir,
        port,
        zones: [writeVictimZone(dir)],
        dnstap: { sink: { unix: path }, identity: 'unbound-restart' },
      });
      writeFileSync(conf, text);
      await checkConfig('unbound-checkconf', [conf], text);
      const unbound = Daemon.spawn('unbound', 'unbound', ['-d', '-c', conf]);
      scratch.defer(() => unbound.stop());
      await answering(unbound, port);
      await waitFor(
        () => (first.connectionCount > 0 ? true : undefined),
        20_000,
        'Unbound to connect',
      );

      // A steady stream of queries, one at a time, each answered (dig-like, without a process each).
      const client = createSocket('udp4');
      scratch.defer(() => new Promise<void>((r) => client.close(() => r())));
      await new Promise<void>((r) => client.bind(0, '127.0.0.1', () => r()));
      const answered = new Map<number, number>(); // query number → when answered
      const waiting = new Map<number, () => void>();
      client.on('message', (msg) => {
        const id = dnsPacket.decode(msg).id ?? -1;
        waiting.get(id)?.();
      });
      let n = 0;
      const ask = async (): Promise<void> => {
        const i = n++;
        const id = i & 0xffff;
        const done = new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(false), 1000);
          waiting.set(id, () => {
            clearTimeout(timer);
            resolve(true);
          });
        });
        client.send(
          dnsPacket.encode({
            type: 'query',
            id,
            questions: [{ type: 'A', name: `q${i}.${VICTIM}` }],
          }),
          port,
          '127.0.0.1',
        );
        if (await done) answered.set(i, Date.now());
        waiting.delete(id);
      };
      const frames = async () =>
        (await open.metrics.inputs.get()).values.find((v) => v.labels.source === 'dnstap-unix')
          ?.value ?? 0;

      // Before: until the first listener has read 100 frames (queries and responses).
      while ((await frames()) < 100) await ask();
      const beforeRestart = n;
      // Restart mid-stream: the connection is cut while Unbound keeps answering.
      const cutAt = Date.now();
      const closing = first.close();
      const framesAtCut = await frames();
      second = new DnstapListener('dnstap-unix', deps);
      await closing;
      await second.listenUnix(path);
      const restartedAt = Date.now();
      let reconnectedAt = 0;
      await waitFor(
        async () => {
          await ask();
          if (second.connectionCount > 0 && reconnectedAt === 0) reconnectedAt = Date.now();
          return reconnectedAt > 0 && (await frames()) > framesAtCut + 20 ? true : undefined;
        },
        60_000,
        'Unbound to reconnect and frames to resume',
      );
      // After: 200 more queries over the new connection.
      const afterFrom = n;
      for (let k = 0; k < 200; k++) await ask();
      const afterTo = n;

      const reader = queryBatchReader(kafka, queries);
      scratch.defer(() => reader.stop());
      await reader.start();
      const qnum = (qname: string) => Number(/^q(\d+)\./.exec(qname)?.[1] ?? -1);
      await waitFor(
        () => {
          const seen = new Set(eventsOf(reader.items).map((e) => qnum(e.qname)));
          for (let i = afterFrom; i < afterTo; i++)
            if (answered.has(i) && !seen.has(i)) return undefined;
          return true;
        },
        30_000,
        'every query answered after the reconnection on the topic',
      );
      const events = eventsOf(reader.items).filter((e) => qnum(e.qname) >= 0);
      const seen = new Set(events.map((e) => qnum(e.qname)));
      let lostInGap = 0;
      for (let i = beforeRestart; i < afterFrom; i++)
        if (answered.has(i) && !seen.has(i)) lostInGap++;
      const closed = Object.fromEntries(
        (await open.metrics.connectionsClosed.get()).values.map((v) => [v.labels.reason, v.value]),
      );
      recordResult('dnstap-listener-restart-unbound', {
        queriesBefore: beforeRestart,
        queriesDuringGap: afterFrom - beforeRestart,
        queriesAfter: afterTo - afterFrom,
        reconnectMs: reconnectedAt - restartedAt,
        cutToReconnectMs: reconnectedAt - cutAt,
        answeredButNotLoggedInGap: lostInGap,
        duplicates: events.length - seen.size,
      });

      for (let i = 0; i < beforeRestart; i++)
        if (answered.has(i)) expect(seen.has(i)).toBe(true);
      for (let i = afterFrom; i < afterTo; i++) if (answered.has(i)) expect(seen.has(i)).toBe(true);
      expect(answered.size).toBeGreaterThan(0.9 * n);
      expect(events.length).toBe(seen.size); // nothing twice
      expect(closed).toEqual({ shutdown: 1 });
      expect(second.connectionCount).toBe(1);
      expect(open.publisher.malformedCount).toBe(0);
    }, 120_000);
  },
);
