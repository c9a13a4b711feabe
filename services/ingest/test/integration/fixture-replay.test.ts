import { join } from 'node:path';
import { type Kafka } from '@sluice/kafka';
import { createTestTopics, testKafka } from '@sluice/testing';
import { ZoneMapper } from '../../src/core/zone-mapper';
import { openPublisher } from '../../src/publish/open-publisher';
import { replayFile } from '../../src/replay';
import { expectedDnsMixMalformed, expectedDnsMixRecords } from '../fixtures/dns-mix.expected';
import { deadLetterReader, eventsOf, queryBatchReader, testIngestConfig } from './kafka-helpers';

describe('replay of the fixture pcap into Kafka', () => {
  let kafka: Kafka;
  const closers: (() => Promise<void>)[] = [];

  beforeAll(() => {
    kafka = testKafka('ingest-fixture-test');
  });
  afterAll(async () => {
    await Promise.all(closers.map((close) => close()));
  }, 60_000);

  it('publishes exactly the expected records, keyed by zone, and samples every malformed packet', async () => {
    const [queries, deadLetters] = await createTestTopics(kafka, [
      'ingest.queries',
      'ingest.deadletter',
    ]);
    const config = testIngestConfig(queries, deadLetters);
    const open = await openPublisher(config, 'ingest-fixture-test');
    closers.push(() => open.close());
    const summary = await replayFile(join(__dirname, '..', 'fixtures', 'dns-mix.pcap'), {
      sink: open.publisher,
      zones: new ZoneMapper(),
    });
    await open.publisher.flush();
    expect(summary.malformed).toEqual(expectedDnsMixMalformed);

    const batches = queryBatchReader(kafka, queries);
    const letters = deadLetterReader(kafka, deadLetters);
    closers.push(
      () => batches.stop(),
      () => letters.stop(),
    );
    await batches.start();
    await letters.start();
    await letters.waitForCount(5);
    await batches.waitForCount(1);
    await new Promise((r) => setTimeout(r, 500)); // nothing more may arrive
    const events = eventsOf(batches.items).sort((a, b) => a.ts - b.ts);
    expect(events).toEqual(expectedDnsMixRecords);
    // One zone per message, and the message key is that zone.
    batches.items.forEach((b, i) => {
      expect(batches.keys[i]).toBe(b.zone);
      expect(b.events.every((e) => e.zone === b.zone)).toBe(true);
      expect(b.source).toBe('replay:dns-mix.pcap');
    });
    expect(letters.items.map((l) => l.reason).sort()).toEqual(
      Object.keys(expectedDnsMixMalformed).sort(),
    );
    const shortHeader = letters.items.find((l) => l.reason === 'dns-short-header')!;
    expect(Buffer.from(shortHeader.raw, 'base64')).toEqual(
      Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00]),
    );
    expect(shortHeader.source).toBe('replay:dns-mix.pcap');
  });
});
