import { decodeMessage, encodeMessage, offenderSchema, type Offender } from '@sluice/contracts';
import { BatchConsumer, BatchingProducer, type Kafka, type KafkaMessage } from '@sluice/kafka';
import { createTestTopics, testKafka, uniqueName, waitFor } from '@sluice/testing';

function offender(i: number): Offender {
  return {
    v: 1,
    zone: `zone${i % 3}.example`,
    resolver: `198.51.100.${i % 250}`,
    windowStart: 1_000 * i,
    windowEnd: 1_000 * (i + 1),
    attackQueries: i,
    totalQueries: i * 2,
    alertId: null,
    evidence: [{ ts: 1_000 * i, resolver: `198.51.100.${i % 250}`, qname: `abc${i}.zone.example` }],
  };
}

describe('Kafka helpers against the real broker', () => {
  let kafka: Kafka;
  let topic: string;
  const toClose: { stop?: () => Promise<void>; disconnect?: () => Promise<void> }[] = [];

  beforeAll(async () => {
    kafka = testKafka();
    [topic] = await createTestTopics(kafka, ['offenders'], { partitions: 3 });
  });

  afterAll(async () => {
    for (const c of toClose) await (c.stop ?? c.disconnect)?.call(c);
  });

  async function publish(from: number, to: number): Promise<void> {
    const producer = new BatchingProducer(kafka, { maxBufferedMessages: 7 });
    await producer.connect();
    const messages = [];
    for (let i = from; i < to; i++) {
      const value = offender(i);
      messages.push({ key: value.zone, value: encodeMessage(offenderSchema, value) });
    }
    await producer.send(topic, messages);
    await producer.disconnect(); // flushes
    expect(producer.sentMessages).toBe(to - from);
  }

  function consume(groupId: string, into: Offender[]): BatchConsumer {
    const consumer = new BatchConsumer(kafka, {
      groupId,
      topics: [topic],
      fromBeginning: true,
      handler: async (messages: KafkaMessage[]) => {
        for (const m of messages) into.push(decodeMessage(offenderSchema, m.value));
      },
    });
    toClose.push(consumer);
    return consumer;
  }

  it('produces and consumes contract-validated messages, resuming from the committed offset after a restart', async () => {
    const groupId = uniqueName('group');
    await publish(0, 40);

    const first: Offender[] = [];
    const consumer1 = consume(groupId, first);
    await consumer1.start();
    await waitFor(() => (first.length >= 40 ? true : undefined), 30_000, '40 messages');
    await consumer1.stop();
    expect(first.map((o) => o.attackQueries).sort((a, b) => a - b)).toEqual([...Array(40).keys()]);

    // While the group is down, more traffic arrives; a restarted member must see only that.
    await publish(40, 55);
    const second: Offender[] = [];
    const consumer2 = consume(groupId, second);
    await consumer2.start();
    await waitFor(() => (second.length >= 15 ? true : undefined), 30_000, '15 new messages');
    await new Promise((r) => setTimeout(r, 1_000)); // would any already-committed message come back?
    expect(second.map((o) => o.attackQueries).sort((a, b) => a - b)).toEqual(
      [...Array(15).keys()].map((i) => i + 40),
    );
  });

  it('keeps per-key order within a partition', async () => {
    const seen: Offender[] = [];
    const consumer = consume(uniqueName('group'), seen);
    await consumer.start();
    await waitFor(() => (seen.length >= 55 ? true : undefined), 30_000, 'all messages');
    for (const zone of ['zone0.example', 'zone1.example', 'zone2.example']) {
      const order = seen.filter((o) => o.zone === zone).map((o) => o.attackQueries);
      expect(order).toEqual([...order].sort((a, b) => a - b));
    }
  });
});
