import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  alertSchema,
  decodeMessage,
  decodeQueryBatch,
  type Alert,
  type QueryEvent,
} from '@sluice/contracts';
import { type PacedSink } from '@sluice/ingest';
import { type Kafka } from '@sluice/kafka';

type Consumer = ReturnType<Kafka['consumer']>;
import { repoRoot, uniqueName, waitFor } from '@sluice/testing';
import { type ScenarioSpec } from '@sluice/traffic-sim';

/** One query's identity: Mirai draws a new port and id per packet, so this is unique per query. */
export const eventKey = (e: QueryEvent) =>
  `${e.ts}|${e.resolver}|${e.resolverPort}|${e.id}|${e.qname}|${e.qtype}`;

/** A Mirai flood on one zone of four, with benign traffic on all, and a quiet tail so it ends. */
export function miraiSpec(options: {
  seed: number;
  t0: number;
  onsetMs: number;
  attackMs: number;
  tailMs: number;
}): { spec: ScenarioSpec; target: string; zones: string[] } {
  const zones = Array.from({ length: 4 }, (_, i) => `faults-${i}.example`);
  const target = zones[0]!;
  return {
    target,
    zones,
    spec: {
      seed: options.seed,
      startTime: options.t0,
      durationMs: options.onsetMs + options.attackMs + options.tailMs,
      zones,
      benignQps: 300,
      withResponses: true,
      streams: [
        {
          kind: 'mirai',
          zone: target,
          startMs: options.onsetMs,
          durationMs: options.attackMs,
          qps: 600,
          resolvers: 300,
        },
      ],
    },
  };
}

/** A sink that only counts what the replay produced: the expected multiset of queries. */
export class MemorySink implements PacedSink {
  readonly counts = new Map<string, number>();
  records = 0;
  readonly congested = false;

  whenUncongested(): Promise<void> {
    return Promise.resolve();
  }

  record(event: QueryEvent): void {
    this.records++;
    const k = eventKey(event);
    this.counts.set(k, (this.counts.get(k) ?? 0) + 1);
  }

  malformed(): void {}
}

/** Wraps a sink and runs `hook` once, when the first event at or after `at` (event time) passes. */
export class TriggerSink implements PacedSink {
  fired: Promise<void> | null = null;

  constructor(
    private readonly inner: PacedSink,
    private readonly at: number,
    private readonly hook: () => Promise<void>,
  ) {}

  get congested(): boolean {
    return this.inner.congested;
  }

  whenUncongested(): Promise<void> {
    return this.inner.whenUncongested();
  }

  record(event: QueryEvent, source: string): void {
    if (this.fired === null && event.ts >= this.at) this.fired = this.hook();
    this.inner.record(event, source);
  }

  malformed(reason: string, raw: Buffer, detail: string, source: string): void {
    this.inner.malformed(reason, raw, detail, source);
  }
}

export interface TopicReconciliation {
  /** Queries the replay produced. */
  expected: number;
  /** Query events found on the topic (with duplicates). */
  onTopic: number;
  /** Expected queries missing from the topic. */
  lost: number;
  /** Copies beyond the first (at-least-once redelivery of a produce request). */
  duplicates: number;
  /** Events on the topic that the replay never produced (must be 0). */
  unexpected: number;
  messages: number;
}

/** High watermark per partition of `topic`. */
export async function endOffsets(kafka: Kafka, topic: string): Promise<Map<number, bigint>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return new Map(offsets.map((o) => [o.partition, BigInt(o.high)]));
  } finally {
    await admin.disconnect();
  }
}

/** True once `groupId` has committed the end of every partition of `topic`. */
export async function groupCaughtUp(
  kafka: Kafka,
  groupId: string,
  topic: string,
): Promise<boolean> {
  const ends = await endOffsets(kafka, topic);
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return (committed?.partitions ?? []).every(
      (p) => BigInt(p.offset) >= (ends.get(p.partition) ?? 0n),
    );
  } finally {
    await admin.disconnect();
  }
}

/** Read the whole queries topic and compare it with what the replay produced. */
export async function reconcileQueries(
  kafka: Kafka,
  topic: string,
  expected: Map<string, number>,
  key: (e: QueryEvent) => string = eventKey,
): Promise<TopicReconciliation> {
  const ends = await endOffsets(kafka, topic);
  const seen = new Map<string, number>();
  const reached = new Map<number, boolean>();
  let messages = 0;
  let onTopic = 0;
  const consumer = kafka.consumer({
    groupId: uniqueName('faults-reconcile'),
    maxWaitTimeInMs: 200,
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      messages++;
      if (message.value) {
        for (const e of decodeQueryBatch(message.value).events) {
          onTopic++;
          const k = key(e);
          seen.set(k, (seen.get(k) ?? 0) + 1);
        }
      }
      if (BigInt(message.offset) + 1n >= (ends.get(partition) ?? 0n)) reached.set(partition, true);
    },
  });
  const nonEmpty = [...ends].filter(([, high]) => high > 0n).map(([p]) => p);
  await waitFor(
    () => (nonEmpty.every((p) => reached.get(p)) ? true : undefined),
    60_000,
    'the queries topic read to its end',
  );
  await consumer.disconnect();
  let lost = 0;
  let duplicates = 0;
  let unexpected = 0;
  let expectedTotal = 0;
  for (const [k, n] of expected) {
    expectedTotal += n;
    const got = seen.get(k) ?? 0;
    if (got < n) lost += n - got;
    else duplicates += got - n;
  }
  for (const [k, n] of seen) if (!expected.has(k)) unexpected += n;
  return { expected: expectedTotal, onTopic, lost, duplicates, unexpected, messages };
}

/** Collects every alert on `topic` (raw, duplicates included). */
export async function collectAlerts(
  kafka: Kafka,
  topic: string,
): Promise<{ alerts: Alert[]; consumer: Consumer }> {
  const alerts: Alert[] = [];
  const consumer = kafka.consumer({ groupId: uniqueName('faults-alerts'), maxWaitTimeInMs: 200 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      alerts.push(decodeMessage(alertSchema, message.value));
    },
  });
  return { alerts, consumer };
}

/** Identity of a lifecycle message: a replay repeats it exactly. */
export const alertKey = (a: Alert) => `${a.alertId}|${a.phase}|${a.at}`;

export interface AlertVerdict {
  /** Distinct lifecycle messages per phase for the attacked zone. */
  started: number;
  ended: number;
  updated: number;
  /** Raw alert messages minus distinct ones (harmless: consumers de-duplicate on alertKey). */
  duplicateMessages: number;
  /** Distinct alerts on zones that were not attacked. */
  falseAlerts: number;
  alertIds: string[];
}

export function judgeAlerts(alerts: Alert[], target: string): AlertVerdict {
  const distinct = new Map(alerts.map((a) => [alertKey(a), a]));
  const mine = [...distinct.values()].filter((a) => a.zone === target);
  return {
    started: mine.filter((a) => a.phase === 'started').length,
    ended: mine.filter((a) => a.phase === 'ended').length,
    updated: mine.filter((a) => a.phase === 'updated').length,
    duplicateMessages: alerts.length - distinct.size,
    falseAlerts: new Set(
      [...distinct.values()].filter((a) => a.zone !== target).map((a) => a.alertId),
    ).size,
    alertIds: [...new Set(mine.map((a) => a.alertId))],
  };
}

/** Figures of one fault run, appended to .local/faults/results.jsonl for scripts/faults.sh. */
export function recordResult(fault: string, figures: Record<string, unknown>): void {
  const line = JSON.stringify({ fault, at: new Date().toISOString(), ...figures });
  process.stderr.write(`[faults] ${line}\n`);
  const dir = process.env.SLUICE_FAULTS_RESULTS_DIR ?? join(repoRoot, '.local', 'faults');
  mkdirSync(dir, { recursive: true });
  appendFileSync(join(dir, 'results.jsonl'), `${line}\n`);
}
