import { type Consumer, type Kafka, type KafkaMessage } from 'kafkajs';
import { waitForGroupCoordinator } from './group-coordinator';

export interface BatchContext {
  topic: string;
  partition: number;
  /** Keep the group session alive during long processing. */
  heartbeat(): Promise<void>;
  /** True once stop() was called: finish quickly. */
  isStopping(): boolean;
}

export type BatchHandler = (messages: KafkaMessage[], context: BatchContext) => Promise<void>;

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
}

/**
 * eachBatch consumer for hot paths: the handler gets the whole batch (no per-message
 * overhead), and offsets are committed only AFTER the handler returns, so a crash
 * re-delivers rather than loses (at-least-once).
 */
export class BatchConsumer {
  private readonly consumer: Consumer;
  private stopping = false;
  private running = false;
  /** Between a crash and the next group join (kafkajs restarts retriable crashes itself). */
  private crashed = false;

  constructor(
    private readonly kafka: Kafka,
    private readonly options: BatchConsumerOptions,
  ) {
    this.consumer = kafka.consumer({
      groupId: options.groupId,
      sessionTimeout: options.sessionTimeoutMs ?? 30_000,
      maxBytesPerPartition: options.maxBytesPerPartition ?? 4 * 1024 * 1024,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: options.maxWaitTimeMs ?? 500,
    });
    // Readiness follows the consumer, not just start()/stop(): a crash makes it false until
    // kafkajs has restarted and rejoined (a non-retriable crash keeps it false).
    this.consumer.on(this.consumer.events.CRASH, () => {
      this.crashed = true;
    });
    this.consumer.on(this.consumer.events.GROUP_JOIN, () => {
      this.crashed = false;
    });
  }

  /** Connects, subscribes, and resolves once the consumer has joined its group. */
  async start(): Promise<void> {
    const joined = new Promise<void>((resolve) => {
      const remove = this.consumer.on(this.consumer.events.GROUP_JOIN, () => {
        remove();
        resolve();
      });
    });
    // On a broker that has just started, joining before the coordinator is ready crashes the
    // consumer once (and logs ERROR): wait for it quietly instead.
    await waitForGroupCoordinator(this.kafka, this.options.groupId);
    await this.consumer.connect();
    await this.consumer.subscribe({
      topics: this.options.topics,
      fromBeginning: this.options.fromBeginning ?? false,
    });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async (payload) => {
        const { batch } = payload;
        if (!payload.isRunning() || payload.isStale() || batch.messages.length === 0) return;
        await this.options.handler(batch.messages, {
          topic: batch.topic,
          partition: batch.partition,
          heartbeat: () => payload.heartbeat(),
          isStopping: () => this.stopping,
        });
        const last = batch.messages[batch.messages.length - 1]!.offset;
        payload.resolveOffset(last);
        await this.consumer.commitOffsets([
          {
            topic: batch.topic,
            partition: batch.partition,
            offset: (BigInt(last) + 1n).toString(),
          },
        ]);
        await payload.heartbeat();
      },
    });
    this.running = true;
    await joined;
  }

  /** True between a successful start() and stop(), except after a crash until it rejoins: what /readyz should report. */
  get isRunning(): boolean {
    return this.running && !this.crashed;
  }

  /** Graceful: lets the in-flight batch finish and commit, then leaves the group. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.stopping = true;
    this.running = false;
    await this.consumer.disconnect();
  }
}
