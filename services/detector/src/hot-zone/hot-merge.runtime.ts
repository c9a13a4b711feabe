import {
  alertSchema,
  decodeMessage,
  encodeMessage,
  knownNamesSchema,
  mergeMessageSchema,
  offenderSchema,
  shardMessageSchema,
  zoneStatsSchema,
  type MergeMessage,
} from '@sluice/contracts';
import { BatchConsumer, type BatchConsumerLog, type Kafka, type KafkaMessage } from '@sluice/kafka';
import { type Producer } from 'kafkajs';
import { type z } from 'zod';
import { type DetectorSettings } from '../core/settings';
import { MergeStage } from '../core/shard/merge-stage';
import { type ZoneOutput } from '../core/zone-output';

export interface HotMergeOptions {
  settings: DetectorSettings;
  topics: {
    summaries: string;
    decisions: string;
    alerts: string;
    zoneStats: string;
    offenders: string;
    knownNames: string;
  };
  groupId: string;
  maxWaitTimeMs?: number;
  log?: BatchConsumerLog;
}

/**
 * The merge stage of hot zones on Kafka: consumes the shards' hellos and summaries (keyed by
 * zone, so one zone's arrive in order at one member), fixes each zone's first tick from the
 * first hello and announces it, merges each complete tick, publishes the decision for the
 * shards and the zone's alerts, stats, offenders and known names on the ordinary topics.
 * (Checkpoints: MergeStage.toJSON exists; not yet stored — see HotShardRuntime.)
 */
export class HotMergeRuntime {
  private readonly merges = new Map<string, { merge: MergeStage; origin: number }>();
  private readonly producer: Producer;
  private readonly consumer: BatchConsumer;
  readonly counters = { summaries: 0, decisions: 0, alerts: 0 };

  constructor(
    kafka: Kafka,
    private readonly o: HotMergeOptions,
  ) {
    this.producer = kafka.producer({ allowAutoTopicCreation: false });
    this.consumer = new BatchConsumer(kafka, {
      groupId: o.groupId,
      topics: [o.topics.summaries],
      fromBeginning: true,
      maxWaitTimeMs: o.maxWaitTimeMs,
      log: o.log,
      handler: (messages) => this.onSummaries(messages),
    });
  }

  get isReady(): boolean {
    return this.consumer.isReady;
  }

  async start(): Promise<void> {
    await this.producer.connect();
    await this.consumer.start();
  }

  async stop(): Promise<void> {
    await this.consumer.stop();
    await this.producer.disconnect();
  }

  private async onSummaries(messages: KafkaMessage[]): Promise<void> {
    const decisions: MergeMessage[] = [];
    const out: ZoneOutput = { alerts: [], zoneStats: [], offenders: [], knownNames: [] };
    for (const m of messages) {
      const msg = decodeMessage(shardMessageSchema, m.value);
      if (msg.type === 'hello') {
        let z = this.merges.get(msg.zone);
        if (!z) {
          const merge = new MergeStage(msg.zone, msg.shards, this.o.settings, msg.firstTick);
          this.merges.set(msg.zone, (z = { merge, origin: msg.firstTick }));
        }
        // Every hello gets the start: a shard that joins late learns the zone's first tick.
        decisions.push({ type: 'start', zone: msg.zone, origin: z.origin });
        continue;
      }
      const z = this.merges.get(msg.summary.zone);
      if (!z) continue; // a summary never precedes its shard's hello on the zone's partition
      this.counters.summaries++;
      for (const r of z.merge.accept(msg.summary)) {
        decisions.push({ type: 'decision', decision: r.decision });
        out.alerts.push(...r.out.alerts);
        out.zoneStats.push(...r.out.zoneStats);
        out.offenders.push(...r.out.offenders);
        out.knownNames.push(...r.out.knownNames);
      }
    }
    // Outputs first: when a decision lets the shards move on, its tick's alert is already out.
    const t = this.o.topics;
    const send = async <S extends z.ZodType>(
      topic: string,
      schema: S,
      list: [string, z.input<S>][],
    ) => {
      if (list.length)
        await this.producer.send({
          topic,
          acks: -1,
          messages: list.map(([key, x]) => ({ key, value: encodeMessage(schema, x) })),
        });
    };
    const byZone = <T extends { zone: string }>(list: T[]): [string, T][] =>
      list.map((x) => [x.zone, x]);
    await send(t.knownNames, knownNamesSchema, byZone(out.knownNames));
    await send(t.alerts, alertSchema, byZone(out.alerts));
    await send(t.offenders, offenderSchema, byZone(out.offenders));
    await send(t.zoneStats, zoneStatsSchema, byZone(out.zoneStats));
    this.counters.alerts += out.alerts.length;
    this.counters.decisions += decisions.filter((d) => d.type === 'decision').length;
    await send(
      t.decisions,
      mergeMessageSchema,
      decisions.map((d): [string, MergeMessage] => [
        d.type === 'start' ? d.zone : d.decision.zone,
        d,
      ]),
    );
  }
}
