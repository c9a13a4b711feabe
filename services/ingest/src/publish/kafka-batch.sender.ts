import { type Message, type Producer } from 'kafkajs';

export interface BatchSenderOptions {
  topic: string;
  /** Bound on messages waiting to be sent: above it the sender reports congestion. */
  maxQueued: number;
  /** Cap per produce request, below the broker's default message.max.bytes (1 MiB). */
  maxRequestBytes?: number;
  onLost?: (messages: number, error: unknown) => void;
  onSent?: (messages: number) => void;
}

/**
 * One topic's outgoing queue with exact accounting: a message leaves the queue when the broker
 * acknowledged it (acks=all) or when kafkajs gave up retrying (then onLost counts it). One
 * request in flight keeps each zone's batches in order. Unlike a fire-and-forget buffer, the
 * queue length is the real amount of unacknowledged data, so `congested` is a true bound that
 * readers can wait on.
 */
export class KafkaBatchSender {
  private queue: Message[] = [];
  private queuedBytes = 0;
  private inflight: Promise<void> | null = null;
  private waiters: (() => void)[] = [];
  private idleWaiters: (() => void)[] = [];
  sent = 0;
  lost = 0;

  constructor(
    private readonly producer: Producer,
    private readonly options: BatchSenderOptions,
  ) {}

  get queued(): number {
    return this.queue.length;
  }

  get bytesQueued(): number {
    return this.queuedBytes;
  }

  get congested(): boolean {
    return this.queue.length >= this.options.maxQueued;
  }

  enqueue(message: Message): void {
    this.queue.push(message);
    this.queuedBytes += sizeOf(message);
    if (this.inflight === null) this.pump();
  }

  /** Resolves once the queue is below its bound. */
  whenUncongested(): Promise<void> {
    if (!this.congested) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Resolves once everything enqueued so far was acknowledged or counted lost. */
  flush(): Promise<void> {
    if (this.queue.length === 0 && this.inflight === null) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    if (this.queue.length === 0) {
      for (const w of this.idleWaiters.splice(0)) w();
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
    const messages = this.queue.slice(0, n);
    this.inflight = this.producer
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
        this.queue.splice(0, n);
        this.queuedBytes -= bytes;
        this.inflight = null;
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
