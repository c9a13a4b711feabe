import {
  alertSchema,
  decodeMessage,
  encodeMessage,
  knownNamesSchema,
  mergeMessageSchema,
  encodeOffender,
  shardMessageSchema,
  zoneStatsSchema,
  type MergeMessage,
} from '@sluice/contracts';
import {
  BatchConsumer,
  type BatchConsumerLog,
  type BatchContext,
  type Kafka,
  type KafkaMessage,
  type RevokeReason,
  type TopicPartition,
} from '@sluice/kafka';
import { type Producer } from 'kafkajs';
import { type z } from 'zod';
import { type DetectorSettings } from '../core/settings';
import { MergeStage, type MergeSnapshot } from '../core/shard/merge-stage';
import { type CheckpointRepository } from '../redis/checkpoint.repository';

/** A partition's merge stages, as checkpointed. */
export interface HotMergePartitionSnapshot {
  v: 1;
  merges: { origin: number; merge: MergeSnapshot }[];
}
import { type ZoneOutput } from '../core/zone-output';
import { ROUND_TRIP_COMMIT_MS, type HotZoneTrace } from './trace';

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
  checkpoints?: {
    repository: CheckpointRepository<HotMergePartitionSnapshot>;
    everyMs: number;
  } | null;
  /** Timing hook for benchmarks (hot-zone-catchup.bench.ts). */
  trace?: HotZoneTrace;
}

/**
 * The merge stage of hot zones on Kafka: consumes the shards' hellos and summaries (keyed by
 * zone, so one zone's arrive in order at one member), fixes each zone's first tick from the
 * first hello and announces it, merges each complete tick, publishes the decision for the
 * shards and the zone's alerts, stats, offenders and known names on the ordinary topics.
 * Its zones' merge stages are checkpointed per partition of the summaries topic like the
 * shards' (a replayed tick's decision and outputs may be published twice: at least once).
 */
export class HotMergeRuntime {
  private readonly merges = new Map<
    string,
    { merge: MergeStage; origin: number; partition: number }
  >();
  private readonly restored = new Set<number>();
  private readonly savedAt = new Map<number, number>();
  private readonly nextOffset = new Map<number, string>();
  private readonly producer: Producer;
  private readonly consumer: BatchConsumer;
  readonly counters = { summaries: 0, decisions: 0, alerts: 0, restored: 0, saved: 0 };

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
      // Not a commit per tick: the checkpoints and the stage's own dedup carry a redelivery.
      commitIntervalMs: ROUND_TRIP_COMMIT_MS,
      log: o.log,
      handler: (messages, ctx) => this.onSummaries(messages, ctx),
      onPartitionsRevoked: (partitions, reason) => this.onRevoked(partitions, reason),
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

  private async onSummaries(messages: KafkaMessage[], ctx: BatchContext): Promise<void> {
    const partition = ctx.partition;
    if (!this.restored.has(partition)) {
      this.restored.add(partition);
      const seekTo = await this.restore(partition);
      if (seekTo !== null && seekTo !== messages[0]?.offset) return ctx.seek(seekTo);
    }
    const decisions: MergeMessage[] = [];
    const out: ZoneOutput = { alerts: [], zoneStats: [], offenders: [], knownNames: [] };
    for (const m of messages) {
      const msg = decodeMessage(shardMessageSchema, m.value);
      if (msg.type === 'hello') {
        let z = this.merges.get(msg.zone);
        if (!z) {
          const merge = new MergeStage(msg.zone, msg.shards, this.o.settings, msg.firstTick);
          this.merges.set(msg.zone, (z = { merge, origin: msg.firstTick, partition }));
        }
        // Every hello gets the start: a shard that joins late learns the zone's first tick.
        decisions.push({ type: 'start', zone: msg.zone, origin: z.origin });
        continue;
      }
      const z = this.merges.get(msg.summary.zone);
      if (!z) continue; // a summary never precedes its shard's hello on the zone's partition
      this.counters.summaries++;
      this.o.trace?.('summary-in', msg.summary.zone, msg.summary.tick, msg.summary.shard);
      for (const r of z.merge.accept(msg.summary)) {
        this.o.trace?.('decided', r.decision.zone, r.decision.tick);
        decisions.push({ type: 'decision', decision: r.decision });
        out.alerts.push(...r.out.alerts);
        out.zoneStats.push(...r.out.zoneStats);
        out.offenders.push(...r.out.offenders);
        out.knownNames.push(...r.out.knownNames);
      }
    }
    // Outputs first (one request for the four topics): when a decision lets the shards move
    // on, its tick's alert is already out. Then the decisions, the shards' next round trip.
    const t = this.o.topics;
    const batch = <S extends z.ZodType>(topic: string, schema: S, list: { zone: string }[]) => ({
      topic,
      messages: list.map((x) => ({ key: x.zone, value: encodeMessage(schema, x as z.input<S>) })),
    });
    const outputs = [
      batch(t.knownNames, knownNamesSchema, out.knownNames),
      batch(t.alerts, alertSchema, out.alerts),
      {
        topic: t.offenders,
        messages: out.offenders.map((x) => ({ key: x.zone, value: encodeOffender(x) })),
      },
      batch(t.zoneStats, zoneStatsSchema, out.zoneStats),
    ].filter((b) => b.messages.length > 0);
    if (outputs.length) await this.producer.sendBatch({ acks: -1, topicMessages: outputs });
    this.counters.alerts += out.alerts.length;
    this.counters.decisions += decisions.filter((d) => d.type === 'decision').length;
    const trace = this.o.trace;
    if (trace)
      for (const d of decisions)
        if (d.type === 'decision') trace('decision-send', d.decision.zone, d.decision.tick);
    if (decisions.length)
      await this.producer.send({
        topic: t.decisions,
        acks: -1,
        messages: decisions.map((d) => ({
          key: d.type === 'start' ? d.zone : d.decision.zone,
          value: encodeMessage(mergeMessageSchema, d),
        })),
      });
    if (trace)
      for (const d of decisions)
        if (d.type === 'decision') trace('decision-acked', d.decision.zone, d.decision.tick);
    const last = messages.at(-1);
    if (last) this.nextOffset.set(partition, (BigInt(last.offset) + 1n).toString());
    const cp = this.o.checkpoints;
    if (cp && last && Date.now() - (this.savedAt.get(partition) ?? 0) >= cp.everyMs)
      await this.save(partition, this.nextOffset.get(partition)!);
  }

  private async restore(partition: number): Promise<string | null> {
    const cp = this.o.checkpoints;
    if (!cp) return null;
    const loaded = await cp.repository.load(this.o.topics.summaries, partition);
    if (!loaded) return null;
    for (const { origin, merge } of loaded.snapshot.merges)
      this.merges.set(merge.zone, {
        merge: MergeStage.fromJSON(this.o.settings, merge),
        origin,
        partition,
      });
    this.counters.restored++;
    this.savedAt.set(partition, Date.now());
    return loaded.offset;
  }

  private async save(partition: number, offset: string): Promise<void> {
    const cp = this.o.checkpoints;
    if (!cp) return;
    const merges = [...this.merges.values()]
      .filter((z) => z.partition === partition)
      .map((z) => ({ origin: z.origin, merge: z.merge.toJSON() }));
    await cp.repository.save(this.o.topics.summaries, partition, {
      offset,
      snapshot: { v: 1, merges },
    });
    this.savedAt.set(partition, Date.now());
    this.counters.saved++;
  }

  private async onRevoked(partitions: TopicPartition[], reason: RevokeReason): Promise<void> {
    for (const { partition } of partitions) {
      const next = this.nextOffset.get(partition);
      if (reason !== 'lost' && next !== undefined) await this.save(partition, next);
      for (const [zone, z] of this.merges) if (z.partition === partition) this.merges.delete(zone);
      this.restored.delete(partition);
      this.nextOffset.delete(partition);
    }
  }
}
