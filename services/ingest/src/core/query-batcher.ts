import { hotZoneKey, hotZoneShard, QueryBatchBuilder, type QueryEvent } from '@sluice/contracts';

/** Encoded size at which a batch closes early: a quarter of Kafka's default message.max.bytes. */
export const MAX_BATCH_BYTES = 256 * 1024;

const MAX_SPARE_BUILDERS = 64;

/** One sluice.queries.v1 message, already encoded (see encodeQueryBatch). */
export interface EncodedBatch {
  zone: string;
  /** The Kafka key: the zone, or `zone#shard` for a hot zone (then `hot` is true). */
  key: string;
  hot: boolean;
  source: string;
  events: number;
  value: Buffer;
}

/**
 * Groups records into one batch per (zone, source): the batch is the Kafka message and the
 * zone its key, so a detector instance receives every query of the zones it owns. Records are
 * encoded as they arrive (QueryBatchBuilder), so none is kept alive for the life of a batch. A
 * batch closes at `maxEvents` or at `maxBytes` encoded (long names from many resolvers must not
 * approach the broker's 1 MiB message.max.bytes); when the records in all open batches exceed
 * `maxOpenEvents` (many small zones), every batch closes, so memory stays bounded.
 */
export class QueryBatcher {
  /** source → zone → open batch (two lookups beat building a compound key per record). */
  private readonly open = new Map<string, Map<string, QueryBatchBuilder>>();
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
    let key = event.zone;
    if (this.hot !== null) {
      const k = this.hot.get(event.zone);
      if (k !== undefined) key = hotZoneKey(event.zone, hotZoneShard(event.qname, event.zone, k));
    }
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

  private emit(b: QueryBatchBuilder, key: string): void {
    this.onBatch({
      zone: b.zone,
      key,
      hot: key !== b.zone,
      source: b.source,
      events: b.count,
      value: b.finish(),
    });
    // finish() copied the batch out: the builder's buffers are free for the next one.
    if (this.spare.length < MAX_SPARE_BUILDERS) this.spare.push(b);
  }
}
