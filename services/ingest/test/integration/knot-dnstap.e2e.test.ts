import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, knotConfig } from '@sluice/testing';
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
 * End to end with Knot DNS 3.2 and its dnstap module (Debian: knot-module-dnstap), loaded as
 * a global module so refused queries for other zones are logged too. It writes AUTH_QUERY and
 * AUTH_RESPONSE for every query (whatever its RD bit) to the ingest's unix socket with the
 * bidirectional Frame Streams handshake. Each worker thread queues its own messages, so a
 * UDP answer may reach the ingest after a later TCP query: pairing must not depend on order.
 */
describeWithBinaries(['knotd', 'knotc', 'dig'], 'Knot DNS → dnstap → ingest → Kafka', () => {
  let scratch: Scratch;

  beforeAll(() => {
    scratch = new Scratch('knot');
  });
  afterAll(() => scratch.cleanup(), 30_000);

  it('delivers each query with its fields and the rcode of its AUTH_RESPONSE', async () => {
    const { dir } = scratch;
    const ingest = await IngestUnderTest.start('knot', 'unix', dir);
    scratch.defer(() => ingest.close());
    const port = await freePort();
    const sink = ingest.sink;
    if (!('unix' in sink)) throw new Error('mod-dnstap writes to a file or unix socket only');
    const conf = join(dir, 'knot.conf');
    const text = knotConfig({
      dir,
      port,
      zones: [writeVictimZone(dir)],
      dnstap: { sink, identity: 'knot-e2e' },
    });
    writeFileSync(conf, text);
    // Fails with "unknown module" when knot-module-dnstap is not installed.
    await checkConfig('knotc', ['-c', conf, 'conf-check'], text);

    const knotd = Daemon.spawn('knotd', 'knotd', ['-c', conf]);
    scratch.defer(() => knotd.stop());
    await ingest.connected(knotd);
    await answering(knotd, port);

    const battery = await sendBattery(port);
    const { events, batches } = await ingest.events(batteryPredicates(battery));

    expectBattery(events, battery);
    expect(batches.every((b) => b.source === 'dnstap-unix:knot-e2e')).toBe(true);
    expect(ingest.open.publisher.malformedCount).toBe(0);
    expect(await ingest.frames()).toBe(2 * events.length);
  });
});
