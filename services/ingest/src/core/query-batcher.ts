import { hotZoneKey, hotZoneShard, QueryBatchBuilder, type QueryEvent } from '@sluice/contracts';

/** Encoded size at which a batch closes early: a quarter of Kafka's default message.max.bytes. */
export const MAX_BATCH_BYTES = 256 * 1024;

const MAX_SPARE_BUILDERS = 64;

/** One sluice.queries.v1 message, already encoded (see encodeQueryBatch). */
export interface EncodedBatch {
  /** The batch's zone: its first row's (rows of other zones carry their own). */
  zone: string;
  /** The Kafka key: the zone, or `zone#shard` for a hot zone (then `hot` is true). */
  key: string;
  hot: boolean;
  /** Set for a partition's batch (several zones): the partition every one of its zones maps to. */
  partition?: number;
  source: string;
  events: number;
  value: Buffer;
}

/**
 * Groups records into one batch per (zone, source): the batch is the Kafka message and the
 * zone its key, so a detector instance receives every query of the zones it owns. With
 * `partitionOf` (the queries topic's key → partition), one batch per (partition, source)
 * instead: every zone of a batch maps to its partition, each row names its zone, and the
 * detectors receive exactly what they did. A platform serves thousands of zones; per zone, each
 * one queried in a linger interval was a message of its own (a 2000-zone capture: 8 queries
 * per message, against 650 with 20 zones; docs/benchmarks/e2e.md). Records are
 * encoded as they arrive (QueryBatchBuilder), so none is kept alive for the life of a batch. A
 * batch closes at `maxEvents` or at `maxBytes` encoded (long names from many resolvers must not
 * approach the broker's 1 MiB message.max.bytes); when the records in all open batches exceed
 * `maxOpenEvents` (many small zones), every batch closes, so memory stays bounded.
 */
export class QueryBatcher {
  /**
   * source → key → open batch (two lookups beat building a compound key per record). The key is
   * the zone, a hot zone's `zone#shard`, or a partition's number (a Map tells 3 from '3').
   */
  private readonly open = new Map<string, Map<string | number, QueryBatchBuilder>>();
  private held = 0;
  /** Finished builders kept for reuse (their buffers have grown to a batch's size). */
  private readonly spare: QueryBatchBuilder[] = [];

  constructor(
    private readonly onBatch: (batch: EncodedBatch) => void,
    private readonly maxEvents = 2000,
    private readonly maxOpenEvents = 80_000,
    private readonly maxBytes = MAX_BATCH_BYTES,
    /**
     * Hot zones (zone → K): their batches are cut per shard of the name (hotZoneShard), keyed
     * `zone#shard`, for the detector's shard stages. Null or empty: one batch per zone.
     */
    hotZones: ReadonlyMap<string, number> | null = null,
    /** The queries topic's partition for a zone: batch per partition. Null: per zone. */
    private readonly partitionOf: ((zone: string) => number) | null = null,
  ) {
    this.hot = hotZones !== null && hotZones.size > 0 ? hotZones : null;
  }

  private readonly hot: ReadonlyMap<string, number> | null;

  get heldEvents(): number {
    return this.held;
  }

  add(event: QueryEvent, source: string): void {
    let zones = this.open.get(source);
    if (!zones) {
      zones = new Map();
      this.open.set(source, zones);
    }
    let key: string | number = event.zone;
    const k = this.hot === null ? undefined : this.hot.get(event.zone);
    if (k !== undefined) key = hotZoneKey(event.zone, hotZoneShard(event.qname, event.zone, k));
    else if (this.partitionOf !== null) key = this.partitionOf(event.zone);
    let builder = zones.get(key);
    if (!builder) {
      builder = this.spare.pop();
      if (builder) builder.reset(source, event.zone);
      else builder = new QueryBatchBuilder(source, event.zone);
      zones.set(key, builder);
    }
    builder.add(event);
    this.held++;
    if (builder.count >= this.maxEvents || builder.byteLength >= this.maxBytes) {
      zones.delete(key);
      this.held -= builder.count;
      this.emit(builder, key);
    } else if (this.held >= this.maxOpenEvents) {
      this.drain();
    }
  }

  /** Close every open batch (linger expired, end of input). */
  drain(): void {
    const builders = [...this.open.values()].flatMap((zones) => [...zones]);
    this.open.clear();
    this.held = 0;
    for (const [key, b] of builders) this.emit(b, key);
  }

  private emit(b: QueryBatchBuilder, key: string | number): void {
    const partition = typeof key === 'number';
    this.onBatch({
      zone: b.zone,
      key: partition ? b.zone : key,
      hot: !partition && key !== b.zone,
      ...(partition ? { partition: key } : {}),
      source: b.source,
      events: b.count,
      value: b.finish(),
    });
    // finish() copied the batch out: the builder's buffers are free for the next one.
    if (this.spare.length < MAX_SPARE_BUILDERS) this.spare.push(b);
  }
}
