import { deadLetterSchema, encodeMessage, type QueryEvent } from '@sluice/contracts';
import { type Producer } from 'kafkajs';
import { DeadLetterSampler } from '../core/dead-letter-sampler';
import { QueryBatcher, type EncodedBatch } from '../core/query-batcher';
import { type IngestSink } from '../core/sources';
import { type IngestMetrics } from '../metrics/ingest.metrics';
import { KafkaBatchSender } from '@sluice/kafka';

export interface PublisherOptions {
  queriesTopic: string;
  deadLetterTopic: string;
  batchEvents: number;
  lingerMs: number;
  maxBufferedBatches: number;
  deadLetterSampleRate: number;
}

export interface PublisherLog {
  error(obj: object, msg: string): void;
}

/**
 * The Kafka side of every source: records → per-zone batches → sluice.queries.v1 (key = zone);
 * malformed input → counted by reason, sampled to sluice.deadletter.v1.
 *
 * Backpressure: when `congested`, stream readers (dnstap sockets, file replay) pause until
 * `whenUncongested()`; the UDP mirror, which cannot pause a sender, drops and counts
 * (sluice_ingest_dropped_total{reason="backpressure"}). Memory is bounded by
 * maxBufferedBatches × batchEvents records plus the open batches (≤ 40 × batchEvents).
 */
export class QueryPublisher implements IngestSink {
  private readonly batcher: QueryBatcher;
  private readonly queries: KafkaBatchSender;
  private readonly deadLetters: KafkaBatchSender;
  private readonly sampler: DeadLetterSampler;
  private linger: NodeJS.Timeout | null = null;
  /** Last event time seen: dead letters carry the traffic's time when there is one. */
  private lastTs = 0;
  private readonly recordCounters = new Map<string, { inc(n?: number): void }>();
  records = 0;
  malformedCount = 0;

  constructor(
    producer: Producer,
    private readonly options: PublisherOptions,
    private readonly metrics: IngestMetrics,
    private readonly log?: PublisherLog,
  ) {
    this.batcher = new QueryBatcher(
      (b) => this.publish(b),
      options.batchEvents,
      options.batchEvents * 40,
    );
    this.queries = new KafkaBatchSender(producer, {
      topic: options.queriesTopic,
      maxQueued: options.maxBufferedBatches,
      onSent: (n) => metrics.batches.inc(n),
      onLost: (n, error) => {
        metrics.publishFailures.inc(n);
        this.log?.error(
          { err: error, batches: n },
          'Kafka did not acknowledge query batches; they are lost',
        );
      },
    });
    this.deadLetters = new KafkaBatchSender(producer, {
      topic: options.deadLetterTopic,
      maxQueued: 1000,
      onLost: (n, error) => {
        metrics.publishFailures.inc(n);
        this.log?.error({ err: error, deadLetters: n }, 'Kafka did not acknowledge dead letters');
      },
    });
    this.sampler = new DeadLetterSampler(options.deadLetterSampleRate);
  }

  get congested(): boolean {
    return this.queries.congested;
  }

  get lostBatches(): number {
    return this.queries.lost;
  }

  whenUncongested(): Promise<void> {
    return this.queries.whenUncongested();
  }

  record(event: QueryEvent, source: string): void {
    this.records++;
    this.lastTs = event.ts;
    this.batcher.add(event, source);
    if (this.linger === null && this.batcher.heldEvents > 0) {
      this.linger = setTimeout(() => {
        this.linger = null;
        this.batcher.drain();
      }, this.options.lingerMs);
    }
  }

  malformed(reason: string, raw: Buffer, detail: string, source: string): void {
    this.malformedCount++;
    this.metrics.malformed.inc({ reason });
    const letter = this.sampler.sample(reason, raw, detail, source, this.lastTs || Date.now());
    if (!letter) return;
    if (this.deadLetters.congested) return; // samples are best effort; the counter above is exact
    this.metrics.deadLetters.inc();
    this.deadLetters.enqueue({ key: reason, value: encodeMessage(deadLetterSchema, letter) });
  }

  /** Send every open batch and wait until Kafka acknowledged everything. */
  async flush(): Promise<void> {
    if (this.linger !== null) {
      clearTimeout(this.linger);
      this.linger = null;
    }
    this.batcher.drain();
    await Promise.all([this.queries.flush(), this.deadLetters.flush()]);
  }

  private publish(batch: EncodedBatch): void {
    // Counted per batch: a prom-client inc() per record costs more than decoding the record.
    let counter = this.recordCounters.get(batch.source);
    if (!counter) {
      counter = this.metrics.records.labels({ source: sourceKind(batch.source) });
      if (this.recordCounters.size < 1000) this.recordCounters.set(batch.source, counter);
    }
    counter.inc(batch.events);
    this.queries.enqueue({ key: batch.zone, value: batch.value });
    this.metrics.bufferedBatches.set(this.queries.queued);
  }
}

/** Low-cardinality label: the listener kind, not each sender's identity. */
function sourceKind(source: string): string {
  const i = source.indexOf(':');
  return i < 0 ? source : source.slice(0, i);
}
