import { kafkaConfigFrom } from '@sluice/config';
import { createKafka, type Kafka, keyPartitionOf, type KafkaLogSink } from '@sluice/kafka';
import { createServiceLogger } from '@sluice/service-kit';
import { Registry } from 'prom-client';
import { type IngestConfig } from '../config/ingest.config';
import { IngestMetrics } from '../metrics/ingest.metrics';
import { hotZonePartitioner } from './hot-zone-partitioner';
import { QueryPublisher } from './query.publisher';

export interface OpenPublisher {
  publisher: QueryPublisher;
  metrics: IngestMetrics;
  registry: Registry;
  /** The producer is connected to the cluster (the service's readiness). */
  readonly connected: boolean;
  /** Flush, wait for every acknowledgement, disconnect. */
  close(): Promise<void>;
}

/**
 * A connected QueryPublisher: the service's (inside Nest, with its registry and log) and the
 * CLI replay's, benchmarks' and tests' (outside it). kafkajs' own lines go to `log`; without
 * one, to a JSON logger on stderr in the services' log shape.
 */
export async function openPublisher(
  config: IngestConfig,
  clientId = 'sluice-ingest',
  log: KafkaLogSink = createServiceLogger('ingest', config.LOG_LEVEL),
  registry = new Registry(),
): Promise<OpenPublisher> {
  const kafka = createKafka(kafkaConfigFrom(config, clientId), log);
  const producer = kafka.producer({
    allowAutoTopicCreation: false,
    createPartitioner: hotZonePartitioner(config.INGEST_HOT_QUERIES_TOPIC),
  });
  await producer.connect();
  let partitionOf: ((zone: string) => number) | undefined;
  if (config.INGEST_BATCH_PER === 'partition') {
    try {
      partitionOf = keyPartitionOf(await partitionCount(kafka, config.INGEST_QUERIES_TOPIC));
    } catch (e) {
      await producer.disconnect();
      throw e;
    }
  }
  let connected = true;
  producer.on(producer.events.DISCONNECT, () => (connected = false));
  producer.on(producer.events.CONNECT, () => (connected = true));
  const metrics = new IngestMetrics(registry);
  const publisher = new QueryPublisher(
    producer,
    {
      queriesTopic: config.INGEST_QUERIES_TOPIC,
      deadLetterTopic: config.INGEST_DEADLETTER_TOPIC,
      batchEvents: config.INGEST_BATCH_EVENTS,
      lingerMs: config.INGEST_LINGER_MS,
      maxBufferedBatches: config.INGEST_MAX_BUFFERED_BATCHES,
      maxBufferedBytes: config.INGEST_MAX_BUFFERED_BYTES,
      deadLetterSampleRate: config.INGEST_DEADLETTER_SAMPLE_RATE,
      hotZones: config.INGEST_HOT_ZONES,
      hotQueriesTopic: config.INGEST_HOT_QUERIES_TOPIC,
      partitionOf,
    },
    metrics,
    log,
  );
  return {
    publisher,
    metrics,
    registry,
    get connected() {
      return connected;
    },
    async close() {
      try {
        await publisher.flush();
      } finally {
        await producer.disconnect();
      }
    },
  };
}

/** The topic's partition count, from the broker (INGEST_BATCH_PER=partition needs it). */
async function partitionCount(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    const n = topics[0]?.partitions.length ?? 0;
    if (n < 1) throw new Error(`INGEST_QUERIES_TOPIC: topic ${topic} has no partitions`);
    return n;
  } catch (e) {
    throw new Error(
      `INGEST_BATCH_PER=partition: cannot read the partitions of ${topic} (INGEST_QUERIES_TOPIC): ${e instanceof Error ? e.message : String(e)}`,
      { cause: e },
    );
  } finally {
    await admin.disconnect();
  }
}
