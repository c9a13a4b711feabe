import { Partitioners, type PartitionerArgs } from 'kafkajs';
import { keyPartitionOf, memoKeyPartitioner } from './key-partitioner';

const meta = (n: number, leaderless: number[] = []) =>
  Array.from({ length: n }, (_, i) => ({
    partitionId: i,
    leader: leaderless.includes(i) ? -1 : 0,
    partitionErrorCode: 0,
    replicas: [0],
    isr: [0],
  }));

describe('memoKeyPartitioner', () => {
  it('picks what the default partitioner picks for every keyed message, again and again', () => {
    const memo = memoKeyPartitioner();
    const plain = Partitioners.DefaultPartitioner();
    const keys = ['example.com', 'globex.nl', 'ünïcode.test', '', 'a'.repeat(253)];
    for (let i = 0; i < 20_000; i++) keys.push(`z${(i * 7919) % 12_345}.example`);
    for (const n of [1, 3, 6, 7, 64]) {
      for (const key of keys) {
        const args = { topic: 't', partitionMetadata: meta(n), message: { key, value: 'v' } };
        const expected = plain(args as PartitionerArgs);
        expect(memo(args as PartitionerArgs)).toBe(expected);
        expect(memo(args as PartitionerArgs)).toBe(expected);
      }
    }
  });

  it('leaves explicit partitions, Buffer keys and keyless messages to the default', () => {
    const memo = memoKeyPartitioner();
    const m = meta(6, [2]);
    expect(
      memo({ topic: 't', partitionMetadata: m, message: { key: 'k', value: 'v', partition: 4 } }),
    ).toBe(4);
    const plain = Partitioners.DefaultPartitioner();
    const buf = { topic: 't', partitionMetadata: m, message: { key: Buffer.from('k'), value: 'v' } };
    expect(memo(buf)).toBe(plain(buf));
    // keyless: round robin over partitions with a leader, never the leaderless one
    const seen = new Set<number>();
    for (let i = 0; i < 60; i++)
      seen.add(memo({ topic: 't', partitionMetadata: m, message: { value: 'v' } }));
    expect([...seen].sort()).toEqual([0, 1, 3, 4, 5]);
  });
});

describe('keyPartitionOf', () => {
  it('answers the partition the default partitioner gives a message with that key', () => {
    const plain = Partitioners.DefaultPartitioner();
    for (const n of [1, 6, 7, 64]) {
      const of = keyPartitionOf(n);
      for (let i = 0; i < 5000; i++) {
        const key = `z${(i * 7919) % 4321}.example`;
        const args = { topic: 't', partitionMetadata: meta(n), message: { key, value: 'v' } };
        expect(of(key)).toBe(plain(args as PartitionerArgs));
      }
    }
  });

  it('refuses a partition count that is not one', () => {
    expect(() => keyPartitionOf(0)).toThrow(/not a partition count/);
    expect(() => keyPartitionOf(1.5)).toThrow(/not a partition count/);
  });
});
