import { randomBytes } from 'node:crypto';
import { type BlocklistEntry } from '@sluice/contracts';
import { retryTransient, type Kafka } from '@sluice/kafka';

/**
 * Reads the compacted blocklist topic to its end and returns the live value per key. At start-up
 * the service compares it with Redis (the source of truth) and publishes the difference, so a
 * crash between the Redis write and the Kafka send, or a Redis restored from an older snapshot,
 * leaves neither lost nor phantom entries in the topic.
 */
export async function readCompacted(
  kafka: Kafka,
  topic: string,
  timeoutMs = 30_000,
): Promise<Map<string, string>> {
  const admin = kafka.admin();
  await admin.connect();
  // A blocklist topic provisioned a moment ago has no leader yet (a fresh broker, a first start).
  const ends = await retryTransient(() => admin.fetchTopicOffsets(topic), {
    timeoutMs,
  }).finally(() => admin.disconnect());
  const pending = new Map(
    ends
      .filter((p) => BigInt(p.high) > BigInt(p.low))
      .map((p) => [p.partition, BigInt(p.high) - 1n]),
  );
  const live = new Map<string, string>();
  if (pending.size === 0) return live;
  const consumer = kafka.consumer({
    groupId: `sluice-reputation-reconcile-${randomBytes(6).toString('hex')}`,
  });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`reading ${topic} took longer than ${timeoutMs} ms`)),
        timeoutMs,
      );
      void consumer
        .run({
          eachMessage: ({ partition, message }) => {
            const key = message.key?.toString() ?? '';
            if (message.value === null) live.delete(key);
            else live.set(key, message.value.toString());
            const last = pending.get(partition);
            if (last !== undefined && BigInt(message.offset) >= last) pending.delete(partition);
            if (pending.size === 0) {
              clearTimeout(timer);
              resolve();
            }
            return Promise.resolve();
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return live;
}

/** What to publish so the topic equals `truth`. */
export function reconcileDiff(
  truth: readonly BlocklistEntry[],
  topic: Map<string, string>,
): { upserts: BlocklistEntry[]; tombstones: string[] } {
  const ids = new Set(truth.map((e) => e.id));
  const upserts = truth.filter((e) => {
    const v = topic.get(e.id);
    return v === undefined || v !== JSON.stringify(e);
  });
  const tombstones = [...topic.keys()].filter((id) => !ids.has(id));
  return { upserts, tombstones };
}
