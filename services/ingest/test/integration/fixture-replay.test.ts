import { join } from 'node:path';
import { type Kafka, keyPartitionOf } from '@sluice/kafka';
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

  it.each(['partition', 'zone'] as const)(
    'publishes exactly the expected records, each zone on its partition, and samples every malformed packet (batches per %s)',
    async (per) => {
      const [queries, deadLetters] = await createTestTopics(kafka, [
        'ingest.queries',
        'ingest.deadletter',
      ]);
      const config = { ...testIngestConfig(queries, deadLetters), INGEST_BATCH_PER: per };
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
      // Every zone on the partition a message keyed by it goes to (the topic has 3); the key is
      // the batch's zone. Per zone, one zone per message.
      const partitionOf = keyPartitionOf(3);
      batches.items.forEach((b, i) => {
        expect(batches.keys[i]).toBe(b.zone);
        for (const e of b.events) expect(partitionOf(e.zone)).toBe(batches.partitions[i]);
        if (per === 'zone') expect(b.events.every((e) => e.zone === b.zone)).toBe(true);
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
    },
  );

  it('stops at start, naming INGEST_QUERIES_TOPIC, when the queries topic does not exist', async () => {
    const config = testIngestConfig(`missing-${Date.now()}`, 'missing-deadletter');
    await expect(openPublisher(config, 'ingest-missing-topic-test')).rejects.toThrow(
      /INGEST_QUERIES_TOPIC/,
    );
  }, 60_000);
});
