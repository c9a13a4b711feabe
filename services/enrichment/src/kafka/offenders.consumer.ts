import {
  deadLetterSchema,
  decodeOffender,
  encodeMessage,
  type EnrichedOffender,
} from '@sluice/contracts';
import {
  BatchConsumer,
  type BatchingProducer,
  type ConsumerSupervision,
  type Kafka,
  type KafkaMessage,
  type OutgoingMessage,
} from '@sluice/kafka';
import { type Enricher } from '../core/enricher';
import { type ReportRepository } from '../report/report.repository';

export interface OffendersConsumerOptions {
  groupId: string;
  inputTopic: string;
  outputTopic: string;
  deadLetterTopic: string;
  fromBeginning?: boolean;
}

export interface OffenderCounters {
  processed(n: number): void;
  bad(reason: string): void;
  /** Report rows the store's cap evicted while recording a batch. */
  evicted?(n: number): void;
}

/**
 * offenders → enrich → publish enriched + store report aggregates. Offsets are committed
 * only after both the publish was acknowledged and Redis accepted the batch.
 */
export class OffendersConsumer {
  private readonly consumer: BatchConsumer;
  private deadLettersThisMinute = 0;
  private minute = 0;

  constructor(
    kafka: Kafka,
    private readonly producer: BatchingProducer,
    private readonly enricher: Enricher,
    private readonly repository: ReportRepository,
    private readonly options: OffendersConsumerOptions,
    private readonly counters: OffenderCounters,
    supervision: ConsumerSupervision = {},
  ) {
    this.consumer = new BatchConsumer(kafka, {
      ...supervision,
      groupId: options.groupId,
      topics: [options.inputTopic],
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
    const out: OutgoingMessage[] = [];
    const enriched: EnrichedOffender[] = [];
    const dead: OutgoingMessage[] = [];
    for (const m of messages) {
      let offender;
      try {
        offender = decodeOffender(m.value);
      } catch (error) {
        this.counters.bad('schema');
        if (this.sampleDeadLetter())
          dead.push({
            key: m.key,
            value: encodeMessage(deadLetterSchema, {
              v: 1,
              source: 'enrichment:offenders',
              reason: 'schema',
              receivedAt: Date.now(),
              raw: (m.value ?? Buffer.alloc(0)).toString('base64'),
              detail: error instanceof Error ? error.message.slice(0, 500) : null,
            }),
          });
        continue;
      }
      const json = this.enricher.enrichRecord(offender);
      enriched.push(offender as EnrichedOffender);
      out.push({ key: m.key ?? offender.zone, value: json });
    }
    if (out.length) await this.producer.send(this.options.outputTopic, out);
    if (dead.length) await this.producer.send(this.options.deadLetterTopic, dead);
    // Both must succeed before the batch is committed; neither depends on the other.
    const [stored] = await Promise.all([this.repository.record(enriched), this.producer.flush()]);
    if (stored.evicted > 0) this.counters.evicted?.(stored.evicted);
    this.counters.processed(enriched.length);
  }

  /** At most 10 dead letters a minute: enough to debug a producer, not enough to flood. */
  private sampleDeadLetter(): boolean {
    const minute = Math.floor(Date.now() / 60_000);
    if (minute !== this.minute) {
      this.minute = minute;
      this.deadLettersThisMinute = 0;
    }
    return this.deadLettersThisMinute++ < 10;
  }
}
