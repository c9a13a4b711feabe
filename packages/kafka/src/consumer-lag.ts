import { type Admin, type Kafka } from 'kafkajs';

export interface ConsumerGroupTopics {
  groupId: string;
  topics: string[];
}

export interface PartitionLag {
  group: string;
  topic: string;
  partition: number;
  /** Messages between the group's committed offset and the partition's high watermark. */
  lag: number;
}

export interface ConsumerLagOptions {
  /** How often the offsets are read (default 15 s, one Prometheus scrape interval). */
  intervalMs?: number;
  onError?(error: unknown): void;
}

/**
 * Committed-offset lag of a service's consumer groups, read with the admin API in the
 * background so that /metrics never waits on the broker. Off the hot path on purpose: the
 * consumers stay untouched, and the figure is what an operator's own tooling
 * (kafka-consumer-groups.sh --describe) would show. A partition the group never committed on
 * has no figure (a new group that starts at the end would otherwise read as far behind).
 */
export class ConsumerLagMonitor {
  private admin: Admin | null = null;
  private timer: NodeJS.Timeout | null = null;
  private latest: readonly PartitionLag[] = [];
  private inFlight: Promise<void> | null = null;

  constructor(
    private readonly kafka: Kafka,
    private readonly groups: readonly ConsumerGroupTopics[],
    private readonly options: ConsumerLagOptions = {},
  ) {}

  start(): void {
    if (this.timer) return;
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.options.intervalMs ?? 15_000);
    this.timer.unref();
  }

  /** The last reading; empty until the first one, and after a failed one (no stale figures). */
  snapshot(): readonly PartitionLag[] {
    return this.latest;
  }

  /** Reads once now; concurrent calls share one reading. Never throws (errors go to onError). */
  refresh(): Promise<void> {
    this.inFlight ??= this.read()
      .then((rows) => {
        this.latest = rows;
      })
      .catch((error: unknown) => {
        this.latest = [];
        this.options.onError?.(error);
      })
      .finally(() => {
        this.inFlight = null;
      });
    return this.inFlight;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.inFlight;
    const admin = this.admin;
    this.admin = null;
    await admin?.disconnect();
  }

  private async read(): Promise<PartitionLag[]> {
    if (!this.admin) {
      const admin = this.kafka.admin();
      await admin.connect();
      this.admin = admin;
    }
    const admin = this.admin;
    const topics = [...new Set(this.groups.flatMap((g) => g.topics))];
    const high = new Map<string, bigint>();
    for (const topic of topics)
      for (const p of await admin.fetchTopicOffsets(topic))
        high.set(`${topic}\0${p.partition}`, BigInt(p.high));
    const rows: PartitionLag[] = [];
    for (const { groupId, topics: groupTopics } of this.groups) {
      for (const t of await admin.fetchOffsets({ groupId, topics: groupTopics })) {
        for (const p of t.partitions) {
          const committed = BigInt(p.offset);
          const end = high.get(`${t.topic}\0${p.partition}`);
          if (committed < 0n || end === undefined) continue;
          const lag = end > committed ? Number(end - committed) : 0;
          rows.push({ group: groupId, topic: t.topic, partition: p.partition, lag });
        }
      }
    }
    return rows;
  }
}
