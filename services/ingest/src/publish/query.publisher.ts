import { deadLetterSchema, encodeMessage, Topics, type QueryEvent } from '@sluice/contracts';
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
  /** The queue's bound in bytes (encoded batches awaiting acknowledgement, in flight included). */
  maxBufferedBytes?: number;
  deadLetterSampleRate: number;
  /**
   * Hot zones (zone → K shards, INGEST_HOT_ZONES) and their topic: their batches are cut per
   * shard and published there keyed `zone#shard`, for the detector's shard stages.
   */
  hotZones?: ReadonlyMap<string, number>;
  hotQueriesTopic?: string;
  /**
   * The queries topic's partition for a zone (keyPartitionOf over its partition count): one
   * batch per partition, sent to that partition. Absent: one batch per zone, keyed by it.
   */
  partitionOf?: (zone: string) => number;
}

/** No acknowledgement for this long while batches are outstanding: Kafka is not taking any. */
const STALLED_MS = 1000;

export interface PublisherLog {
  error(obj: object, msg: string): void;
}

/**
 * The Kafka side of every source: records → per-partition batches (or per-zone) →
 * sluice.queries.v1 (each zone on the partition its key maps to),
 * a hot zone's per shard → sluice.hot-queries.v1 (key = zone#shard);
 * malformed input → counted by reason, sampled to sluice.deadletter.v1.
 *
 * The queue is bounded (maxBufferedBatches, maxBufferedBytes); at the bound it is `congested`
 * and each source follows its policy: live sources (dnstap sockets, the UDP mirror) drop their
 * input and count it (sluice_ingest_dropped_total{reason="queue-full"}) — a nameserver's dnstap
 * sender must never be made to wait on Kafka — and a replay waits for `whenUncongested()` and
 * loses nothing. Memory is bounded by the queue's bound plus the open batches (≤ 40 × batchEvents
 * records), since a source only adds to the queue while it is below the bound.
 */
export class QueryPublisher implements IngestSink {
  private readonly batcher: QueryBatcher;
  private readonly queries: KafkaBatchSender;
  /** Hot zones' batches (null when none are configured). */
  private readonly hot: KafkaBatchSender | null;
  private readonly deadLetters: KafkaBatchSender;
  private readonly sampler: DeadLetterSampler;
  private linger: NodeJS.Timeout | null = null;
  /** Last event time seen: dead letters carry the traffic's time when there is one. */
  private lastTs = 0;
  private readonly recordCounters = new Map<string, { inc(n?: number): void }>();
  records = 0;
  malformedCount = 0;
  /** Highest bufferedBytes seen (the bound's proof in tests and the overload figures). */
  peakBufferedBytes = 0;

  constructor(
    producer: Producer,
    private readonly options: PublisherOptions,
    private readonly metrics: IngestMetrics,
    private readonly log?: PublisherLog,
  ) {
    const hotZones = options.hotZones?.size ? options.hotZones : null;
    this.batcher = new QueryBatcher(
      (b) => this.publish(b),
      options.batchEvents,
      options.batchEvents * 40,
      undefined,
      hotZones,
      options.partitionOf ?? null,
    );
    const sender = (topic: string) =>
      new KafkaBatchSender(producer, {
        topic,
        maxQueued: options.maxBufferedBatches,
        maxQueuedBytes: options.maxBufferedBytes,
        onSent: (n) => {
          metrics.batches.inc(n);
          this.updateGauges();
        },
        onLost: (n, error) => {
          metrics.publishFailures.inc(n);
          this.updateGauges();
          this.log?.error(
            { err: error, batches: n, topic },
            'Kafka did not acknowledge query batches; they are lost',
          );
        },
      });
    this.hot = hotZones ? sender(options.hotQueriesTopic ?? Topics.hotQueries) : null;
    this.queries = sender(options.queriesTopic);
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
    return this.queries.congested || (this.hot?.congested ?? false);
  }

  get lostBatches(): number {
    return this.queries.lost + (this.hot?.lost ?? 0);
  }

  /** Encoded bytes not yet acknowledged by Kafka. */
  get bufferedBytes(): number {
    return this.queries.bytesPending + (this.hot?.bytesPending ?? 0);
  }

  async whenUncongested(): Promise<void> {
    await this.queries.whenUncongested();
    await this.hot?.whenUncongested();
  }

  record(event: QueryEvent, source: string): void {
    this.records++;
    this.lastTs = event.ts;
    this.batcher.add(event, source);
    if (this.linger === null && this.batcher.heldEvents > 0) this.armLinger();
  }

  /**
   * Open batches close after lingerMs — unless Kafka has acknowledged nothing for STALLED_MS
   * (a broker down or restarting): then they fill up to batchEvents (or the batcher's open bound)
   * instead, since nothing is sent meanwhile anyway. The queue's bound counts batches, so batches
   * of 50 ms would fill it in seconds and dnstap would drop everything after; full batches hold
   * minutes of live traffic within the same byte bound (issue 14, broker killed during a live
   * dnstap stream).
   */
  private armLinger(): void {
    this.linger = setTimeout(() => {
      this.linger = null;
      if (this.queries.stalledMs < STALLED_MS) this.batcher.drain();
      else if (this.batcher.heldEvents > 0) this.armLinger();
    }, this.options.lingerMs);
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
    await Promise.all([this.queries.flush(), this.deadLetters.flush(), this.hot?.flush()]);
  }

  private publish(batch: EncodedBatch): void {
    // Counted per batch: a prom-client inc() per record costs more than decoding the record.
    let counter = this.recordCounters.get(batch.source);
    if (!counter) {
      counter = this.metrics.records.labels({ source: sourceKind(batch.source) });
      if (this.recordCounters.size < 1000) this.recordCounters.set(batch.source, counter);
    }
    counter.inc(batch.events);
    if (batch.hot && this.hot) this.hot.enqueue({ key: batch.key, value: batch.value });
    // A partition's batch names its partition; a zone's goes where its key maps.
    else this.queries.enqueue({ key: batch.zone, value: batch.value, partition: batch.partition });
    this.updateGauges();
  }

  private updateGauges(): void {
    const bytes = this.bufferedBytes;
    if (bytes > this.peakBufferedBytes) this.peakBufferedBytes = bytes;
    this.metrics.bufferedBatches.set(this.queries.queued + (this.hot?.queued ?? 0));
    this.metrics.bufferedBytes.set(bytes);
  }
}

/** Low-cardinality label: the listener kind, not each sender's identity. */
function sourceKind(source: string): string {
  const i = source.indexOf(':');
  return i < 0 ? source : source.slice(0, i);
}
