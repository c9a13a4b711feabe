import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dnsdistFrontConfig, freePort, nsdConfig } from '@sluice/testing';
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
  VICTIM,
  writeVictimZone,
} from './nameserver-e2e.harness';

/**
 * End to end with dnsdist 1.7 in front of a real NSD (no dnstap of its own): dnsdist logs
 * each client query (`DnstapLogAction`, CLIENT_QUERY) and each response it returns
 * (`DnstapLogResponseAction`, CLIENT_RESPONSE, the backend's rcode, the client's id and port),
 * so the ingest sees the resolvers exactly as the authoritative behind it would. Both Frame
 * Streams outputs are bidirectional; the unix one is covered by the closed-loop e2e, this one
 * uses `newFrameStreamTcpLogger` into the ingest's TCP listener.
 */
describeWithBinaries(
  ['dnsdist', 'nsd', 'nsd-checkconf', 'dig'],
  'dnsdist (→ NSD) → dnstap → ingest → Kafka',
  () => {
    let scratch: Scratch;

    beforeAll(() => {
      scratch = new Scratch('dnsdist');
    });
    afterAll(() => scratch.cleanup(), 30_000);

    it('delivers each client query with its fields and the rcode of its CLIENT_RESPONSE', async () => {
      const { dir } = scratch;
      const ingest = await IngestUnderTest.start('dnsdist', 'tcp', dir);
      scratch.defer(() => ingest.close());

      const backendPort = await freePort();
      const nsdConf = join(dir, 'nsd.conf');
      const nsdText = nsdConfig({ dir, port: backendPort, zones: [writeVictimZone(dir)] });
      writeFileSync(nsdConf, nsdText);
      await checkConfig('nsd-checkconf', [nsdConf], nsdText);
      const nsd = Daemon.spawn('nsd', 'nsd', ['-d', '-c', nsdConf]);
      scratch.defer(() => nsd.stop());
      await answering(nsd, backendPort);

      const port = await freePort();
      const conf = join(dir, 'dnsdist.conf');
      const text = dnsdistFrontConfig({
        port,
        backendPort,
        checkZone: VICTIM,
        dnstap: ingest.output('dnsdist-e2e'),
      });
      writeFileSync(conf, text);
      await checkConfig('dnsdist', ['--check-config', '-C', conf], text);
      const dnsdist = Daemon.spawn('dnsdist', 'dnsdist', [
        '--supervised',
        '--disable-syslog',
        '-C',
        conf,
      ]);
      scratch.defer(() => dnsdist.stop());
      await ingest.connected(dnsdist);
      await answering(dnsdist, port);

      const battery = await sendBattery(port);
      const { events, batches } = await ingest.events(batteryPredicates(battery));

      expectBattery(events, battery);
      expect(batches.every((b) => b.source === 'dnstap-tcp:dnsdist-e2e')).toBe(true);
      expect(ingest.open.publisher.malformedCount).toBe(0);
      // dnsdist's own health checks to NSD pass no rule: only client traffic is logged.
      expect(await ingest.frames()).toBe(2 * events.length);
    });
  },
);
