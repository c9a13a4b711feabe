import { parseHotZoneKey } from '@sluice/contracts';
import { type ICustomPartitioner } from 'kafkajs';
import { memoKeyPartitioner } from '@sluice/kafka';

/**
 * kafkajs' default partitioner, except for a hot zone's batches on the hot topic (key
 * `zone#shard`): shard i goes to the zone's own partition plus i. By key hash alone, the K
 * keys of one zone could share partitions, so two shards would land on one consumer and the
 * split would buy less parallelism than it costs; this way K shards take K distinct
 * partitions whenever the topic has at least K, and spread evenly when it has fewer.
 */
export function hotZonePartitioner(hotTopic: string): ICustomPartitioner {
  return () => {
    const byKey = memoKeyPartitioner();
    return (args) => {
      const key = args.message.key;
      const hot =
        args.topic === hotTopic && key !== null && key !== undefined
          ? parseHotZoneKey(key.toString())
          : null;
      if (hot === null) return byKey(args);
      const base = byKey({ ...args, message: { ...args.message, key: hot.zone } });
      return (base + hot.shard) % args.partitionMetadata.length;
    };
  };
}
