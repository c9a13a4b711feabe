import { ErrorCodes, SluiceError } from '@sluice/contracts';
import { CompressionTypes, Partitioners, type Kafka, type Message, type Producer } from 'kafkajs';

export interface BatchingProducerOptions {
  /** Flush when this many messages are buffered. */
  maxBatchMessages?: number;
  /** Flush at most this long after the first buffered message. */
  lingerMs?: number;
  /**
   * Bound on buffered messages. `send` awaits a flush once it is reached, so a slow or
   * absent broker pushes back on the caller instead of growing memory without limit.
   */
  maxBufferedMessages?: number;
  compression?: CompressionTypes;
}

export interface OutgoingMessage {
  key: string | Buffer | null;
  value: Buffer | string | null;
  headers?: Message['headers'];
}

/**
 * Buffers messages per topic and sends them with one `sendBatch` per flush. Delivery is
 * at-least-once (acks=all, idempotent producer off because kafkajs' idempotence is experimental).
 */
export class BatchingProducer {
  private readonly producer: Producer;
  private buffer = new Map<string, Message[]>();
  private buffered = 0;
  private timer: NodeJS.Timeout | null = null;
  private inflight: Promise<void> = Promise.resolve();
  private lastError: unknown = null;
  private readonly maxBatch: number;
  private readonly lingerMs: number;
  private readonly maxBuffered: number;
  private readonly compression: CompressionTypes;
  sentMessages = 0;

  constructor(kafka: Kafka, options: BatchingProducerOptions = {}) {
    // The Java-compatible (murmur2) partitioner: a zone lands on the same partition whichever client wrote it.
    this.producer = kafka.producer({
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    this.maxBatch = options.maxBatchMessages ?? 500;
    this.lingerMs = options.lingerMs ?? 20;
    this.maxBuffered = options.maxBufferedMessages ?? 10_000;
    this.compression = options.compression ?? CompressionTypes.None;
  }

  async connect(): Promise<void> {
    await this.producer.connect();
  }

  get bufferedMessages(): number {
    return this.buffered;
  }

  /** Queue messages; resolves once they are buffered (awaits a flush when the buffer is full). */
  async send(topic: string, messages: readonly OutgoingMessage[]): Promise<void> {
    this.throwIfFailed();
    let list = this.buffer.get(topic);
    if (!list) this.buffer.set(topic, (list = []));
    for (const m of messages) list.push(m as Message);
    this.buffered += messages.length;
    if (this.buffered >= this.maxBuffered) {
      await this.flush();
    } else if (this.buffered >= this.maxBatch) {
      void this.flushInBackground();
    } else if (this.timer === null) {
      this.timer = setTimeout(() => void this.flushInBackground(), this.lingerMs);
    }
  }

  /** Send everything buffered and wait until the broker acknowledged it. */
  async flush(): Promise<void> {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const batch = this.buffer;
    const count = this.buffered;
    this.buffer = new Map();
    this.buffered = 0;
    // Chain sends so messages of one key keep their order across flushes.
    const previous = this.inflight;
    const next = previous.then(async () => {
      if (count === 0) return;
      await this.producer.sendBatch({
        acks: -1,
        compression: this.compression,
        topicMessages: [...batch].map(([topic, messages]) => ({ topic, messages })),
      });
      this.sentMessages += count;
    });
    this.inflight = next.catch((err: unknown) => {
      this.lastError = err;
    });
    await next;
  }

  async disconnect(): Promise<void> {
    try {
      await this.flush();
    } finally {
      await this.producer.disconnect();
    }
  }

  private async flushInBackground(): Promise<void> {
    try {
      await this.flush();
    } catch {
      // recorded in lastError by flush(); surfaced on the next send()
    }
  }

  private throwIfFailed(): void {
    if (this.lastError !== null) {
      const cause = this.lastError;
      this.lastError = null;
      throw new SluiceError(
        ErrorCodes.kafka,
        `an earlier background send failed; those messages were not acknowledged: ${cause instanceof Error ? cause.message : 'unknown error'}`,
        { cause },
      );
    }
  }
}
