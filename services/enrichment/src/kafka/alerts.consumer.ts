import { alertSchema, decodeMessage } from '@sluice/contracts';
import {
  BatchConsumer,
  type ConsumerSupervision,
  type Kafka,
  type KafkaMessage,
} from '@sluice/kafka';
import { type ReportRepository } from '../report/report.repository';

/** Keeps a summary of each alert (zone, onset, end, severity, generator) for report headers. */
export class AlertsConsumer {
  private readonly consumer: BatchConsumer;

  constructor(
    kafka: Kafka,
    private readonly repository: ReportRepository,
    options: { groupId: string; topic: string; fromBeginning?: boolean },
    private readonly bad: (reason: string) => void,
    supervision: ConsumerSupervision = {},
  ) {
    this.consumer = new BatchConsumer(kafka, {
      ...supervision,
      groupId: options.groupId,
      topics: [options.topic],
      fromBeginning: options.fromBeginning ?? true,
      handler: (messages) => this.handle(messages),
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

  async handle(messages: KafkaMessage[]): Promise<void> {
    for (const m of messages) {
      let alert;
      try {
        alert = decodeMessage(alertSchema, m.value);
      } catch {
        this.bad('alert-schema');
        continue;
      }
      // A Redis failure throws: the batch is not committed and comes again.
      await this.repository.saveAlert(alert);
    }
  }
}
