import { kafkaConfigFrom } from '@sluice/config';
import { createKafka } from '@sluice/kafka';
import { Partitioners } from 'kafkajs';
import { Registry } from 'prom-client';
import { type IngestConfig } from '../config/ingest.config';
import { IngestMetrics } from '../metrics/ingest.metrics';
import { QueryPublisher, type PublisherLog } from './query.publisher';

export interface OpenPublisher {
  publisher: QueryPublisher;
  metrics: IngestMetrics;
  registry: Registry;
  /** Flush, wait for every acknowledgement, disconnect. */
  close(): Promise<void>;
}

/** A connected QueryPublisher outside Nest (CLI replay, benchmark, tests). */
export async function openPublisher(
  config: IngestConfig,
  clientId = 'sluice-ingest',
  log?: PublisherLog,
): Promise<OpenPublisher> {
  const kafka = createKafka(kafkaConfigFrom(config, clientId));
  const producer = kafka.producer({
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  const registry = new Registry();
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
    },
    metrics,
    log,
  );
  return {
    publisher,
    metrics,
    registry,
    async close() {
      try {
        await publisher.flush();
      } finally {
        await producer.disconnect();
      }
    },
  };
}
