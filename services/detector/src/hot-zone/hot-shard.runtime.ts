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
import {
  BatchConsumer,
  CompressionTypes,
  type BatchConsumerLog,
  type BatchContext,
  type Kafka,
  type KafkaMessage,
  type RevokeReason,
  type TopicPartition,
} from '@sluice/kafka';
import { type Producer } from 'kafkajs';
import { type DetectorSettings } from '../core/settings';
import { ShardStage, type ShardSnapshot } from '../core/shard/shard-stage';
import { type CheckpointRepository } from '../redis/checkpoint.repository';
import { type HotZoneTrace } from './trace';

/** A partition's shard stages, as checkpointed. */
export interface HotShardPartitionSnapshot {
  v: 1;
  partitionMaxTs: number | null;
  stages: ShardSnapshot[];
}

/** Decisions kept per zone for a stage that catches up (a restored checkpoint replays ticks). */
const DECISION_LOG_TICKS = 600;

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
  /** Partition checkpoints (null: none, a restart relearns and stalls its zones). */
  checkpoints?: {
    repository: CheckpointRepository<HotShardPartitionSnapshot>;
    everyMs: number;
  } | null;
  /** Timing hook for benchmarks (hot-zone-catchup.bench.ts). */
  trace?: HotZoneTrace;
}

/**
 * The shard stage of hot zones on Kafka: consumes `zone#shard` query batches (its partitions of
 * the hot queries topic), scores them in one ShardStage per zone and shard, and publishes a
 * hello, then a summary per closed tick, keyed by zone. It reads every merge decision and closes
 * a shard's next tick only once the decision on the one before has been applied — the per-tick
 * barrier. A shard starts closing at the zone's first tick, which the merge stage announces.
 *
 * Checkpoints (as the detector's partitions): a partition's stages are saved to Redis every
 * `checkpoints.everyMs` and when it is revoked, restored on its first batch, and the queries
 * after the checkpoint replayed; a restored stage finds the decisions it needs in the log of
 * recent decisions (DECISION_LOG_TICKS per zone) read from the decisions topic.
 */
export class HotShardRuntime {
  private readonly stages = new Map<string, ShardStage>();
  private readonly partitionOf = new Map<string, number>();
  private readonly partitionMaxTs = new Map<number, number>();
  private readonly origins = new Map<string, number>();
  /** Recent decisions per zone, by tick: a stage applies its own when it reaches the tick. */
  private readonly decided = new Map<string, Map<number, MergeDecision>>();
  private readonly restored = new Set<number>();
  private readonly savedAt = new Map<number, number>();
  private readonly nextOffset = new Map<number, string>();
  private readonly columns = new QueryColumns();
  private readonly producer: Producer;
  private readonly queries: BatchConsumer;
  private readonly decisions: BatchConsumer;
  /** Counters for tests and metrics. */
  readonly counters = {
    queries: 0,
    late: 0,
    unknownZone: 0,
    summaries: 0,
    decisions: 0,
    restored: 0,
    saved: 0,
  };

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
      handler: (messages, ctx) => this.onQueries(messages, ctx),
      onPartitionsRevoked: (partitions, reason) => this.onRevoked(partitions, reason),
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

  private async onQueries(messages: KafkaMessage[], ctx: BatchContext): Promise<void> {
    const s = this.o.settings;
    const partition = ctx.partition;
    if (!this.restored.has(partition)) {
      this.restored.add(partition);
      const seekTo = await this.restore(partition);
      // Replay from the checkpoint: the deterministic stages rebuild exactly the state they had.
      if (seekTo !== null && seekTo !== messages[0]?.offset) return ctx.seek(seekTo);
    }
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
    const last = messages.at(-1);
    if (last) this.nextOffset.set(partition, (BigInt(last.offset) + 1n).toString());
    const cp = this.o.checkpoints;
    if (cp && last && Date.now() - (this.savedAt.get(partition) ?? 0) >= cp.everyMs)
      await this.save(partition, (BigInt(last.offset) + 1n).toString());
  }

  private stagesOn(partition: number): [string, ShardStage][] {
    return [...this.stages].filter(([id]) => this.partitionOf.get(id) === partition);
  }

  /** Loads a partition's checkpoint into stages; returns the offset to replay from, if any. */
  private async restore(partition: number): Promise<string | null> {
    const cp = this.o.checkpoints;
    if (!cp) return null;
    const loaded = await cp.repository.load(this.o.topics.hotQueries, partition);
    if (!loaded) return null;
    for (const j of loaded.snapshot.stages) {
      const stage = ShardStage.fromJSON(this.o.settings, j);
      const id = `${j.zone}#${j.shard}`;
      this.stages.set(id, stage);
      this.partitionOf.set(id, partition);
    }
    this.partitionMaxTs.set(partition, loaded.snapshot.partitionMaxTs ?? -Infinity);
    this.counters.restored++;
    this.savedAt.set(partition, Date.now());
    return loaded.offset;
  }

  private async save(partition: number, offset: string): Promise<void> {
    const cp = this.o.checkpoints;
    if (!cp) return;
    const pMax = this.partitionMaxTs.get(partition);
    await cp.repository.save(this.o.topics.hotQueries, partition, {
      offset,
      snapshot: {
        v: 1,
        partitionMaxTs: pMax !== undefined && Number.isFinite(pMax) ? pMax : null,
        stages: this.stagesOn(partition).map(([, stage]) => stage.toJSON()),
      },
    });
    this.savedAt.set(partition, Date.now());
    this.counters.saved++;
  }

  /**
   * Partitions leaving: hand their stages over (rebalance, stop: the last batch was committed,
   * so the checkpoint starts at the next offset) or drop them (lost: state may be ahead).
   */
  private async onRevoked(partitions: TopicPartition[], reason: RevokeReason): Promise<void> {
    for (const { partition } of partitions) {
      const next = this.nextOffset.get(partition);
      if (reason !== 'lost' && next !== undefined) await this.save(partition, next);
      for (const [id] of this.stagesOn(partition)) {
        this.stages.delete(id);
        this.partitionOf.delete(id);
      }
      this.partitionMaxTs.delete(partition);
      this.restored.delete(partition);
      this.nextOffset.delete(partition);
    }
  }

  private async onDecisions(messages: KafkaMessage[]): Promise<void> {
    for (const m of messages) {
      const msg = decodeMessage(mergeMessageSchema, m.value);
      if (msg.type === 'start') {
        if (this.origins.has(msg.zone)) continue;
        this.origins.set(msg.zone, msg.origin);
        for (const stage of this.stagesOf(msg.zone)) this.counters.late += stage.rebase(msg.origin);
      } else {
        this.o.trace?.('decision-in', msg.decision.zone, msg.decision.tick);
        this.apply(msg.decision);
      }
    }
    await this.closeReady();
  }

  private apply(d: MergeDecision): void {
    let log = this.decided.get(d.zone);
    if (!log) this.decided.set(d.zone, (log = new Map<number, MergeDecision>()));
    log.set(d.tick, d);
    const oldest = d.tick - DECISION_LOG_TICKS * this.o.settings.tickMs;
    for (const tick of log.keys()) if (tick < oldest) log.delete(tick);
    for (const stage of this.stagesOf(d.zone)) this.catchUp(stage);
  }

  /** Apply the decision a stage awaits, if it came already. */
  private catchUp(stage: ShardStage): void {
    const last = stage.lastClosed;
    if (last === null || stage.ready) return;
    const d = this.decided.get(stage.zone)?.get(last);
    if (!d) return;
    stage.applyDecision(d);
    this.counters.decisions++;
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
      // A stage replaying from a checkpoint finds its decisions in the log and runs on.
      for (;;) {
        this.catchUp(stage);
        if (!stage.ready || stage.nextTick + this.o.settings.tickMs > this.watermark(stage, pMax))
          break;
        this.o.trace?.('shard-close', stage.zone, stage.nextTick, stage.shard);
        out.push({ type: 'summary', summary: stage.closeTick() });
      }
    }
    this.counters.summaries += out.length;
    await this.send(out);
  }

  private async send(list: ShardMessage[]): Promise<void> {
    if (list.length === 0) return;
    const trace = this.o.trace;
    if (trace)
      for (const m of list)
        if (m.type === 'summary')
          trace('summary-send', m.summary.zone, m.summary.tick, m.summary.shard);
    await this.producer.send({
      topic: this.o.topics.summaries,
      acks: -1,
      // An offender window's rows (~350 bytes a resolver, evidence included) ride in one summary.
      compression: CompressionTypes.GZIP,
      messages: list.map((m) => ({
        key: m.type === 'hello' ? m.zone : m.summary.zone,
        value: encodeMessage(shardMessageSchema, m),
      })),
    });
    if (trace)
      for (const m of list)
        if (m.type === 'summary')
          trace('summary-acked', m.summary.zone, m.summary.tick, m.summary.shard);
  }
}
