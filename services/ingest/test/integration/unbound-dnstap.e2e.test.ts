import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, unboundConfig } from '@sluice/testing';
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
 * End to end with Unbound 1.17 answering as an authoritative server (`auth-zone` for
 * downstream, everything else refused). Unbound has no AUTH_* dnstap types: its answers from
 * auth-zone data are CLIENT_QUERY / CLIENT_RESPONSE, which the ingest takes like AUTH_*.
 * Both of its outputs speak bidirectional Frame Streams: the unix socket
 * (`dnstap-socket-path`) and TCP (`dnstap-ip`, TLS off) — one run each.
 */
describeWithBinaries(
  ['unbound', 'unbound-checkconf', 'dig'],
  'Unbound → dnstap → ingest → Kafka',
  () => {
    describe.each(['unix', 'tcp'] as const)('over %s', (transport) => {
      let scratch: Scratch;

      beforeAll(() => {
        scratch = new Scratch(`unbound-${transport}`);
      });
      afterAll(() => scratch.cleanup(), 30_000);

      it('delivers each query with its fields and the rcode of its CLIENT_RESPONSE', async () => {
        const { dir } = scratch;
        const ingest = await IngestUnderTest.start(`unbound-${transport}`, transport, dir);
        scratch.defer(() => ingest.close());
        const port = await freePort();
        const conf = join(dir, 'unbound.conf');
        const identity = `unbound-${transport}-e2e`;
        const text = unboundConfig({
          dir,
          port,
          zones: [writeVictimZone(dir)],
          dnstap: ingest.output(identity),
        });
        writeFileSync(conf, text);
        await checkConfig('unbound-checkconf', [conf], text);

        const unbound = Daemon.spawn('unbound', 'unbound', ['-d', '-c', conf]);
        scratch.defer(() => unbound.stop());
        await ingest.connected(unbound);
        await answering(unbound, port);

        const battery = await sendBattery(port);
        const { events, batches } = await ingest.events(batteryPredicates(battery));

        expectBattery(events, battery);
        expect(batches.every((b) => b.source === `dnstap-${transport}:${identity}`)).toBe(true);
        expect(ingest.open.publisher.malformedCount).toBe(0);
        expect(await ingest.frames()).toBe(2 * events.length);
      });
    });
  },
);
