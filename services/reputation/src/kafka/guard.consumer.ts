import {
  alertSchema,
  decodeMessage,
  knownNamesSchema,
  type Alert,
  type KnownNames,
} from '@sluice/contracts';
import { BatchConsumer, type ConsumerSupervision, type Kafka } from '@sluice/kafka';
import { type ReputationPipeline } from '../reputation.pipeline';

/**
 * sluice.known-names.v1 and sluice.alerts.v1 → zone guards. Low volume; its own group so a slow
 * offender fold never delays a guard (the guard is what stops a flood within seconds).
 */
export class GuardConsumer {
  private readonly consumer: BatchConsumer;

  constructor(
    kafka: Kafka,
    opts: { groupId: string; alertsTopic: string; namesTopic: string },
    pipeline: ReputationPipeline,
    onBad: (reason: string, raw: Buffer | null, detail: string) => Promise<void>,
    supervision: ConsumerSupervision = {},
  ) {
    this.consumer = new BatchConsumer(kafka, {
      ...supervision,
      groupId: opts.groupId,
      topics: [opts.namesTopic, opts.alertsTopic],
      // Only what is current matters: a guard for an attack that ended long ago is no use, and
      // the names topic is compacted (latest per zone).
      fromBeginning: false,
      handler: async (messages, context) => {
        const names: KnownNames[] = [];
        const alerts: Alert[] = [];
        for (const m of messages) {
          try {
            if (context.topic === opts.namesTopic)
              names.push(decodeMessage(knownNamesSchema, m.value));
            else alerts.push(decodeMessage(alertSchema, m.value));
          } catch (e) {
            await onBad(
              'schema',
              m.value,
              e instanceof Error ? e.message.slice(0, 500) : String(e),
            );
          }
        }
        // Names first: the detector sends them just before the alert that needs them.
        for (const n of names) await pipeline.onKnownNames(n);
        for (const a of alerts) await pipeline.onAlert(a);
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
