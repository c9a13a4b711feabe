import {
  alertSchema,
  decodeQueryColumns,
  deadLetterSchema,
  encodeMessage,
  ErrorCodes,
  SluiceError,
  knownNamesSchema,
  encodeOffender,
  TopicSpecs,
  zoneStatsSchema,
  QueryColumns,
} from '@sluice/contracts';
import {
  BatchConsumer,
  BatchingProducer,
  provisionTopics,
  type BatchConsumerLog,
  type BatchContext,
  type Kafka,
  type KafkaMessage,
  type OutgoingMessage,
  type RevokeReason,
  type TopicPartition,
} from '@sluice/kafka';
import { type Registry } from 'prom-client';
import { type CheckpointRepository } from './redis/checkpoint.repository';
import { DetectorCore, type DetectorOutput } from './core/detector-core';
import { type DetectorSettings } from './core/settings';
import { createDetectorMetrics, type DetectorMetrics } from './metrics/detector.metrics';

export interface DetectorTopics {
  queries: string;
  alerts: string;
  offenders: string;
  zoneStats: string;
  deadLetter: string;
  knownNames: string;
}

export interface DetectorPipelineOptions {
  groupId: string;
  topics: DetectorTopics;
  settings: Partial<DetectorSettings>;
  fromBeginning: boolean;
  /** null = no checkpoints (state is rebuilt only from what is replayed). */
  checkpoints: CheckpointRepository | null;
  checkpointIntervalMs: number;
  /** For the known-names topic the detector creates when missing (default 1). */
  replicationFactor?: number;
  registry?: Registry;
  log?: BatchConsumerLog;
  /** Group session timeout (default 30 s); tests use the broker minimum to see failures fast. */
  sessionTimeoutMs?: number;
  /**
   * Called when the consumer crashed and could not be rebuilt in-process after several tries:
   * the service exits non-zero so its supervisor restarts it (state resumes from Redis).
   */
  onFatal?: (error: unknown) => void;
}

/** The detector commits its consumed offsets at most this often (lag shows up to this late). */
const COMMIT_INTERVAL_MS = 200;

interface PartitionProgress {
  /** Next offset to process; messages below it are already inside the restored state. */
  nextOffset: bigint | null;
  lastCheckpointAt: number;
  /** Between ingest and the offset update the state is ahead of nextOffset: no snapshot then. */
  busy: boolean;
}

/**
 * The detector's adapter: Kafka in (the shared BatchConsumer, each batch straight into the
 * core), Kafka out, Redis checkpoints. Order per batch: decode → core → publish and await acks →
 * checkpoint (when due) → commit (by the consumer). A crash anywhere replays from the last
 * checkpoint; outputs are at-least-once and replays repeat them identically (same alertId,
 * phase and `at`), so consumers can de-duplicate.
 */
export class DetectorPipeline {
  readonly core: DetectorCore;
  private readonly consumer: BatchConsumer;
  private readonly producer: BatchingProducer;
  private readonly progress = new Map<number, PartitionProgress>();
  private readonly columns = new QueryColumns();
  private readonly metrics: DetectorMetrics;
  private deadLetters = { windowStart: 0, sent: 0 };
  /** kill(): leave without the final checkpoints. */
  private abandoning = false;
  /** Partitions whose state came from a checkpoint (restart/hand-over), for tests and logs. */
  restoredPartitions = 0;

  constructor(
    private readonly kafka: Kafka,
    private readonly options: DetectorPipelineOptions,
  ) {
    this.core = new DetectorCore(options.settings);
    this.producer = new BatchingProducer(kafka);
    this.metrics = createDetectorMetrics(options.registry);
    this.consumer = new BatchConsumer(kafka, {
      groupId: options.groupId,
      topics: [options.topics.queries],
      fromBeginning: options.fromBeginning,
      sessionTimeoutMs: options.sessionTimeoutMs,
      maxWaitTimeMs: 5000,
      // At real-time pace a fetch brings a small batch per partition: committing each (one broker
      // round trip and one OffsetCommit request apiece) sent 3× more requests than the fetches
      // themselves. The checkpoint, not the committed offset, is where a restart resumes from.
      commitIntervalMs: COMMIT_INTERVAL_MS,
      handler: (messages, context) => this.handleBatch(messages, context),
      onPartitionsAssigned: () => this.metrics.partitions.set(this.consumer.assigned.length),
      onPartitionsRevoked: (partitions, reason) => this.onRevoked(partitions, reason),
      onCrash: () => this.metrics.crashes.inc(),
      onFatal: options.onFatal,
      log: options.log,
    });
  }

  /** Started, not stopped, and the consumer is in its group (readiness). */
  get isRunning(): boolean {
    return this.consumer.isReady;
  }

  /** Consumer crashes seen (kafkajs restarts and in-process rebuilds), for tests and logs. */
  get crashes(): number {
    return this.consumer.crashes;
  }

  async start(): Promise<void> {
    await this.requireTopics();
    await this.producer.connect();
    this.abandoning = false;
    await this.consumer.start();
  }

  /** Fail with a message that says what to do, instead of kafkajs' "does not host this topic-partition". */
  private async requireTopics(): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const t = this.options.topics;
      // The known-names topic came with the zone guard: create it (compacted, large messages)
      // rather than make every existing deployment run `sluice topics create` again.
      if (t.knownNames === TopicSpecs.knownNames.name)
        await provisionTopics(this.kafka, [TopicSpecs.knownNames], {
          partitions:
            (await admin.fetchTopicMetadata({ topics: [t.queries] })).topics[0]?.partitions
              .length ?? 1,
          replicationFactor: this.options.replicationFactor ?? 1,
        });
      const existing = new Set(await admin.listTopics());
      const missing = [
        t.queries,
        t.alerts,
        t.offenders,
        t.zoneStats,
        t.deadLetter,
        t.knownNames,
      ].filter((n) => !existing.has(n));
      if (missing.length > 0)
        throw new SluiceError(
          ErrorCodes.kafka,
          `missing Kafka topic(s) ${missing.join(', ')}: create them with \`sluice topics create\` (or point DETECTOR_*_TOPIC at existing ones)`,
        );
    } finally {
      await admin.disconnect();
    }
  }

  /** Graceful: finish the in-flight batch, checkpoint every partition (on revoke), flush outputs. */
  async stop(): Promise<void> {
    await this.consumer.stop();
    await this.producer.disconnect();
  }

  /** Abrupt (tests of crash recovery): leave without the final checkpoint. */
  async kill(): Promise<void> {
    this.abandoning = true;
    await this.consumer.stop();
    await this.producer.disconnect();
  }

  /**
   * Partitions leaving this instance. Rebalance or stop: save what we have so the next owner
   * resumes rather than restarts. Crash: the state may be ahead of the committed offsets, so it
   * is only dropped; the next owner restores the last checkpoint and replays.
   */
  private async onRevoked(partitions: TopicPartition[], reason: RevokeReason): Promise<void> {
    if (reason === 'lost')
      this.options.log?.warn(
        { partitions: partitions.length },
        'partition state dropped after a consumer crash; will resume from checkpoints',
      );
    for (const { partition: p } of partitions) {
      if (reason !== 'lost' && !this.abandoning)
        await this.checkpoint(p, true).catch(() => undefined);
      this.progress.delete(p);
      this.core.drop(p);
    }
    this.metrics.partitions.set(this.consumer.assigned.length);
  }

  private async handleBatch(messages: KafkaMessage[], context: BatchContext): Promise<void> {
    const p = context.partition;
    const started = performance.now();
    let progress = this.progress.get(p);
    if (!progress) {
      progress = { nextOffset: null, lastCheckpointAt: 0, busy: false };
      const checkpoint = this.options.checkpoints
        ? await this.options.checkpoints.load(this.options.topics.queries, p)
        : null;
      this.core.drop(p);
      this.progress.set(p, progress);
      if (checkpoint) {
        this.core.restore(p, checkpoint.snapshot);
        this.restoredPartitions++;
        progress.nextOffset = BigInt(checkpoint.offset);
        progress.lastCheckpointAt = Date.now();
        this.options.log?.info(
          { partition: p, offset: checkpoint.offset },
          'restored partition state from checkpoint',
        );
        // Loading and restoring a large state takes a while: tell the coordinator we are alive.
        await context.heartbeat();
        if (progress.nextOffset < BigInt(messages[0]!.offset)) {
          // Committed offsets ran ahead of the checkpoint: replay the gap to rebuild the state.
          context.seek(checkpoint.offset);
          return;
        }
      }
    }
    let events = 0;
    const last = messages[messages.length - 1]!.offset;
    progress.busy = true;
    let beat = performance.now();
    try {
      for (const m of messages) {
        // A big batch (or one that closes many ticks) must not outlive the group session.
        if (performance.now() - beat > 1000) {
          await context.heartbeat();
          beat = performance.now();
        }
        if (progress.nextOffset !== null && BigInt(m.offset) < progress.nextOffset) continue;
        if (m.value === null) {
          this.badInput('tombstone', Buffer.alloc(0), null);
          continue;
        }
        let decoded: QueryColumns;
        try {
          // Columns reused batch after batch: no QueryEvent or qname string per query.
          decoded = decodeQueryColumns(m.value, this.columns);
        } catch (error) {
          this.badInput(
            'undecodable',
            m.value,
            error instanceof Error ? error.message : String(error),
          );
          continue;
        }
        const late = this.core.ingestColumns(p, decoded);
        events += decoded.count;
        if (late > 0) this.metrics.late.inc(late);
      }
      const out = this.core.advance(p);
      await this.publish(out);
      await this.producer.flush();
      progress.nextOffset = BigInt(last) + 1n;
    } catch (error) {
      // The core already holds part of this batch: forget the partition so the retry restores
      // the last checkpoint and replays, instead of counting these events twice.
      this.progress.delete(p);
      this.core.drop(p);
      throw error;
    }
    progress.busy = false;
    await this.checkpoint(p, false);
    this.metrics.events.inc(events);
    this.metrics.batchSeconds.observe((performance.now() - started) / 1000);
    this.metrics.activeAlerts.set(this.core.activeAlerts().length);
    this.metrics.zones.set(this.core.counters.zones);
  }

  private async checkpoint(p: number, force: boolean): Promise<void> {
    const repo = this.options.checkpoints;
    const progress = this.progress.get(p);
    if (!repo || !progress || progress.nextOffset === null || progress.busy) return;
    const now = Date.now();
    if (!force && now - progress.lastCheckpointAt < this.options.checkpointIntervalMs) return;
    progress.lastCheckpointAt = now;
    const { bytes } = await repo.save(this.options.topics.queries, p, {
      offset: progress.nextOffset.toString(),
      snapshot: this.core.snapshot(p),
    });
    this.metrics.checkpointBytes.set({ partition: String(p) }, bytes);
  }

  private async publish(out: DetectorOutput): Promise<void> {
    const t = this.options.topics;
    const msgs = (
      list: { zone: string }[],
      schema: Parameters<typeof encodeMessage>[0],
    ): OutgoingMessage[] => list.map((m) => ({ key: m.zone, value: encodeMessage(schema, m) }));
    // Names before the alert that starts the guard, so the guard never waits for them.
    if (out.knownNames.length)
      await this.producer.send(t.knownNames, msgs(out.knownNames, knownNamesSchema));
    if (out.alerts.length) {
      for (const a of out.alerts) this.metrics.alerts.inc({ phase: a.phase });
      await this.producer.send(t.alerts, msgs(out.alerts, alertSchema));
    }
    // Offenders are the detector's one output whose volume follows the flood: encoded without
    // zod's walk (the same bytes, the same refusals: offender-codec.spec.ts).
    if (out.offenders.length)
      await this.producer.send(
        t.offenders,
        out.offenders.map((m) => ({ key: m.zone, value: encodeOffender(m) })),
      );
    if (out.zoneStats.length)
      await this.producer.send(t.zoneStats, msgs(out.zoneStats, zoneStatsSchema));
  }

  /** Counted always; a sample (≤ 10 per 10 s) goes to the dead-letter topic for debugging. */
  private badInput(reason: string, raw: Buffer, detail: string | null): void {
    this.metrics.malformed.inc({ reason });
    const now = Date.now();
    if (now - this.deadLetters.windowStart > 10_000)
      this.deadLetters = { windowStart: now, sent: 0 };
    if (this.deadLetters.sent >= 10) return;
    this.deadLetters.sent++;
    const value = encodeMessage(deadLetterSchema, {
      v: 1,
      source: `detector:${this.options.topics.queries}`,
      reason,
      receivedAt: now,
      raw: raw.subarray(0, 64 * 1024).toString('base64'),
      detail,
    });
    void this.producer
      .send(this.options.topics.deadLetter, [{ key: null, value }])
      .catch(() => undefined);
  }
}
