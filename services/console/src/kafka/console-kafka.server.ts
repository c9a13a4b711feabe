import { type KafkaOptions, ServerKafka } from '@nestjs/microservices';
import { retryTransient } from '@sluice/kafka';

type Consumer = Parameters<ServerKafka['bindEvents']>[0];

export interface HistoryOptions {
  /** Topics rebuilt from this wall-clock time (Kafka timestamps) at start. */
  sinceTopics: string[];
  sinceMs: number;
  /** Topics read from their start (the compacted blocklist: its whole current state). */
  fromStartTopics: string[];
  /**
   * Topics held (paused) at start until every fromStartTopics partition is read to the end it had
   * at start: the offender records are matched against blocklist entries (what each stopped), so
   * the entries must be in the view before the history's records arrive, as they were live.
   */
  holdTopics?: string[];
  /** Never hold longer than this (a compacted partition's last offsets may be gone). */
  holdMaxMs?: number;
  log?: { warn(obj: object, msg: string): void };
}

/**
 * Nest's Kafka transport, plus one thing the console needs at start: its view is in memory, so it
 * seeks back — the history topics to a point in time, the compacted blocklist to its beginning —
 * instead of resuming from committed offsets. The offsets are looked up before `run` and the
 * seeks are queued when the consumer first joins its group: kafkajs applies them before its
 * first fetch.
 */
export class ConsoleKafkaServer extends ServerKafka {
  private consumerReady = false;
  /** `topic:partition` → last offset to read before the held topics go on; empty: not holding. */
  private readonly catchUp = new Map<string, bigint>();
  private holding = false;
  /** Ends the hold after holdMaxMs; cleared when the hold ends or the server closes. */
  private holdDeadline: NodeJS.Timeout | null = null;

  constructor(
    options: Required<KafkaOptions>['options'],
    private readonly history: HistoryOptions,
  ) {
    super(options);
  }

  get ready(): boolean {
    return this.consumerReady;
  }

  override async bindEvents(consumer: Consumer): Promise<void> {
    let seeks = await this.historyOffsets();
    const held = (this.history.holdTopics ?? []).map((topic) => ({ topic }));
    this.holding = held.length > 0 && this.catchUp.size > 0;
    const release = (why: 'caught up' | 'deadline') => {
      if (!this.holding) return;
      this.holding = false;
      this.clearHoldDeadline();
      if (why === 'deadline')
        this.history.log?.warn(
          { topics: this.history.holdTopics, pending: [...this.catchUp.keys()] },
          'the blocklist was not read to its end in time: offender records let through (stop figures may miss some of the history)',
        );
      // kafkajs throws when its group is being rebuilt (a crash) or gone (stopped); the next join
      // does not pause again (holding is false), so the topics resume there.
      ignoreNoGroup(() => consumer.resume(held));
    };
    if (this.holding) {
      this.holdDeadline = setTimeout(() => release('deadline'), this.history.holdMaxMs ?? 60_000);
      this.holdDeadline.unref();
    }
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      if (!this.holding) return;
      const key = `${payload.topic}:${payload.partition}`;
      const last = this.catchUp.get(key);
      if (last !== undefined && (BigInt(payload.lastOffset) >= last || payload.offsetLag === '0'))
        this.catchUp.delete(key);
      if (this.catchUp.size === 0) release('caught up');
    });
    // The seeks go in at the first join, not right after run(): on a broker that has just started
    // the first join can crash and kafkajs restart the consumer, and a seek before a group exists
    // throws ("Consumer group was not initialized") and killed the console at boot. Queued in the
    // join event, they are applied before the first fetch.
    consumer.on(consumer.events.GROUP_JOIN, () => {
      this.consumerReady = true;
      const now = seeks;
      seeks = [];
      ignoreNoGroup(() => {
        for (const s of now) consumer.seek(s);
        // Each (re)join builds a new kafkajs group, which forgets pauses: hold again until released.
        if (this.holding) consumer.pause(held);
      });
    });
    consumer.on(consumer.events.CRASH, () => (this.consumerReady = false));
    consumer.on(consumer.events.STOP, () => (this.consumerReady = false));
    await super.bindEvents(consumer);
  }

  override async close(): Promise<void> {
    this.consumerReady = false;
    // A deadline firing after close would resume a consumer that no longer has a group: kafkajs
    // throws, uncaught, and takes the process with it (it crashed the test runner).
    this.holding = false;
    this.clearHoldDeadline();
    await super.close();
  }

  private clearHoldDeadline(): void {
    if (this.holdDeadline) clearTimeout(this.holdDeadline);
    this.holdDeadline = null;
  }

  private async historyOffsets(): Promise<
    Array<{ topic: string; partition: number; offset: string }>
  > {
    if (!this.client) throw new Error('Kafka client not created yet');
    const admin = this.client.admin();
    await admin.connect();
    try {
      const out: Array<{ topic: string; partition: number; offset: string }> = [];
      this.catchUp.clear();
      for (const topic of this.history.fromStartTopics)
        for (const p of await retryTransient(() => admin.fetchTopicOffsets(topic))) {
          out.push({ topic, partition: p.partition, offset: p.low });
          if (BigInt(p.high) > BigInt(p.low))
            this.catchUp.set(`${topic}:${p.partition}`, BigInt(p.high) - 1n);
        }
      for (const topic of this.history.sinceTopics)
        for (const p of await retryTransient(() =>
          admin.fetchTopicOffsetsByTimestamp(topic, this.history.sinceMs),
        ))
          out.push({ topic, partition: p.partition, offset: p.offset });
      return out;
    } finally {
      await admin.disconnect();
    }
  }
}

/** Runs a kafkajs pause/resume/seek; a consumer without a group (crashed, stopped) is not fatal. */
function ignoreNoGroup(action: () => void): void {
  try {
    action();
  } catch (error) {
    if (!(error instanceof Error) || !/Consumer group was not initialized/.test(error.message))
      throw error;
  }
}
