import { type Kafka, type ITopicConfig } from 'kafkajs';

export interface TopicToProvision {
  name: string;
  compacted: boolean;
  retentionMs?: number;
  maxMessageBytes?: number;
}

export interface ProvisionOptions {
  partitions: number;
  replicationFactor: number;
}

/**
 * Create whichever topics are missing; existing topics are left as they are (changing
 * partition counts under running consumers would move zones between detector instances).
 * Returns the names it created.
 */
export async function provisionTopics(
  kafka: Kafka,
  topics: readonly TopicToProvision[],
  options: ProvisionOptions,
): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t.name));
    if (missing.length === 0) return [];
    const specs: ITopicConfig[] = missing.map((t) => ({
      topic: t.name,
      numPartitions: options.partitions,
      replicationFactor: options.replicationFactor,
      configEntries: [
        ...(t.compacted
          ? [
              { name: 'cleanup.policy', value: 'compact' },
              // Tombstones must outlive a consumer's restart, or a removal is never seen.
              { name: 'delete.retention.ms', value: String(24 * 60 * 60 * 1000) },
            ]
          : t.retentionMs !== undefined
            ? [{ name: 'retention.ms', value: String(t.retentionMs) }]
            : []),
        ...(t.maxMessageBytes !== undefined
          ? [{ name: 'max.message.bytes', value: String(t.maxMessageBytes) }]
          : []),
      ],
    }));
    await admin.createTopics({ topics: specs, waitForLeaders: true });
    return missing.map((t) => t.name);
  } finally {
    await admin.disconnect();
  }
}
