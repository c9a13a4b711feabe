import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, namedConfig } from '@sluice/testing';
import {
  answering,
  batteryPredicates,
  checkConfig,
  Daemon,
  describeWithBinaries,
  expectBattery,
  IngestUnderTest,
  Scratch,
  sendBattery,
  writeVictimZone,
} from './nameserver-e2e.harness';

/**
 * End to end with BIND 9.18 (Debian: built with --enable-dnstap, see `named -V`) as an
 * authoritative server, dnstap to the ingest's unix socket (BIND has no TCP output),
 * bidirectional Frame Streams.
 *
 * BIND names a response's dnstap type by the query's RD bit, not by its own role: with
 * recursion off, every query is an AUTH_QUERY, but the answer to an RD=1 query is a
 * CLIENT_RESPONSE and only the answer to an RD=0 query an AUTH_RESPONSE. With
 * `dnstap { auth; }` alone the RD=1 queries (dig, stub-like floods sent straight at the
 * authoritative) would carry no rcode; the battery has both kinds, and namedConfig logs
 * `auth; client;`.
 */
describeWithBinaries(
  ['named', 'named-checkconf', 'dig'],
  'BIND 9 → dnstap → ingest → Kafka',
  () => {
    let scratch: Scratch;

    beforeAll(() => {
      scratch = new Scratch('bind');
    });
    afterAll(() => scratch.cleanup(), 30_000);

    it('delivers each query with its fields and the rcode of its response (AUTH_ and CLIENT_RESPONSE)', async () => {
      const { dir } = scratch;
      const ingest = await IngestUnderTest.start('bind', 'unix', dir);
      scratch.defer(() => ingest.close());
      const port = await freePort();
      const sink = ingest.sink;
      if (!('unix' in sink)) throw new Error('BIND writes dnstap to a unix socket only');
      const conf = join(dir, 'named.conf');
      const text = namedConfig({
        dir,
        port,
        zones: [writeVictimZone(dir)],
        dnstap: { sink, identity: 'bind-e2e' },
      });
      writeFileSync(conf, text);
      await checkConfig('named-checkconf', [conf], text);

      const named = Daemon.spawn('named', 'named', ['-g', '-c', conf]);
      scratch.defer(() => named.stop());
      await ingest.connected(named);
      await answering(named, port);

      const battery = await sendBattery(port);
      const { events, batches } = await ingest.events(batteryPredicates(battery));

      expectBattery(events, battery);
      expect(batches.every((b) => b.source === 'dnstap-unix:bind-e2e')).toBe(true);
      expect(ingest.open.publisher.malformedCount).toBe(0);
      // Every query's response came as a frame: one query and one response per dig, warm-up included.
      expect(await ingest.frames()).toBe(2 * events.length);
    });
  },
);
