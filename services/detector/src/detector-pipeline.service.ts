import {
  alertSchema,
  decodeQueryBatch,
  deadLetterSchema,
  encodeMessage,
  ErrorCodes,
  SluiceError,
  knownNamesSchema,
  offenderSchema,
  TopicSpecs,
  zoneStatsSchema,
  type QueryEvent,
} from '@sluice/contracts';
import {
  BatchingProducer,
  provisionTopics,
  waitForGroupCoordinator,
  type Kafka,
  type OutgoingMessage,
} from '@sluice/kafka';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { type Consumer, type EachBatchPayload } from 'kafkajs';
import { type CheckpointRepository } from './checkpoint.repository';
import { DetectorCore, type DetectorOutput } from './core/detector-core';
import { type DetectorSettings } from './core/settings';

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
  log?: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
  /** Group session timeout (default 30 s); tests use the broker minimum to see failures fast. */
  sessionTimeoutMs?: number;
  /**
   * Called when the consumer crashed and could not be rebuilt in-process after several tries:
   * the service exits non-zero so its supervisor restarts it (state resumes from Redis).
   */
  onFatal?: (error: unknown) => void;
}

/** Errors that mean "this member is out of the group": kafkajs rejoins on these if it sees them raw. */
const MEMBERSHIP_ERRORS = new Set([
  'UNKNOWN_MEMBER_ID',
  'REBALANCE_IN_PROGRESS',
  'NOT_COORDINATOR_FOR_GROUP',
  'ILLEGAL_GENERATION',
]);

function rootCause(error: unknown): unknown {
  let e = error;
  while (e instanceof Error && e.cause !== undefined) e = e.cause;
  return e;
}

/**
 * kafkajs' retrier wraps a non-retriable protocol error (e.g. UNKNOWN_MEMBER_ID after the session
 * expired) in KafkaJSNonRetriableError; thrown from eachBatch, that wrapper crashes the consumer
 * for good (restart: false), whereas the raw error makes the runner rejoin the group.
 */
function unwrapMembershipError(error: unknown): unknown {
  const root = rootCause(error) as { type?: unknown } | null;
  return root && typeof root.type === 'string' && MEMBERSHIP_ERRORS.has(root.type) ? root : error;
}

interface PartitionProgress {
  /** Next offset to process; messages below it are already inside the restored state. */
  nextOffset: bigint | null;
  lastCheckpointAt: number;
  /** Between ingest and the offset update the state is ahead of nextOffset: no snapshot then. */
  busy: boolean;
}

/**
 * The detector's adapter: Kafka in (eachBatch, straight into the core), Kafka out, Redis
 * checkpoints. Order per batch: decode → core → publish and await acks → checkpoint (when due)
 * → commit. A crash anywhere replays from the last checkpoint; outputs are at-least-once and
 * replays repeat them identically (same alertId, phase and `at`), so consumers can de-duplicate.
 */
export class DetectorPipeline {
  readonly core: DetectorCore;
  private consumer: Consumer;
  private readonly producer: BatchingProducer;
  private readonly progress = new Map<number, PartitionProgress>();
  private readonly metrics: ReturnType<typeof createMetrics>;
  private deadLetters = { windowStart: 0, sent: 0 };
  private running = false;
  /** Joined the group and fetching; false from a consumer crash until the next join. */
  private consuming = false;
  private recovering: Promise<void> | null = null;
  /** Consumer crashes seen (kafkajs restarts and in-process rebuilds), for tests and logs. */
  crashes = 0;
  /** Partitions whose state came from a checkpoint (restart/hand-over), for tests and logs. */
  restoredPartitions = 0;

  constructor(
    private readonly kafka: Kafka,
    private readonly options: DetectorPipelineOptions,
  ) {
    this.core = new DetectorCore(options.settings);
    this.consumer = this.createConsumer();
    this.producer = new BatchingProducer(kafka);
    this.metrics = createMetrics(options.registry);
  }

  /** Started, not stopped, and the consumer is in its group (readiness). */
  get isRunning(): boolean {
    return this.running && this.consuming;
  }

  private createConsumer(): Consumer {
    const consumer = this.kafka.consumer({
      groupId: this.options.groupId,
      sessionTimeout: this.options.sessionTimeoutMs ?? 30_000,
      heartbeatInterval: Math.min(3000, Math.floor((this.options.sessionTimeoutMs ?? 30_000) / 3)),
      maxBytesPerPartition: 4 * 1024 * 1024,
      allowAutoTopicCreation: false,
    });
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      if (consumer !== this.consumer) return;
      this.consuming = true;
      const assigned = e.payload.memberAssignment[this.options.topics.queries] ?? [];
      void this.onAssigned(assigned);
    });
    consumer.on(consumer.events.CRASH, (e) => {
      if (consumer !== this.consumer) return;
      this.onCrash(e.payload.error, e.payload.restart);
    });
    return consumer;
  }

  async start(): Promise<void> {
    await this.requireTopics();
    await this.producer.connect();
    this.running = true;
    await this.runConsumer();
  }

  private async runConsumer(): Promise<void> {
    const consumer = this.consumer;
    const joined = new Promise<void>((resolve) => {
      const remove = consumer.on(consumer.events.GROUP_JOIN, () => {
        remove();
        resolve();
      });
    });
    // A broker that has just started has no ready group coordinator yet: joining then crashes
    // the consumer once (GROUP_LOAD_IN_PROGRESS is not retried by kafkajs' join). Wait.
    await waitForGroupCoordinator(this.kafka, this.options.groupId);
    await consumer.connect();
    await consumer.subscribe({
      topics: [this.options.topics.queries],
      fromBeginning: this.options.fromBeginning,
    });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: (payload) => this.handle(payload),
    });
    await joined;
  }

  /**
   * A crashed consumer is not consuming: readiness goes false at once. The in-memory state may
   * be ahead of the committed offsets, so it is dropped; the next owner (kafkajs' own restart,
   * our rebuilt consumer, or another instance) restores the checkpoint and replays. kafkajs
   * restarts only after retriable errors; otherwise we build a fresh consumer ourselves and,
   * if that keeps failing, hand over to the supervisor (onFatal → exit non-zero).
   */
  private onCrash(error: unknown, restartedByKafkajs: boolean): void {
    this.crashes++;
    this.consuming = false;
    this.metrics.crashes.inc();
    this.options.log?.warn(
      { err: error instanceof Error ? error.message : String(error), restartedByKafkajs },
      'kafka consumer crashed; partition state dropped, will resume from checkpoints',
    );
    for (const p of [...this.progress.keys()]) {
      this.progress.delete(p);
      this.core.drop(p);
    }
    if (!restartedByKafkajs && this.running) this.recovering ??= this.rebuildConsumer();
  }

  private async rebuildConsumer(): Promise<void> {
    let lastError: unknown = null;
    for (let attempt = 1; attempt <= 5 && this.running; attempt++) {
      await new Promise((r) => setTimeout(r, Math.min(30_000, 1000 * 2 ** (attempt - 1))));
      if (!this.running) break;
      const old = this.consumer;
      await old.disconnect().catch(() => undefined);
      this.consumer = this.createConsumer();
      try {
        await this.runConsumer();
        this.options.log?.info({ attempt }, 'kafka consumer rebuilt after a crash');
        this.recovering = null;
        return;
      } catch (error) {
        lastError = error;
        this.options.log?.warn(
          { attempt, err: error instanceof Error ? error.message : String(error) },
          'rebuilding the kafka consumer failed',
        );
      }
    }
    this.recovering = null;
    if (this.running) this.options.onFatal?.(lastError);
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

  /** Graceful: finish the in-flight batch, checkpoint every partition, flush outputs. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.consuming = false;
    await this.recovering;
    await this.consumer.disconnect();
    for (const p of this.progress.keys()) await this.checkpoint(p, true);
    await this.producer.disconnect();
  }

  /** Abrupt (tests of crash recovery): leave without the final checkpoint. */
  async kill(): Promise<void> {
    this.running = false;
    this.consuming = false;
    await this.recovering;
    await this.consumer.disconnect();
    await this.producer.disconnect();
  }

  private async onAssigned(assigned: readonly number[]): Promise<void> {
    const keep = new Set(assigned);
    for (const p of [...this.progress.keys()]) {
      if (keep.has(p)) continue;
      // Hand-over: save what we have so the new owner resumes rather than restarts.
      await this.checkpoint(p, true).catch(() => undefined);
      this.progress.delete(p);
      this.core.drop(p);
    }
    this.metrics.partitions.set(assigned.length);
  }

  private async handle(payload: EachBatchPayload): Promise<void> {
    try {
      await this.handleBatch(payload);
    } catch (error) {
      throw unwrapMembershipError(error);
    }
  }

  private async handleBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    if (!payload.isRunning() || payload.isStale() || batch.messages.length === 0) return;
    const p = batch.partition;
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
        await payload.heartbeat();
        if (progress.nextOffset < BigInt(batch.messages[0]!.offset)) {
          // Committed offsets ran ahead of the checkpoint: replay the gap to rebuild the state.
          this.consumer.seek({ topic: batch.topic, partition: p, offset: checkpoint.offset });
          return;
        }
      }
    }
    let events = 0;
    const last = batch.messages[batch.messages.length - 1]!.offset;
    progress.busy = true;
    let beat = performance.now();
    try {
      for (const m of batch.messages) {
        // A big batch (or one that closes many ticks) must not outlive the group session.
        if (performance.now() - beat > 1000) {
          await payload.heartbeat();
          beat = performance.now();
        }
        if (progress.nextOffset !== null && BigInt(m.offset) < progress.nextOffset) continue;
        if (m.value === null) {
          this.badInput('tombstone', Buffer.alloc(0), null);
          continue;
        }
        let decoded: QueryEvent[];
        try {
          decoded = decodeQueryBatch(m.value).events;
        } catch (error) {
          this.badInput(
            'undecodable',
            m.value,
            error instanceof Error ? error.message : String(error),
          );
          continue;
        }
        const late = this.core.ingest(p, decoded);
        events += decoded.length;
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
    payload.resolveOffset(last);
    // Through the payload (no retrier): a membership error reaches the runner raw, and it rejoins.
    await payload.commitOffsetsIfNecessary({
      topics: [
        {
          topic: batch.topic,
          partitions: [{ partition: p, offset: progress.nextOffset.toString() }],
        },
      ],
    });
    await payload.heartbeat();
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
    if (out.offenders.length)
      await this.producer.send(t.offenders, msgs(out.offenders, offenderSchema));
    if (out.zoneStats.length)
      await this.producer.send(t.zoneStats, msgs(out.zoneStats, zoneStatsSchema));
  }

  /** Counted always; a sample (≤ 10 per 10 s) goes to the dead-letter topic for debugging. */
  private badInput(reason: string, raw: Buffer, detail: string | null): void {
    this.metrics.bad.inc({ reason });
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

function createMetrics(registry?: Registry) {
  const registers = registry ? [registry] : [];
  return {
    events: new Counter({
      name: 'sluice_detector_events_total',
      help: 'Query events consumed',
      registers,
    }),
    late: new Counter({
      name: 'sluice_detector_late_events_total',
      help: 'Events older than their zone watermark (dropped)',
      registers,
    }),
    bad: new Counter({
      name: 'sluice_detector_bad_messages_total',
      help: 'Undecodable query batches',
      labelNames: ['reason'],
      registers,
    }),
    alerts: new Counter({
      name: 'sluice_detector_alerts_total',
      help: 'Alert lifecycle messages published',
      labelNames: ['phase'],
      registers,
    }),
    activeAlerts: new Gauge({
      name: 'sluice_detector_active_alerts',
      help: 'Attacks currently active',
      registers,
    }),
    zones: new Gauge({
      name: 'sluice_detector_zones',
      help: 'Zones with state on this instance',
      registers,
    }),
    partitions: new Gauge({
      name: 'sluice_detector_partitions',
      help: 'Query partitions assigned',
      registers,
    }),
    checkpointBytes: new Gauge({
      name: 'sluice_detector_checkpoint_bytes',
      help: 'Size of the last checkpoint',
      labelNames: ['partition'],
      registers,
    }),
    crashes: new Counter({
      name: 'sluice_detector_consumer_crashes_total',
      help: 'Kafka consumer crashes (each followed by a restart or rebuild)',
      registers,
    }),
    batchSeconds: new Histogram({
      name: 'sluice_detector_batch_seconds',
      help: 'Time to process one Kafka batch',
      buckets: [0.001, 0.005, 0.02, 0.1, 0.5, 2],
      registers,
    }),
  };
}
