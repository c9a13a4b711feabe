import { type Consumer, type EachBatchPayload, type Kafka, type KafkaMessage } from 'kafkajs';
import { membershipErrorOf } from './errors';
import { waitForGroupCoordinator } from './group-coordinator';

export interface TopicPartition {
  topic: string;
  partition: number;
}

/**
 * Why partitions left this member: a rebalance gave them to another member (state may be
 * handed over), the consumer crashed (its in-memory state may be ahead of the committed
 * offsets: drop it), or stop() (graceful: the last batch was committed).
 */
export type RevokeReason = 'rebalance' | 'lost' | 'stop';

export interface BatchContext {
  topic: string;
  partition: number;
  /** Keep the group session alive during long processing. */
  heartbeat(): Promise<void>;
  /** True once stop() was called: finish quickly. */
  isStopping(): boolean;
  /**
   * Fetch this partition from `offset` next (e.g. back to a checkpoint): the current batch is
   * then neither resolved nor committed.
   */
  seek(offset: string): void;
}

export type BatchHandler = (messages: KafkaMessage[], context: BatchContext) => Promise<void>;

export interface BatchConsumerLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface BatchConsumerOptions {
  groupId: string;
  topics: string[];
  /** Where a brand-new group starts; an existing group always resumes from its committed offsets. */
  fromBeginning?: boolean;
  handler: BatchHandler;
  sessionTimeoutMs?: number;
  maxBytesPerPartition?: number;
  /** Longest a fetch waits for data; small values make stop() and tests quick. */
  maxWaitTimeMs?: number;
  /**
   * Commit at most this often (0, the default: after every batch, one request per partition).
   * With it, handled offsets wait and go together, every partition's in one request, by the
   * next batch once the interval has passed or by a timer at its end; stop() commits what waits.
   * For a handler that tolerates redelivery: a crash or a rebalance redelivers up to this much
   * more. A commit is a broker round trip before the next fetch: a consumer of many small
   * batches (a detector at real-time pace: a batch per partition per fetch) otherwise sends
   * more commits than fetches.
   */
  commitIntervalMs?: number;
  /** Partitions this member now owns (after each group join). Batches wait until it resolves. */
  onPartitionsAssigned?(partitions: TopicPartition[]): void | Promise<void>;
  /** Partitions this member no longer owns. Batches wait until it resolves. */
  onPartitionsRevoked?(partitions: TopicPartition[], reason: RevokeReason): void | Promise<void>;
  /** Each crash (kafkajs restarts retriable ones itself; the others are rebuilt here). */
  onCrash?(error: unknown, restartedByKafkajs: boolean): void;
  /**
   * The consumer crashed and `maxRebuilds` rebuilds in a row failed: it has given up. A service
   * exits non-zero here so its supervisor restarts it. Without it the failure is only logged.
   */
  onFatal?(error: unknown): void;
  /** Rebuilds in a row that may fail (crash again before a batch is committed) before onFatal (5). */
  maxRebuilds?: number;
  /** First rebuild delay, doubled per failed rebuild up to 30 s (1 s). */
  rebuildBackoffMs?: number;
  log?: BatchConsumerLog;
}

/** What a service wires into every consumer it runs: logs, crash metrics and the exit. */
export type ConsumerSupervision = Pick<BatchConsumerOptions, 'onCrash' | 'onFatal' | 'log'>;

/** A consumer up this long before it crashes starts its rebuild count afresh (idle groups commit nothing). */
const STABLE_MS = 60_000;

/**
 * The one Kafka consumer every service uses. eachBatch: the handler gets the whole batch (no
 * per-message overhead); offsets are resolved and committed through the batch payload only
 * AFTER the handler returns, so a failure re-delivers rather than loses (at-least-once).
 *
 * Resilience, learnt by the detector:
 * - a crash makes isReady false at once; kafkajs restarts retriable crashes itself, the others
 *   get a freshly built consumer after a backoff; after `maxRebuilds` failed rebuilds, onFatal;
 * - membership errors (session expired, rebalance) reach kafkajs raw, so it rejoins instead of
 *   crashing for good;
 * - partitions are reported as assigned and revoked (with the reason), so a stateful service can
 *   restore and save per-partition state.
 */
export class BatchConsumer {
  private consumer: Consumer;
  private started = false;
  private stopping = false;
  private fatal = false;
  /** In the group and fetching: false from a crash until the next join. */
  private joined = false;
  private joinedAt = 0;
  private assignment: TopicPartition[] = [];
  /** Assignment hooks run in order; every batch waits for them. */
  private hooks: Promise<void> = Promise.resolve();
  private failures = 0;
  private rebuildTimer: NodeJS.Timeout | null = null;
  /** With commitIntervalMs: handled offsets not committed yet (topic\0partition → next offset). */
  private readonly pending = new Map<string, PartitionOffset>();
  private lastCommitAt = 0;
  private commitTimer: NodeJS.Timeout | null = null;
  private launching: Promise<void> | null = null;
  private firstJoin: { resolve(): void; reject(error: unknown): void } | null = null;
  /** The rebuild attempt waiting for its join (logged when it joins). */
  private rebuildAttempt: number | null = null;
  /** Crashes seen (restarted by kafkajs or rebuilt here). */
  crashes = 0;
  /** Consumers built here after a crash kafkajs would not restart. */
  rebuilds = 0;

  constructor(
    private readonly kafka: Kafka,
    private readonly options: BatchConsumerOptions,
  ) {
    this.consumer = this.create();
  }

  /** Started, not stopping, not given up, and in its group: what /readyz should report. */
  get isReady(): boolean {
    return this.started && !this.stopping && !this.fatal && this.joined;
  }

  /** The partitions this member owns now. */
  get assigned(): readonly TopicPartition[] {
    return this.assignment;
  }

  /** Connects, subscribes, and resolves once the consumer has joined its group. */
  async start(): Promise<void> {
    if (this.started) return;
    // Started again after stop(): a fresh kafkajs consumer, a fresh count.
    if (this.stopping) this.consumer = this.create();
    this.started = true;
    this.stopping = false;
    this.fatal = false;
    this.failures = 0;
    const joined = new Promise<void>((resolve, reject) => {
      this.firstJoin = { resolve, reject };
    });
    try {
      await this.launch(this.consumer);
    } catch (error) {
      this.firstJoin = null;
      this.started = false;
      await this.consumer.disconnect().catch(() => undefined);
      throw error;
    }
    await joined;
    await this.hooks;
  }

  /** Graceful: lets the in-flight batch finish and commit, leaves the group, revokes ('stop'). */
  async stop(): Promise<void> {
    if (!this.started || this.stopping) return;
    this.stopping = true;
    if (this.rebuildTimer) clearTimeout(this.rebuildTimer);
    this.rebuildTimer = null;
    await this.launching?.catch(() => undefined);
    // Graceful: what was handled is committed (a batch still in flight commits its own).
    if (this.joined) await this.commitPending();
    this.clearPending();
    await this.consumer.disconnect();
    this.joined = false;
    this.firstJoin?.reject(new Error(`consumer ${this.options.groupId} stopped before joining`));
    this.firstJoin = null;
    this.revokeAll('stop');
    await this.hooks;
    this.started = false;
  }

  private create(): Consumer {
    const sessionTimeout = this.options.sessionTimeoutMs ?? 30_000;
    const consumer = this.kafka.consumer({
      groupId: this.options.groupId,
      sessionTimeout,
      heartbeatInterval: Math.min(3000, Math.floor(sessionTimeout / 3)),
      maxBytesPerPartition: this.options.maxBytesPerPartition ?? 4 * 1024 * 1024,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: this.options.maxWaitTimeMs ?? 500,
    });
    // Events of a consumer that was replaced by a rebuild are ignored.
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      if (consumer === this.consumer && !this.stopping) this.onJoin(e.payload.memberAssignment);
    });
    consumer.on(consumer.events.CRASH, (e) => {
      if (consumer === this.consumer && !this.stopping)
        this.onCrash(e.payload.error, e.payload.restart);
    });
    return consumer;
  }

  private async launch(consumer: Consumer): Promise<void> {
    // On a broker that has just started, joining before the coordinator is ready crashes the
    // consumer once (GROUP_LOAD_IN_PROGRESS is not retried by kafkajs' join): wait quietly.
    await waitForGroupCoordinator(this.kafka, this.options.groupId);
    await consumer.connect();
    await consumer.subscribe({
      topics: this.options.topics,
      fromBeginning: this.options.fromBeginning ?? false,
    });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async (payload) => {
        try {
          await this.batch(consumer, payload);
        } catch (error) {
          throw membershipErrorOf(error) ?? error;
        }
      },
    });
  }

  private async batch(consumer: Consumer, payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    if (!payload.isRunning() || payload.isStale() || batch.messages.length === 0) return;
    await this.hooks;
    if (!payload.isRunning() || payload.isStale()) return;
    const { topic, partition } = batch;
    let sought = false;
    await this.options.handler(batch.messages, {
      topic,
      partition,
      heartbeat: () => payload.heartbeat(),
      isStopping: () => this.stopping,
      seek: (offset) => {
        sought = true;
        consumer.seek({ topic, partition, offset });
      },
    });
    if (sought || payload.isStale()) return;
    const last = batch.messages[batch.messages.length - 1]!.offset;
    payload.resolveOffset(last);
    const offset = (BigInt(last) + 1n).toString();
    const every = this.options.commitIntervalMs ?? 0;
    if (every <= 0) {
      // Through the payload (no retrier): a membership error reaches the runner raw, and it rejoins.
      await payload.commitOffsetsIfNecessary({
        topics: [{ topic, partitions: [{ partition, offset }] }],
      });
    } else {
      this.pending.set(`${topic}\0${partition}`, { topic, partition, offset });
      if (this.stopping || Date.now() - this.lastCommitAt >= every) {
        const offsets = this.takePending();
        this.lastCommitAt = Date.now();
        await payload.commitOffsetsIfNecessary({ topics: byTopic(offsets) });
      } else if (this.commitTimer === null) {
        this.commitTimer = setTimeout(
          () => {
            this.commitTimer = null;
            void this.commitPending();
          },
          every - (Date.now() - this.lastCommitAt),
        );
      }
    }
    this.failures = 0;
    await payload.heartbeat();
  }

  /** The waiting offsets, for one commit request (and no longer waiting). */
  private takePending(): PartitionOffset[] {
    const offsets = [...this.pending.values()];
    this.clearPending();
    return offsets;
  }

  private clearPending(): void {
    this.pending.clear();
    if (this.commitTimer) clearTimeout(this.commitTimer);
    this.commitTimer = null;
  }

  /**
   * Commit the waiting offsets outside a batch (the interval's end, stop). A failure (a rebalance
   * or crash meanwhile) loses nothing: the partitions' next owner is redelivered those batches.
   */
  private async commitPending(): Promise<void> {
    if (this.pending.size === 0) return;
    const offsets = this.takePending();
    this.lastCommitAt = Date.now();
    await this.consumer.commitOffsets(offsets).catch((error: unknown) => {
      this.options.log?.warn(
        { group: this.options.groupId, err: errorText(error) },
        'committing handled offsets failed; they will be redelivered',
      );
    });
  }

  private onJoin(memberAssignment: Record<string, number[]>): void {
    this.joined = true;
    this.joinedAt = Date.now();
    const next: TopicPartition[] = [];
    for (const [topic, partitions] of Object.entries(memberAssignment))
      for (const partition of partitions) next.push({ topic, partition });
    const key = (tp: TopicPartition) => `${tp.topic}\0${tp.partition}`;
    const before = new Set(this.assignment.map(key));
    const after = new Set(next.map(key));
    const revoked = this.assignment.filter((tp) => !after.has(key(tp)));
    const added = next.filter((tp) => !before.has(key(tp)));
    this.assignment = next;
    if (this.rebuildAttempt !== null)
      this.options.log?.info(
        { group: this.options.groupId, attempt: this.rebuildAttempt },
        'kafka consumer rebuilt after a crash',
      );
    this.rebuildAttempt = null;
    // Offsets still waiting for revoked partitions are dropped: committed under the new
    // generation they could move the new owner's offset back. (A timer's commit already sent and
    // retried across the rebalance still can: at worst a later owner is redelivered a batch.)
    for (const tp of revoked) this.pending.delete(key(tp));
    if (revoked.length > 0)
      this.enqueue('revoked', () => this.options.onPartitionsRevoked?.(revoked, 'rebalance'));
    if (added.length > 0)
      this.enqueue('assigned', () => this.options.onPartitionsAssigned?.(added));
    this.firstJoin?.resolve();
    this.firstJoin = null;
  }

  /**
   * A crashed consumer is not consuming: readiness goes false at once and its partitions are
   * lost. kafkajs restarts only after retriable errors; otherwise a fresh consumer is built here.
   */
  private onCrash(error: unknown, restartedByKafkajs: boolean): void {
    this.crashes++;
    this.joined = false;
    this.revokeAll('lost');
    this.options.onCrash?.(error, restartedByKafkajs);
    this.options.log?.warn(
      { group: this.options.groupId, err: errorText(error), restartedByKafkajs },
      'kafka consumer crashed',
    );
    if (restartedByKafkajs) return;
    if (this.joinedAt > 0 && Date.now() - this.joinedAt >= STABLE_MS) this.failures = 0;
    this.scheduleRebuild(error);
  }

  private scheduleRebuild(error: unknown): void {
    if (this.stopping || this.fatal || this.rebuildTimer) return;
    this.failures++;
    const max = this.options.maxRebuilds ?? 5;
    if (this.failures > max) {
      this.giveUp(error, max);
      return;
    }
    const attempt = this.failures;
    const delay = Math.min(30_000, (this.options.rebuildBackoffMs ?? 1000) * 2 ** (attempt - 1));
    this.rebuildTimer = setTimeout(() => {
      this.rebuildTimer = null;
      this.launching = this.rebuild(attempt).finally(() => {
        this.launching = null;
      });
    }, delay);
  }

  private async rebuild(attempt: number): Promise<void> {
    if (this.stopping) return;
    await this.consumer.disconnect().catch(() => undefined);
    this.consumer = this.create();
    this.rebuilds++;
    this.rebuildAttempt = attempt;
    try {
      // A crash before or after the join comes back through onCrash as the next failure.
      await this.launch(this.consumer);
    } catch (error) {
      this.options.log?.warn(
        { group: this.options.groupId, attempt, err: errorText(error) },
        'rebuilding the kafka consumer failed',
      );
      this.scheduleRebuild(error);
    }
  }

  private giveUp(error: unknown, rebuilds: number): void {
    this.fatal = true;
    this.joined = false;
    void this.consumer.disconnect().catch(() => undefined);
    this.options.log?.error(
      { group: this.options.groupId, rebuilds, err: errorText(error) },
      'kafka consumer is down and could not be rebuilt',
    );
    if (this.firstJoin) {
      // Still in start(): its caller fails the boot.
      this.firstJoin.reject(error);
      this.firstJoin = null;
    } else this.options.onFatal?.(error);
  }

  private revokeAll(reason: RevokeReason): void {
    if (reason === 'lost') this.clearPending();
    const all = this.assignment;
    this.assignment = [];
    if (all.length > 0)
      this.enqueue('revoked', () => this.options.onPartitionsRevoked?.(all, reason));
  }

  private enqueue(hook: string, run: () => void | Promise<void>): void {
    this.hooks = this.hooks.then(run).catch((error: unknown) => {
      this.options.log?.warn(
        { group: this.options.groupId, hook, err: errorText(error) },
        'partition hook failed',
      );
    });
  }
}

interface PartitionOffset extends TopicPartition {
  /** The next offset to consume. */
  offset: string;
}

/** A batch payload's commit takes offsets grouped by topic. */
function byTopic(offsets: readonly PartitionOffset[]) {
  const topics = new Map<string, { partition: number; offset: string }[]>();
  for (const { topic, partition, offset } of offsets) {
    let list = topics.get(topic);
    if (!list) topics.set(topic, (list = []));
    list.push({ partition, offset });
  }
  return [...topics].map(([topic, partitions]) => ({ topic, partitions }));
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
