import { encodeMessage, blocklistEntrySchema, type BlocklistEntry } from '@sluice/contracts';
import { type BatchingProducer } from '@sluice/kafka';
import { type BlocklistSink } from '../reputation.pipeline';

/** sluice.blocklist.v1: keyed by entry id (compacted); a null value is the tombstone. */
export class BlocklistPublisher implements BlocklistSink {
  readonly name = 'kafka';

  constructor(
    private readonly producer: BatchingProducer,
    private readonly topic: string,
  ) {}

  async changed(upserts: readonly BlocklistEntry[], removed: readonly string[]): Promise<void> {
    if (upserts.length === 0 && removed.length === 0) return;
    await this.producer.send(this.topic, [
      ...upserts.map((e) => ({ key: e.id, value: encodeMessage(blocklistEntrySchema, e) })),
      ...removed.map((id) => ({ key: id, value: null })),
    ]);
    // Acknowledged before the batch's offsets are committed: at-least-once end to end.
    await this.producer.flush();
  }
}
