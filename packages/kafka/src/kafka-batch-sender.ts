import { type Message, type Producer } from 'kafkajs';

export interface BatchSenderOptions {
  topic: string;
  /** Bound on messages waiting to be sent: above it the sender reports congestion. */
  maxQueued: number;
  /** Bound on their bytes (in flight included), checked as well when set. */
  maxQueuedBytes?: number;
  /** Cap per produce request, below the broker's default message.max.bytes (1 MiB). */
  maxRequestBytes?: number;
  /**
   * Produce requests in flight (default 1: each zone's batches stay in order even across
   * retries; 2 measured no faster on the 2-core benchmark box, where the broker shares the CPU).
   */
  maxInFlight?: number;
  onLost?: (messages: number, error: unknown) => void;
  onSent?: (messages: number) => void;
  /**
   * How long a request that keeps failing on retriable errors (broker down or restarting,
   * leader election) is retried before its messages are counted lost (default 120 s). The
   * messages stay queued meanwhile, so the queue's bound pushes back on the producer.
   */
  retryForMs?: number;
  /** Called once per outage when a request failed retriably and is being retried. */
  onRetrying?: (messages: number, error: unknown) => void;
}

/** kafkajs gave up on an error that may pass: out of retries, or a retriable root cause. */
function retriable(error: unknown): boolean {
  if (error instanceof Error && error.name === 'KafkaJSNumberOfRetriesExceeded') return true;
  let e: unknown = error;
  for (let depth = 0; e instanceof Error && depth < 10; depth++) {
    if ((e as { retriable?: unknown }).retriable === true) return true;
    e = e.cause;
  }
  return false;
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
  private inFlightBytes = 0;
  private waiters: (() => void)[] = [];
  private idleWaiters: (() => void)[] = [];
  sent = 0;
  lost = 0;
  /** Requests re-sent after kafkajs gave up on a retriable error. */
  resent = 0;
  /** Since when requests keep failing retriably (null: the last one succeeded). */
  private failingSince: number | null = null;
  /** Since when requests have been outstanding without an acknowledgement (null: idle or moving). */
  private waitingSince: number | null = null;
  private retryTimer: NodeJS.Timeout | null = null;

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

  /** Bytes not yet acknowledged (waiting or in flight). */
  get bytesPending(): number {
    return this.queuedBytes + this.inFlightBytes;
  }

  get congested(): boolean {
    return (
      this.queued >= this.options.maxQueued ||
      (this.options.maxQueuedBytes !== undefined &&
        this.bytesPending >= this.options.maxQueuedBytes)
    );
  }

  enqueue(message: Message): void {
    this.queue.push(message);
    this.queuedBytes += sizeOf(message);
    if (this.inFlightRequests < (this.options.maxInFlight ?? 1)) this.pump();
  }

  /**
   * How long Kafka has acknowledged nothing while messages were outstanding (0 when idle or
   * moving): a broker that is down or stopped shows here seconds before kafkajs gives up a request.
   */
  get stalledMs(): number {
    return this.waitingSince === null ? 0 : Date.now() - this.waitingSince;
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
    if (this.retryTimer !== null) return;
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
    this.waitingSince ??= Date.now();
    this.inFlightRequests++;
    this.inFlightMessages += n;
    this.inFlightBytes += bytes;
    let backoff = 0;
    void this.producer
      .send({ topic: this.options.topic, messages, acks: -1 })
      .then(
        () => {
          this.failingSince = null;
          this.waitingSince = Date.now();
          this.sent += n;
          this.options.onSent?.(n);
        },
        (error: unknown) => {
          const now = Date.now();
          if (this.failingSince === null && retriable(error)) {
            this.failingSince = now;
            this.options.onRetrying?.(n, error);
          }
          if (
            this.failingSince !== null &&
            retriable(error) &&
            now - this.failingSince < (this.options.retryForMs ?? 120_000)
          ) {
            // A broker restart outlasts kafkajs' own retries (~6 s): keep the messages, at the
            // head of the queue so each key's order holds, and try again shortly.
            this.resent++;
            this.queue.unshift(...messages);
            this.queuedBytes += bytes;
            backoff = 1000;
            return;
          }
          this.failingSince = null;
          this.lost += n;
          this.options.onLost?.(n, error);
        },
      )
      .finally(() => {
        this.inFlightRequests--;
        this.inFlightMessages -= n;
        this.inFlightBytes -= bytes;
        if (this.inFlightRequests === 0 && this.queue.length === 0) this.waitingSince = null;
        if (!this.congested) for (const w of this.waiters.splice(0)) w();
        if (backoff > 0 && this.retryTimer === null) {
          this.retryTimer = setTimeout(() => {
            this.retryTimer = null;
            this.pump();
          }, backoff);
        } else this.pump();
      });
  }
}

function sizeOf(m: Message): number {
  const v = m.value;
  const k = m.key;
  // Bytes, not UTF-16 units: a string value is written as UTF-8 (a request must stay under the cap).
  return (
    (v ? (typeof v === 'string' ? Buffer.byteLength(v) : v.length) : 0) + (k ? k.length : 0) + 64
  );
}
