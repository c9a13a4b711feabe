import { QueryBatchBuilder, type QueryEvent } from '@sluice/contracts';

/** Encoded size at which a batch closes early: a quarter of Kafka's default message.max.bytes. */
export const MAX_BATCH_BYTES = 256 * 1024;

const MAX_SPARE_BUILDERS = 64;

/** One sluice.queries.v1 message, already encoded (see encodeQueryBatch). */
export interface EncodedBatch {
  zone: string;
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
  ) {}

  get heldEvents(): number {
    return this.held;
  }

  add(event: QueryEvent, source: string): void {
    let zones = this.open.get(source);
    if (!zones) {
      zones = new Map();
      this.open.set(source, zones);
    }
    let builder = zones.get(event.zone);
    if (!builder) {
      builder = this.spare.pop();
      if (builder) builder.reset(source, event.zone);
      else builder = new QueryBatchBuilder(source, event.zone);
      zones.set(event.zone, builder);
    }
    builder.add(event);
    this.held++;
    if (builder.count >= this.maxEvents || builder.byteLength >= this.maxBytes) {
      zones.delete(event.zone);
      this.held -= builder.count;
      this.emit(builder);
    } else if (this.held >= this.maxOpenEvents) {
      this.drain();
    }
  }

  /** Close every open batch (linger expired, end of input). */
  drain(): void {
    const builders = [...this.open.values()].flatMap((zones) => [...zones.values()]);
    this.open.clear();
    this.held = 0;
    for (const b of builders) this.emit(b);
  }

  private emit(b: QueryBatchBuilder): void {
    this.onBatch({ zone: b.zone, source: b.source, events: b.count, value: b.finish() });
    // finish() copied the batch out: the builder's buffers are free for the next one.
    if (this.spare.length < MAX_SPARE_BUILDERS) this.spare.push(b);
  }
}
