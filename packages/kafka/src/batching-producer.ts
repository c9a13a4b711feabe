import { ErrorCodes, SluiceError } from '@sluice/contracts';
import { memoKeyPartitioner } from './key-partitioner';
import { type Kafka, type Message, type Producer } from 'kafkajs';
import { KafkaBatchSender } from './kafka-batch-sender';

export interface BatchingProducerOptions {
  /**
   * Bound on unacknowledged messages per topic (queued + in flight). `send` waits below it,
   * so a slow or absent broker pushes back on the caller instead of growing memory.
   */
  maxBufferedMessages?: number;
}

export interface OutgoingMessage {
  key: string | Buffer | null;
  value: Buffer | string | null;
  headers?: Message['headers'];
}

/**
 * Multi-topic producer over one KafkaBatchSender per topic: messages are sent as soon as a
 * request slot is free and accumulate into the next request while one is in flight, so
 * batching adapts to the broker's pace with no linger timer. At-least-once (acks=all).
 * A send kafkajs gave up on is surfaced by the next send()/flush(), never dropped silently.
 */
export class BatchingProducer {
  private readonly producer: Producer;
  private readonly senders = new Map<string, KafkaBatchSender>();
  private readonly maxBuffered: number;
  private failure: unknown = null;

  constructor(kafka: Kafka, options: BatchingProducerOptions = {}) {
    // The Java-compatible (murmur2) partitioner: a zone lands on the same partition whichever client wrote it.
    this.producer = kafka.producer({
      allowAutoTopicCreation: false,
      createPartitioner: memoKeyPartitioner,
    });
    this.maxBuffered = options.maxBufferedMessages ?? 10_000;
  }

  async connect(): Promise<void> {
    await this.producer.connect();
  }

  /** Messages acknowledged by the broker so far. */
  get sentMessages(): number {
    let sent = 0;
    for (const s of this.senders.values()) sent += s.sent;
    return sent;
  }

  /** Messages not yet acknowledged, across topics. */
  get bufferedMessages(): number {
    let queued = 0;
    for (const s of this.senders.values()) queued += s.queued;
    return queued;
  }

  /** Queue messages; resolves once they are queued and the topic's queue is below its bound. */
  async send(topic: string, messages: readonly OutgoingMessage[]): Promise<void> {
    this.throwIfFailed();
    const sender = this.senderFor(topic);
    for (const m of messages) sender.enqueue(m as Message);
    await sender.whenUncongested();
  }

  /** Wait until everything sent so far was acknowledged (or failed: then throws). */
  async flush(): Promise<void> {
    await Promise.all([...this.senders.values()].map((s) => s.flush()));
    this.throwIfFailed();
  }

  async disconnect(): Promise<void> {
    try {
      await this.flush();
    } finally {
      await this.producer.disconnect();
    }
  }

  private senderFor(topic: string): KafkaBatchSender {
    let sender = this.senders.get(topic);
    if (!sender) {
      sender = new KafkaBatchSender(this.producer, {
        topic,
        maxQueued: this.maxBuffered,
        onLost: (_count, error) => {
          this.failure ??= error;
        },
      });
      this.senders.set(topic, sender);
    }
    return sender;
  }

  private throwIfFailed(): void {
    if (this.failure === null) return;
    const cause = this.failure;
    this.failure = null;
    throw new SluiceError(
      ErrorCodes.kafka,
      `an earlier send failed after retries; those messages were not acknowledged: ${cause instanceof Error ? cause.message : 'unknown error'}`,
      { cause },
    );
  }
}
