import { type Message, type Producer } from 'kafkajs';

export interface BatchSenderOptions {
  topic: string;
  /** Bound on messages waiting to be sent: above it the sender reports congestion. */
  maxQueued: number;
  /** Cap per produce request, below the broker's default message.max.bytes (1 MiB). */
  maxRequestBytes?: number;
  /**
   * Produce requests in flight (default 1: each zone's batches stay in order even across
   * retries; 2 measured no faster on the 2-core benchmark box, where the broker shares the CPU).
   */
  maxInFlight?: number;
  onLost?: (messages: number, error: unknown) => void;
  onSent?: (messages: number) => void;
}

/**
 * One topic's outgoing queue with exact accounting: a message leaves the queue when the broker
 * acknowledged it (acks=all) or when kafkajs gave up retrying (then onLost counts it). Unlike a fire-and-forget buffer, the
 * queue length is the real amount of unacknowledged data, so `congested` is a true bound that
 * readers can wait on.
 */
export class KafkaBatchSender {
  private queue: Message[] = [];
  private queuedBytes = 0;
  private inFlightRequests = 0;
  private inFlightMessages = 0;
  private waiters: (() => void)[] = [];
  private idleWaiters: (() => void)[] = [];
  sent = 0;
  lost = 0;

  constructor(
    private readonly producer: Producer,
    private readonly options: BatchSenderOptions,
  ) {}

  /** Messages not yet acknowledged (waiting or in flight). */
  get queued(): number {
    return this.queue.length + this.inFlightMessages;
  }

  get bytesQueued(): number {
    return this.queuedBytes;
  }

  get congested(): boolean {
    return this.queued >= this.options.maxQueued;
  }

  enqueue(message: Message): void {
    this.queue.push(message);
    this.queuedBytes += sizeOf(message);
    if (this.inFlightRequests < (this.options.maxInFlight ?? 1)) this.pump();
  }

  /** Resolves once the queue is below its bound. */
  whenUncongested(): Promise<void> {
    if (!this.congested) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Resolves once everything enqueued so far was acknowledged or counted lost. */
  flush(): Promise<void> {
    if (this.queued === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    if (this.queue.length === 0) {
      if (this.inFlightRequests === 0) for (const w of this.idleWaiters.splice(0)) w();
      return;
    }
    const max = this.options.maxRequestBytes ?? 900 * 1024;
    let bytes = 0;
    let n = 0;
    while (n < this.queue.length) {
      const size = sizeOf(this.queue[n]!);
      if (n > 0 && bytes + size > max) break;
      bytes += size;
      n++;
    }
    const messages = this.queue.splice(0, n);
    this.queuedBytes -= bytes;
    this.inFlightRequests++;
    this.inFlightMessages += n;
    void this.producer
      .send({ topic: this.options.topic, messages, acks: -1 })
      .then(
        () => {
          this.sent += n;
          this.options.onSent?.(n);
        },
        (error: unknown) => {
          this.lost += n;
          this.options.onLost?.(n, error);
        },
      )
      .finally(() => {
        this.inFlightRequests--;
        this.inFlightMessages -= n;
        if (!this.congested) for (const w of this.waiters.splice(0)) w();
        this.pump();
      });
  }
}

function sizeOf(m: Message): number {
  const v = m.value;
  const k = m.key;
  return (v ? (typeof v === 'string' ? v.length : v.length) : 0) + (k ? k.length : 0) + 64;
}
