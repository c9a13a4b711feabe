import { readFileSync } from 'node:fs';

// kafkajs splits a send's messages by partition in groupMessagesPerPartition; the pnpm patch in
// patches/kafkajs@2.2.4.patch replaces its quadratic copy-per-message with pushes. The grouping
// decides which partition and in which order every message is written, so it must be the same.
const modulePath = require.resolve('kafkajs/src/producer/groupMessagesPerPartition');
type Group = (args: {
  topic: string;
  partitionMetadata: unknown[];
  messages: unknown[];
  partitioner: (args: { message: unknown }) => number;
}) => Record<number, unknown[]>;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const group = require(modulePath) as Group;

/** The original kafkajs function. */
const reference: Group = ({ topic, partitionMetadata, messages, partitioner }) => {
  if (partitionMetadata.length === 0) return {};
  return messages.reduce<Record<number, unknown[]>>((result, message) => {
    const partition = partitioner({ topic, partitionMetadata, message } as never);
    const current = result[partition] ?? [];
    return Object.assign(result, { [partition]: [...current, message] });
  }, {});
};

describe('kafkajs groupMessagesPerPartition (patched)', () => {
  it('is the patched implementation', () => {
    expect(readFileSync(modulePath, 'utf8')).toContain('Sluice patch');
  });

  it('groups like the original: same partitions, same order, same key order', () => {
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0);
    for (const [n, partitions] of [
      [0, 3],
      [1, 1],
      [50, 3],
      [1_000, 12],
      [300, 1],
    ] as const) {
      const messages = Array.from({ length: n }, (_, i) => ({ i, p: rnd() % partitions }));
      const args = {
        topic: 't',
        partitionMetadata: Array.from({ length: partitions }, (_, p) => ({ partitionId: p })),
        messages,
        partitioner: ({ message }: { message: unknown }) => (message as { p: number }).p,
      };
      const got = group(args);
      const want = reference(args);
      expect(Object.keys(got)).toEqual(Object.keys(want));
      expect(got).toEqual(want);
      for (const k of Object.keys(want))
        got[Number(k)]!.forEach((m, j) => expect(m).toBe(want[Number(k)]![j]));
    }
    expect(
      group({ topic: 't', partitionMetadata: [], messages: [{}], partitioner: () => 0 }),
    ).toEqual({});
  });
});
