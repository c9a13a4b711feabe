import {
  decodeMessage,
  decodeQueryBatch,
  deadLetterSchema,
  type DeadLetter,
  type QueryBatch,
} from '@sluice/contracts';
import { type Kafka } from '@sluice/kafka';
import { loadIngestConfig, type IngestConfig } from '../../src/config/ingest.config';
import { uniqueName, waitFor } from '@sluice/testing';

/** Ingest config pointed at the test broker and this test's own topics. */
export function testIngestConfig(
  queriesTopic: string,
  deadLetterTopic: string,
  extra: Record<string, string> = {},
): IngestConfig {
  return loadIngestConfig({
    KAFKA_BROKERS: process.env.KAFKA_BROKERS,
    INGEST_QUERIES_TOPIC: queriesTopic,
    INGEST_DEADLETTER_TOPIC: deadLetterTopic,
    INGEST_LINGER_MS: '20',
    INGEST_DEADLETTER_SAMPLE_RATE: '1',
    ...extra,
  });
}

/** Reads a topic from the beginning into memory until stopped. */
export class TopicReader<T> {
  readonly items: T[] = [];
  readonly keys: string[] = [];
  /** Each item's partition (same order as items). */
  readonly partitions: number[] = [];
  private readonly consumer;

  constructor(
    kafka: Kafka,
    private readonly topic: string,
    private readonly decode: (raw: Buffer) => T,
  ) {
    this.consumer = kafka.consumer({ groupId: uniqueName('ingest-reader') });
  }

  async start(): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.topic, fromBeginning: true });
    await this.consumer.run({
      eachMessage: async ({ message, partition }) => {
        if (message.value) {
          this.items.push(this.decode(message.value));
          this.keys.push(message.key?.toString() ?? '');
          this.partitions.push(partition);
        }
      },
    });
  }

  async waitForCount(n: number, timeoutMs = 30_000): Promise<T[]> {
    await waitFor(
      () => (this.items.length >= n ? true : undefined),
      timeoutMs,
      `${n} messages on ${this.topic}`,
    );
    return this.items;
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect();
  }
}

export const queryBatchReader = (kafka: Kafka, topic: string) =>
  new TopicReader<QueryBatch>(kafka, topic, decodeQueryBatch);
export const deadLetterReader = (kafka: Kafka, topic: string) =>
  new TopicReader<DeadLetter>(kafka, topic, (raw) => decodeMessage(deadLetterSchema, raw));

export const eventsOf = (batches: QueryBatch[]) => batches.flatMap((b) => b.events);
