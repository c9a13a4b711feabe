import {
  decodeQueryColumns,
  encodeMessage,
  decodeMessage,
  mergeMessageSchema,
  parseHotZoneKey,
  QueryColumns,
  shardMessageSchema,
  type MergeDecision,
  type ShardMessage,
} from '@sluice/contracts';
import { BatchConsumer, type BatchConsumerLog, type Kafka, type KafkaMessage } from '@sluice/kafka';
import { type Producer } from 'kafkajs';
import { type DetectorSettings } from '../core/settings';
import { ShardStage } from '../core/shard/shard-stage';

export interface HotZoneTopics {
  hotQueries: string;
  summaries: string;
  decisions: string;
}

export interface HotShardOptions {
  settings: DetectorSettings;
  /** zone → K (DETECTOR_HOT_ZONES). */
  hotZones: Readonly<Record<string, number>>;
  topics: HotZoneTopics;
  /** The shard stages' group on the hot queries topic. */
  groupId: string;
  /** This instance's own group on the decisions topic: every instance reads every decision. */
  decisionsGroupId: string;
  maxWaitTimeMs?: number;
  log?: BatchConsumerLog;
}

/**
 * The shard stage of hot zones on Kafka: consumes `zone#shard` query batches (its partitions of
 * the hot queries topic), scores them in one ShardStage per zone and shard, and publishes a
 * hello, then a summary per closed tick, keyed by zone. It reads every merge decision and closes
 * a shard's next tick only once the decision on the one before has been applied — the per-tick
 * barrier. A shard starts closing at the zone's first tick, which the merge stage announces.
 *
 * Not yet here (the core supports it: ShardStage.toJSON): checkpoints in Redis and the hand-over
 * of a partition's shard stages on a rebalance; a restart relearns the zone.
 */
export class HotShardRuntime {
  private readonly stages = new Map<string, ShardStage>();
  private readonly partitionOf = new Map<string, number>();
  private readonly partitionMaxTs = new Map<number, number>();
  private readonly origins = new Map<string, number>();
  private readonly columns = new QueryColumns();
  private readonly producer: Producer;
  private readonly queries: BatchConsumer;
  private readonly decisions: BatchConsumer;
  /** Counters for tests and metrics. */
  readonly counters = { queries: 0, late: 0, unknownZone: 0, summaries: 0, decisions: 0 };

  constructor(
    kafka: Kafka,
    private readonly o: HotShardOptions,
  ) {
    this.producer = kafka.producer({ allowAutoTopicCreation: false });
    this.queries = new BatchConsumer(kafka, {
      groupId: o.groupId,
      topics: [o.topics.hotQueries],
      fromBeginning: true,
      maxWaitTimeMs: o.maxWaitTimeMs,
      log: o.log,
      handler: (messages, ctx) => this.onQueries(messages, ctx.partition),
    });
    this.decisions = new BatchConsumer(kafka, {
      groupId: o.decisionsGroupId,
      topics: [o.topics.decisions],
      fromBeginning: true,
      maxWaitTimeMs: o.maxWaitTimeMs,
      log: o.log,
      handler: (messages) => this.onDecisions(messages),
    });
  }

  get isReady(): boolean {
    return this.queries.isReady && this.decisions.isReady;
  }

  /** Partitions of the hot queries topic this member owns. */
  get assigned(): number[] {
    return this.queries.assigned.map((p) => p.partition);
  }

  async start(): Promise<void> {
    await this.producer.connect();
    await this.decisions.start();
    await this.queries.start();
  }

  async stop(): Promise<void> {
    await this.queries.stop();
    await this.decisions.stop();
    await this.producer.disconnect();
  }

  private async onQueries(messages: KafkaMessage[], partition: number): Promise<void> {
    const s = this.o.settings;
    const hellos: ShardMessage[] = [];
    for (const m of messages) {
      const key = m.key ? parseHotZoneKey(m.key.toString()) : null;
      const k = key ? this.o.hotZones[key.zone] : undefined;
      if (!key || k === undefined || key.shard >= k || !m.value) {
        this.counters.unknownZone++;
        continue;
      }
      const c = decodeQueryColumns(m.value, this.columns);
      if (c.count === 0) continue;
      const id = `${key.zone}#${key.shard}`;
      let stage = this.stages.get(id);
      if (!stage) {
        const firstTick = Math.floor((c.ts[0]! - s.allowedLatenessMs) / s.tickMs) * s.tickMs;
        stage = new ShardStage(key.zone, key.shard, k, s, this.origins.get(key.zone) ?? firstTick);
        this.stages.set(id, stage);
        hellos.push({ type: 'hello', zone: key.zone, shard: key.shard, shards: k, firstTick });
      }
      this.partitionOf.set(id, partition);
      let pMax = this.partitionMaxTs.get(partition) ?? -Infinity;
      for (let i = 0; i < c.count; i++) {
        const ts = c.ts[i]!;
        if (ts > pMax) pMax = ts;
        const watermark = this.watermark(stage, pMax);
        if (ts < watermark) {
          this.counters.late++;
          stage.bufferColumns(c, i, watermark);
        } else stage.bufferColumns(c, i);
      }
      this.partitionMaxTs.set(partition, pMax);
      this.counters.queries += c.count;
    }
    await this.send(hellos);
    await this.closeReady();
  }

  private async onDecisions(messages: KafkaMessage[]): Promise<void> {
    for (const m of messages) {
      const msg = decodeMessage(mergeMessageSchema, m.value);
      if (msg.type === 'start') {
        if (this.origins.has(msg.zone)) continue;
        this.origins.set(msg.zone, msg.origin);
        for (const stage of this.stagesOf(msg.zone)) this.counters.late += stage.rebase(msg.origin);
      } else this.apply(msg.decision);
    }
    await this.closeReady();
  }

  private apply(d: MergeDecision): void {
    for (const stage of this.stagesOf(d.zone))
      if (stage.lastClosed === d.tick && !stage.ready) {
        stage.applyDecision(d);
        this.counters.decisions++;
      }
  }

  private *stagesOf(zone: string): Generator<ShardStage> {
    for (const stage of this.stages.values()) if (stage.zone === zone) yield stage;
  }

  private watermark(stage: ShardStage, partitionMaxTs: number): number {
    const s = this.o.settings;
    return Math.max(stage.maxTs - s.allowedLatenessMs, partitionMaxTs - s.idleAdvanceMs);
  }

  /** Every tick a shard may close now: its zone started, the decision before it in, the watermark past it. */
  private async closeReady(): Promise<void> {
    const out: ShardMessage[] = [];
    for (const [id, stage] of this.stages) {
      if (!this.origins.has(stage.zone)) continue;
      const pMax = this.partitionMaxTs.get(this.partitionOf.get(id) ?? -1) ?? -Infinity;
      if (stage.ready && stage.nextTick + this.o.settings.tickMs <= this.watermark(stage, pMax))
        out.push({ type: 'summary', summary: stage.closeTick() });
    }
    this.counters.summaries += out.length;
    await this.send(out);
  }

  private async send(list: ShardMessage[]): Promise<void> {
    if (list.length === 0) return;
    await this.producer.send({
      topic: this.o.topics.summaries,
      acks: -1,
      messages: list.map((m) => ({
        key: m.type === 'hello' ? m.zone : m.summary.zone,
        value: encodeMessage(shardMessageSchema, m),
      })),
    });
  }
}
