import { hotZoneKey } from '@sluice/contracts';
import { Partitioners, type PartitionMetadata } from 'kafkajs';
import { hotZonePartitioner } from './hot-zone-partitioner';

const HOT = 'sluice.hot-queries.v1';

function metadata(n: number): PartitionMetadata[] {
  return Array.from({ length: n }, (_, i) => ({
    partitionId: i,
    leader: 0,
    partitionErrorCode: 0,
    replicas: [0],
    isr: [0],
    offlineReplicas: [],
  }));
}

describe('hotZonePartitioner', () => {
  const partition = hotZonePartitioner(HOT)();
  const byKey = Partitioners.DefaultPartitioner();
  const zones = Array.from({ length: 200 }, (_, i) => `zone-${i}.example`);

  it.each([
    [4, 4],
    [8, 4],
    [12, 8],
    [64, 16],
  ])('%i partitions, K = %i: the K shards of a zone take K distinct partitions', (n, k) => {
    const partitionMetadata = metadata(n);
    for (const zone of zones) {
      const got = new Set(
        Array.from({ length: k }, (_, shard) =>
          partition({
            topic: HOT,
            partitionMetadata,
            message: { key: hotZoneKey(zone, shard), value: null },
          }),
        ),
      );
      expect(got.size).toBe(k);
    }
  });

  it('by key hash alone, shards of many zones would share partitions (why it exists)', () => {
    const partitionMetadata = metadata(8);
    const shared = zones.filter((zone) => {
      const got = new Set(
        Array.from({ length: 4 }, (_, shard) =>
          byKey({
            topic: HOT,
            partitionMetadata,
            message: { key: hotZoneKey(zone, shard), value: null },
          }),
        ),
      );
      return got.size < 4;
    });
    expect(shared.length).toBeGreaterThan(zones.length / 2);
  });

  it('spreads K shards evenly over fewer partitions', () => {
    const partitionMetadata = metadata(4);
    const counts = new Array<number>(4).fill(0);
    for (let shard = 0; shard < 8; shard++)
      counts[
        partition({
          topic: HOT,
          partitionMetadata,
          message: { key: hotZoneKey('acme.com', shard), value: null },
        })
      ]!++;
    expect(counts).toEqual([2, 2, 2, 2]);
  });

  it('places everything else as kafkajs does: other topics, ordinary zone keys', () => {
    const partitionMetadata = metadata(6);
    for (const [topic, key] of [
      ['sluice.queries.v1', hotZoneKey('acme.com', 3)],
      [HOT, 'acme.com'],
      [HOT, 'acme.com#x'],
    ] as const)
      expect(partition({ topic, partitionMetadata, message: { key, value: null } })).toBe(
        byKey({ topic, partitionMetadata, message: { key, value: null } }),
      );
  });
});
