import { decodeEnrichedOffender, type EnrichedOffender } from '@sluice/contracts';
import { BatchConsumer, type ConsumerSupervision, type Kafka } from '@sluice/kafka';
import { type ReputationPipeline } from '../reputation.pipeline';

/** sluice.offenders.enriched.v1 → pipeline. Offsets commit only after Redis and Kafka writes. */
export class OffendersConsumer {
  private readonly consumer: BatchConsumer;

  constructor(
    kafka: Kafka,
    opts: { groupId: string; topic: string; fromBeginning?: boolean },
    pipeline: ReputationPipeline,
    onBad: (reason: string, raw: Buffer | null, detail: string) => Promise<void>,
    supervision: ConsumerSupervision = {},
  ) {
    this.consumer = new BatchConsumer(kafka, {
      ...supervision,
      groupId: opts.groupId,
      topics: [opts.topic],
      fromBeginning: opts.fromBeginning ?? true,
      handler: async (messages) => {
        const records: EnrichedOffender[] = [];
        for (const m of messages) {
          try {
            records.push(decodeEnrichedOffender(m.value));
          } catch (e) {
            // Off-contract input is counted and sampled, never fatal: the batch goes on.
            await onBad(
              'schema',
              m.value,
              e instanceof Error ? e.message.slice(0, 500) : String(e),
            );
          }
        }
        await pipeline.ingest(records);
      },
    });
  }

  /** Joined and consuming (false from a crash until it rejoins): for readiness. */
  get ready(): boolean {
    return this.consumer.isReady;
  }

  start(): Promise<void> {
    return this.consumer.start();
  }

  stop(): Promise<void> {
    return this.consumer.stop();
  }
}
