import { type QueryBatch, type QueryEvent } from '@sluice/contracts';

/**
 * Groups records into one QueryBatch per (zone, source): the batch is the Kafka message and
 * the zone its key, so a detector instance receives every query of the zones it owns. A
 * batch closes at `maxEvents`; when the records held across all open batches exceed
 * `maxOpenEvents` (many small zones), every batch closes, so memory stays bounded.
 */
export class QueryBatcher {
  private readonly open = new Map<string, QueryBatch>();
  private held = 0;

  constructor(
    private readonly onBatch: (batch: QueryBatch) => void,
    private readonly maxEvents = 500,
    private readonly maxOpenEvents = 20_000,
  ) {}

  get heldEvents(): number {
    return this.held;
  }

  add(event: QueryEvent, source: string): void {
    const key = `${event.zone}\u0000${source}`;
    let batch = this.open.get(key);
    if (!batch) {
      batch = { v: 1, source, zone: event.zone, events: [] };
      this.open.set(key, batch);
    }
    batch.events.push(event);
    this.held++;
    if (batch.events.length >= this.maxEvents) {
      this.open.delete(key);
      this.held -= batch.events.length;
      this.onBatch(batch);
    } else if (this.held >= this.maxOpenEvents) {
      this.drain();
    }
  }

  /** Close every open batch (linger expired, end of input). */
  drain(): void {
    const batches = [...this.open.values()];
    this.open.clear();
    this.held = 0;
    for (const b of batches) this.onBatch(b);
  }
}
