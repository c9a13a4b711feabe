import {
  BatchConsumer,
  type BatchConsumerOptions,
  type Kafka,
  type RevokeReason,
  type TopicPartition,
} from '@sluice/kafka';
import { createTestTopics, testKafka, uniqueName, waitFor } from '@sluice/testing';
import { type Producer } from 'kafkajs';

// Crash, rebuild and session-expiry paths wait on kafkajs' own timers (sessions of >= 6 s).
jest.setTimeout(120_000);

/** kafkajs neither retries nor restarts after this: the consumer crashes for good. */
const nonRetriable = (message: string) => Object.assign(new Error(message), { retriable: false });

describe('BatchConsumer against the real broker', () => {
  let kafka: Kafka;
  let producer: Producer;
  const consumers: BatchConsumer[] = [];

  beforeAll(async () => {
    kafka = testKafka('batch-consumer-it');
    producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
  });

  afterAll(async () => {
    for (const c of consumers) await c.stop().catch(() => undefined);
    await producer.disconnect();
  });

  async function publish(topic: string, values: string[]): Promise<void> {
    await producer.send({ topic, acks: -1, messages: values.map((value) => ({ value })) });
  }

  const range = (from: number, to: number) =>
    Array.from({ length: to - from }, (_, i) => `m${from + i}`);

  function consumer(
    options: Omit<BatchConsumerOptions, 'groupId' | 'fromBeginning'> & { groupId?: string },
  ) {
    const c = new BatchConsumer(kafka, {
      groupId: uniqueName('bc-group'),
      fromBeginning: true,
      maxWaitTimeMs: 200,
      ...options,
    });
    consumers.push(c);
    return c;
  }

  async function committed(groupId: string, topic: string): Promise<string[]> {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const [t] = await admin.fetchOffsets({ groupId, topics: [topic] });
      return t!.partitions.sort((a, b) => a.partition - b.partition).map((p) => p.offset);
    } finally {
      await admin.disconnect();
    }
  }

  it('crash → not ready → rebuilt → consuming again, the crashed batch re-delivered', async () => {
    const [topic] = await createTestTopics(kafka, ['bc-crash'], { partitions: 1 });
    const seen: string[] = [];
    const revoked: { partitions: TopicPartition[]; reason: RevokeReason }[] = [];
    const assigned: TopicPartition[][] = [];
    let readyWhenCrashed: boolean | null = null;
    let poisoned = false;
    let fatal: unknown = null;
    const c = consumer({
      topics: [topic],
      rebuildBackoffMs: 200,
      handler: async (messages) => {
        for (const m of messages) {
          const value = m.value!.toString();
          seen.push(value);
          if (value === 'poison' && !poisoned) {
            poisoned = true;
            throw nonRetriable('poison once');
          }
        }
      },
      onPartitionsAssigned: (partitions) => {
        assigned.push(partitions);
      },
      onPartitionsRevoked: (partitions, reason) => {
        revoked.push({ partitions, reason });
      },
      onCrash: () => {
        readyWhenCrashed = c.isReady;
      },
      onFatal: (error) => {
        fatal = error;
      },
    });
    await c.start();
    expect(c.isReady).toBe(true);
    expect(assigned).toEqual([[{ topic, partition: 0 }]]);
    await publish(topic, range(0, 10));
    await waitFor(() => (seen.length >= 10 ? true : undefined), 30_000, 'first messages');

    await publish(topic, ['poison', ...range(10, 15)]);
    await waitFor(() => (c.crashes >= 1 ? true : undefined), 30_000, 'the crash');
    expect(readyWhenCrashed).toBe(false);
    await waitFor(
      () => (c.rebuilds === 1 && c.isReady && seen.includes('m14') ? true : undefined),
      60_000,
      'the rebuilt consumer to consume again',
    );
    expect(c.crashes).toBe(1);
    expect(fatal).toBeNull();
    expect(revoked).toEqual([{ partitions: [{ topic, partition: 0 }], reason: 'lost' }]);
    expect(assigned).toHaveLength(2);
    // At-least-once: the poison batch came again; nothing is missing.
    expect(seen.filter((v) => v === 'poison')).toHaveLength(2);
    expect(new Set(seen)).toEqual(new Set([...range(0, 15), 'poison']));
    await c.stop();
    expect(c.isReady).toBe(false);
    expect(revoked.at(-1)).toEqual({ partitions: [{ topic, partition: 0 }], reason: 'stop' });
  });

  it('commits after every batch by default, at most every commitIntervalMs with it', async () => {
    const [topic] = await createTestTopics(kafka, ['bc-commit-interval'], { partitions: 1 });
    const run = async (commitIntervalMs?: number) => {
      const groupId = uniqueName('bc-commit');
      let handled = 0;
      const c = consumer({
        groupId,
        topics: [topic],
        commitIntervalMs,
        handler: async (messages) => {
          handled += messages.length;
        },
      });
      await c.start();
      return { groupId, handled: () => handled, c };
    };
    await publish(topic, range(0, 3));
    const every = await run();
    const interval = await run(600_000);
    await waitFor(
      () => (every.handled() === 3 && interval.handled() === 3 ? true : undefined),
      30_000,
      'the first batch',
    );
    await waitFor(
      async () => ((await committed(interval.groupId, topic))[0] === '3' ? true : undefined),
      30_000,
      'the first commit',
    );
    await publish(topic, range(3, 5));
    await waitFor(
      () => (every.handled() === 5 && interval.handled() === 5 ? true : undefined),
      30_000,
      'the second batch',
    );
    await waitFor(
      async () => ((await committed(every.groupId, topic))[0] === '5' ? true : undefined),
      30_000,
      'the default consumer’s second commit',
    );
    // The interval has not passed: the second batch is handled but its offset not committed.
    expect(await committed(interval.groupId, topic)).toEqual(['3']);
  });

  it('with commitIntervalMs, offsets left waiting are committed at its end, every partition at once', async () => {
    const [topic] = await createTestTopics(kafka, ['bc-commit-trailing'], { partitions: 3 });
    const groupId = uniqueName('bc-trailing');
    const handled = new Map<number, number>();
    const c = consumer({
      groupId,
      topics: [topic],
      commitIntervalMs: 8000,
      handler: async (messages, { partition }) => {
        handled.set(partition, (handled.get(partition) ?? 0) + messages.length);
      },
    });
    await c.start();
    const send = (partition: number, n: number) =>
      producer.send({
        topic,
        acks: -1,
        messages: range(0, n).map((value) => ({ value, partition })),
      });
    await send(0, 2);
    await waitFor(() => (handled.get(0) === 2 ? true : undefined), 30_000, 'the first batch');
    // The first batch is committed at once (no commit yet this interval).
    await waitFor(
      async () => ((await committed(groupId, topic))[0] === '2' ? true : undefined),
      30_000,
      'the first commit',
    );
    const sentAt = Date.now();
    await send(1, 3);
    await send(2, 4);
    await waitFor(
      () => (handled.get(1) === 3 && handled.get(2) === 4 ? true : undefined),
      30_000,
      'the later batches',
    );
    // Handled within the interval: waiting, not committed (unless the box stalled past it).
    if (Date.now() - sentAt < 6000)
      expect(await committed(groupId, topic)).toEqual(['2', '-1', '-1']);
    // No further message arrives: the interval's timer commits both waiting partitions.
    await waitFor(
      async () => {
        const offsets = await committed(groupId, topic);
        return offsets.join() === '2,3,4' ? true : undefined;
      },
      30_000,
      'the trailing commit',
    );
  });

  it('stop() commits what waits for commitIntervalMs', async () => {
    const [topic] = await createTestTopics(kafka, ['bc-commit-stop'], { partitions: 1 });
    const groupId = uniqueName('bc-stop-commit');
    let handled = 0;
    const c = consumer({
      groupId,
      topics: [topic],
      commitIntervalMs: 600_000,
      handler: async (messages) => {
        handled += messages.length;
      },
    });
    await c.start();
    await publish(topic, range(0, 3));
    await waitFor(() => (handled === 3 ? true : undefined), 30_000, 'the first batch');
    await waitFor(
      async () => ((await committed(groupId, topic))[0] === '3' ? true : undefined),
      30_000,
      'the first commit',
    );
    await publish(topic, range(3, 5));
    await waitFor(() => (handled === 5 ? true : undefined), 30_000, 'the second batch');
    expect(await committed(groupId, topic)).toEqual(['3']);
    await c.stop();
    expect(await committed(groupId, topic)).toEqual(['5']);
  });

  it('gives up after maxRebuilds failed rebuilds and calls onFatal', async () => {
    const [topic] = await createTestTopics(kafka, ['bc-fatal'], { partitions: 1 });
    await publish(topic, ['poison']);
    let fatal: unknown = null;
    const c = consumer({
      topics: [topic],
      maxRebuilds: 2,
      rebuildBackoffMs: 100,
      handler: () => Promise.reject(nonRetriable('poison always')),
      onFatal: (error) => {
        fatal = error;
      },
    });
    await c.start();
    await waitFor(() => fatal ?? undefined, 60_000, 'onFatal');
    expect(String(fatal)).toContain('poison always');
    expect(c.crashes).toBe(3); // the first crash and one per failed rebuild
    expect(c.rebuilds).toBe(2);
    expect(c.isReady).toBe(false);
    await c.stop();
  });

  it('re-delivers a batch whose handler threw mid-way, and loses nothing', async () => {
    const [topic] = await createTestTopics(kafka, ['bc-alo'], { partitions: 1 });
    const groupId = uniqueName('bc-alo-group');
    await publish(topic, range(0, 50));
    const processed: string[] = [];
    let failed = false;
    const c = consumer({
      groupId,
      topics: [topic],
      handler: async (messages) => {
        for (const m of messages) {
          const value = m.value!.toString();
          // Half the batch is processed when the handler fails (a Redis timeout, say).
          if (value === 'm25' && !failed) {
            failed = true;
            throw new Error('transient failure mid-batch');
          }
          processed.push(value);
        }
      },
    });
    await c.start();
    await waitFor(() => (new Set(processed).size >= 50 ? true : undefined), 60_000, 'all 50');
    expect(failed).toBe(true);
    expect(new Set(processed)).toEqual(new Set(range(0, 50)));
    // What ran before the failure came again (not committed); a retriable error is no crash.
    expect(processed.filter((v) => v === 'm0').length).toBeGreaterThanOrEqual(2);
    expect(c.crashes).toBe(0);
    await waitFor(
      async () => ((await committed(groupId, topic))[0] === '50' ? true : undefined),
      30_000,
      'offset 50 committed',
    );
    await c.stop();

    // Started again, the group resumes after the last committed message: the next one is the
    // first it sees.
    await publish(topic, ['m50']);
    const before = processed.length;
    await c.start();
    await waitFor(() => (processed.length > before ? true : undefined), 30_000, 'the new message');
    expect(processed.slice(before)).toEqual(['m50']);
    expect(c.isReady).toBe(true);
  });

  it('rejoins when its session expired during a batch (membership error reaches kafkajs raw)', async () => {
    const [topic] = await createTestTopics(kafka, ['bc-session'], { partitions: 1 });
    await publish(topic, range(0, 5));
    const seen: string[] = [];
    let slow = true;
    const c = consumer({
      topics: [topic],
      sessionTimeoutMs: 6000, // the broker's minimum
      handler: async (messages) => {
        if (slow) {
          slow = false;
          // No heartbeat for longer than the session: the coordinator drops this member, so
          // the commit that follows fails with a membership error.
          await new Promise((r) => setTimeout(r, 9000));
        }
        for (const m of messages) seen.push(m.value!.toString());
      },
    });
    await c.start();
    await waitFor(() => (seen.length >= 5 ? true : undefined), 60_000, 'the slow batch');
    await publish(topic, ['m5']);
    await waitFor(
      () => (seen.includes('m5') ? true : undefined),
      60_000,
      'consuming after the rejoin',
    );
    expect(c.crashes).toBe(0);
    expect(c.isReady).toBe(true);
  });

  it('reports partitions handed to a new member as revoked for a rebalance, and the new owner consumes them', async () => {
    const [topic] = await createTestTopics(kafka, ['bc-rebalance'], { partitions: 2 });
    const groupId = uniqueName('bc-rebalance-group');
    const revokedFromA: { partitions: TopicPartition[]; reason: RevokeReason }[] = [];
    const seenBy = { a: [] as string[], b: [] as string[] };
    const a = consumer({
      groupId,
      topics: [topic],
      handler: async (messages) => {
        for (const m of messages) seenBy.a.push(m.value!.toString());
      },
      onPartitionsRevoked: (partitions, reason) => {
        revokedFromA.push({ partitions, reason });
      },
    });
    await a.start();
    expect(a.assigned).toHaveLength(2);
    const b = consumer({
      groupId,
      topics: [topic],
      handler: async (messages) => {
        for (const m of messages) seenBy.b.push(m.value!.toString());
      },
    });
    await b.start();
    await waitFor(
      () => (a.assigned.length === 1 && revokedFromA.length > 0 ? true : undefined),
      60_000,
      'the first member to give up a partition',
    );
    expect(revokedFromA).toEqual([{ partitions: [b.assigned[0]], reason: 'rebalance' }]);
    expect(b.assigned).toHaveLength(1);
    expect(a.isReady && b.isReady).toBe(true);
    await producer.send({
      topic,
      acks: -1,
      messages: range(0, 20).map((value, i) => ({ value, partition: i % 2 })),
    });
    await waitFor(
      () => (seenBy.a.length + seenBy.b.length >= 20 ? true : undefined),
      30_000,
      'both partitions consumed',
    );
    expect([...seenBy.a, ...seenBy.b].sort()).toEqual(range(0, 20).sort());
    expect(seenBy.a.length).toBe(10);
    expect(seenBy.b.length).toBe(10);
  });
});
