import { ConsumerLagMonitor, type Kafka } from '@sluice/kafka';
import { createTestTopics, testKafka, uniqueName } from '@sluice/testing';

describe('ConsumerLagMonitor against the real broker', () => {
  let kafka: Kafka;
  const monitors: ConsumerLagMonitor[] = [];

  beforeAll(() => {
    kafka = testKafka('consumer-lag-test');
  });

  afterAll(async () => {
    for (const m of monitors) await m.stop();
  });

  it('reports high watermark minus committed offset, per partition, and nothing for a group that never committed', async () => {
    const [topic] = await createTestTopics(kafka, ['lag'], { partitions: 2 });
    const group = uniqueName('lag-group');
    const idle = uniqueName('lag-idle');
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic,
      messages: [
        ...Array.from({ length: 5 }, (_, i) => ({ partition: 0, value: `a${i}` })),
        ...Array.from({ length: 3 }, (_, i) => ({ partition: 1, value: `b${i}` })),
      ],
    });
    await producer.disconnect();
    const admin = kafka.admin();
    await admin.connect();
    await admin.setOffsets({ groupId: group, topic, partitions: [{ partition: 0, offset: '2' }] });
    await admin.disconnect();

    const errors: unknown[] = [];
    const monitor = new ConsumerLagMonitor(
      kafka,
      [
        { groupId: group, topics: [topic] },
        { groupId: idle, topics: [topic] },
      ],
      { onError: (e) => errors.push(e) },
    );
    monitors.push(monitor);
    expect(monitor.snapshot()).toEqual([]);
    await monitor.refresh();
    expect(errors).toEqual([]);
    // Partition 1 was never committed by the group: no figure rather than a misleading one.
    expect(monitor.snapshot()).toEqual([{ group, topic, partition: 0, lag: 3 }]);
  });

  it('clears its figures and reports the error when the topic is gone', async () => {
    const errors: unknown[] = [];
    const monitor = new ConsumerLagMonitor(
      kafka,
      [{ groupId: uniqueName('lag-missing'), topics: [uniqueName('no-such-topic')] }],
      { onError: (e) => errors.push(e) },
    );
    monitors.push(monitor);
    await monitor.refresh();
    expect(monitor.snapshot()).toEqual([]);
    expect(errors).toHaveLength(1);
  });
});
