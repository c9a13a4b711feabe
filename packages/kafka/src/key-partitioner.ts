import { type ICustomPartitioner, Partitioners } from 'kafkajs';

/** Distinct keys remembered per partition count; past it the memo starts over (bounded memory). */
const MAX_KEYS = 10_000;

/**
 * kafkajs' DefaultPartitioner (Java-compatible murmur2: a key lands on the partition any Kafka
 * client would pick), with each string key's partition remembered per partition count. Sluice
 * keys its messages by zone — a handful of keys over millions of messages — and the murmur2 in
 * kafkajs does its arithmetic in Long objects, ~2.6 KB of garbage per message, ~6 % of a cold
 * enrichment pass. Anything else (an explicit partition, a Buffer key, no key) goes to the
 * default partitioner itself, so the answer is always the one it would give.
 */
export const memoKeyPartitioner: ICustomPartitioner = () => {
  const byKey = Partitioners.DefaultPartitioner();
  const memo = new Map<number, Map<string, number>>();
  return (args) => {
    const { message, partitionMetadata } = args;
    const key = message.key;
    if (typeof key !== 'string' || (message.partition !== null && message.partition !== undefined))
      return byKey(args);
    const n = partitionMetadata.length;
    let known = memo.get(n);
    if (known === undefined) memo.set(n, (known = new Map<string, number>()));
    let partition = known.get(key);
    if (partition === undefined) {
      partition = byKey(args);
      if (known.size >= MAX_KEYS) known.clear();
      known.set(key, partition);
    }
    return partition;
  };
};

/**
 * The partition a keyed message would land on among `partitions` — the default partitioner's
 * answer, remembered per key — for a producer that groups several keys into one message bound
 * for that partition (the ingest's per-partition query batches).
 */
export function keyPartitionOf(partitions: number): (key: string) => number {
  if (!Number.isInteger(partitions) || partitions < 1)
    throw new RangeError(`keyPartitionOf: ${partitions} is not a partition count`);
  const byKey = memoKeyPartitioner();
  const partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({
    partitionId,
    leader: 0,
    partitionErrorCode: 0,
    replicas: [0],
    isr: [0],
  }));
  return (key) => byKey({ topic: '', partitionMetadata, message: { key, value: null } });
}
