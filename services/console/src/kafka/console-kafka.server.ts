import { type KafkaOptions, ServerKafka } from '@nestjs/microservices';

type Consumer = Parameters<ServerKafka['bindEvents']>[0];

export interface HistoryOptions {
  /** Topics rebuilt from this wall-clock time (Kafka timestamps) at start. */
  sinceTopics: string[];
  sinceMs: number;
  /** Topics read from their start (the compacted blocklist: its whole current state). */
  fromStartTopics: string[];
}

/**
 * Nest's Kafka transport, plus one thing the console needs at start: its view is in memory, so it
 * seeks back — the history topics to a point in time, the compacted blocklist to its beginning —
 * instead of resuming from committed offsets. The offsets are looked up before `run` and the
 * seeks are queued right after it: kafkajs applies queued seeks before its first fetch.
 */
export class ConsoleKafkaServer extends ServerKafka {
  private consumerReady = false;

  constructor(
    options: Required<KafkaOptions>['options'],
    private readonly history: HistoryOptions,
  ) {
    super(options);
  }

  get ready(): boolean {
    return this.consumerReady;
  }

  override async bindEvents(consumer: Consumer): Promise<void> {
    const seeks = await this.historyOffsets();
    consumer.on(consumer.events.GROUP_JOIN, () => (this.consumerReady = true));
    consumer.on(consumer.events.CRASH, () => (this.consumerReady = false));
    consumer.on(consumer.events.STOP, () => (this.consumerReady = false));
    await super.bindEvents(consumer);
    for (const s of seeks) consumer.seek(s);
  }

  override async close(): Promise<void> {
    this.consumerReady = false;
    await super.close();
  }

  private async historyOffsets(): Promise<
    Array<{ topic: string; partition: number; offset: string }>
  > {
    if (!this.client) throw new Error('Kafka client not created yet');
    const admin = this.client.admin();
    await admin.connect();
    try {
      const out: Array<{ topic: string; partition: number; offset: string }> = [];
      for (const topic of this.history.fromStartTopics)
        for (const p of await admin.fetchTopicOffsets(topic))
          out.push({ topic, partition: p.partition, offset: p.low });
      for (const topic of this.history.sinceTopics)
        for (const p of await admin.fetchTopicOffsetsByTimestamp(topic, this.history.sinceMs))
          out.push({ topic, partition: p.partition, offset: p.offset });
      return out;
    } finally {
      await admin.disconnect();
    }
  }
}
