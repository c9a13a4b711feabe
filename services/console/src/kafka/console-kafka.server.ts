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
 * seeks are queued when the consumer first joins its group: kafkajs applies them before its
 * first fetch.
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
    let seeks = await this.historyOffsets();
    // The seeks go in at the first join, not right after run(): on a broker that has just started
    // the first join can crash and kafkajs restart the consumer, and a seek before a group exists
    // throws ("Consumer group was not initialized") and killed the console at boot. Queued in the
    // join event, they are applied before the first fetch.
    consumer.on(consumer.events.GROUP_JOIN, () => {
      this.consumerReady = true;
      const now = seeks;
      seeks = [];
      for (const s of now) consumer.seek(s);
    });
    consumer.on(consumer.events.CRASH, () => (this.consumerReady = false));
    consumer.on(consumer.events.STOP, () => (this.consumerReady = false));
    await super.bindEvents(consumer);
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
