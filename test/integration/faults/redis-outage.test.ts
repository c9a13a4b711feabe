import { encodeMessage, offenderSchema, type Offender } from '@sluice/contracts';
import { EnrichmentRuntime, loadEnrichmentConfig } from '@sluice/enrichment';
import { createTestTopics, testKafka, uniqueName, waitFor } from '@sluice/testing';
import { CapturedLog, PrivateRedis } from './fault-infra';
import { recordResult } from './fault-pipeline';

/**
 * Issue 14, faults: Redis unavailable for 30 s (SLUICE_FAULTS_REDIS_OUTAGE_MS), against the
 * enrichment runtime: a private redis-server is SIGSTOPped (hung: the port stays open, nothing
 * answers) or SIGKILLed and restarted (with AOF) while offender records keep arriving on the
 * (shared) broker. Readiness — the same checks the Nest module registers — goes false during the
 * outage, nothing crashes for good, and afterwards it is ready again by itself and every record
 * is enriched (none lost). The offender records are stored as report aggregates in Redis.
 */
const OUTAGE_MS = Number(process.env.SLUICE_FAULTS_REDIS_OUTAGE_MS ?? 30_000);
const BASE_PORT = Number(process.env.SLUICE_FAULTS_REDIS_PORT ?? 16_390);
const T0 = 1_700_000_000_000;

function offender(i: number): Offender {
  const windowStart = T0 + i * 10_000;
  const resolver = `81.2.69.${(i % 250) + 1}`;
  return {
    v: 1,
    zone: 'faults.example',
    resolver,
    windowStart,
    windowEnd: windowStart + 10_000,
    attackQueries: 100,
    totalQueries: 102,
    alertId: 'faults.example@1700000000000',
    evidence: [{ ts: windowStart + 1, resolver, qname: `abcdefgh0123.faults.example` }],
  };
}

describe('faults: Redis unavailable for a while (enrichment)', () => {
  const kafka = testKafka('faults-redis');
  const producer = kafka.producer({ allowAutoTopicCreation: false });

  beforeAll(async () => {
    await producer.connect();
  });

  afterAll(async () => {
    await producer.disconnect();
  });

  // A hung Redis (SIGSTOP: the port stays open, nothing answers) was not detected before the
  // command timeout and RedisHealth's background PING (readiness stayed true for the whole outage).
  const variants = [
    ['SIGKILL, restarted with AOF', 'kill', true, 1],
    ['SIGSTOP (hung Redis)', 'stop', false, 0],
  ] as const;
  it.each(variants)(
    '%s: readiness false, no crash loop, recovers, nothing lost',
    async (name, how, aof, i) => {
      const redis = new PrivateRedis(BASE_PORT + i, { appendOnly: aof });
      await redis.start();
      const [offenders, alerts, enriched, dlq] = await createTestTopics(kafka, [
        'redis-offenders',
        'redis-alerts',
        'redis-enriched',
        'redis-dlq',
      ]);
      const log = new CapturedLog();
      let processed = 0;
      const runtime = new EnrichmentRuntime(
        loadEnrichmentConfig({
          KAFKA_BROKERS: process.env.KAFKA_BROKERS,
          REDIS_URL: redis.url,
          REDIS_KEY_PREFIX: `${uniqueName('faults-redis')}:`,
          LOG_LEVEL: 'warn',
          ENRICH_CONSUMER_GROUP: uniqueName('redis-enrich'),
          ENRICH_OFFENDERS_TOPIC: offenders,
          ENRICH_ALERTS_TOPIC: alerts,
          ENRICH_OUTPUT_TOPIC: enriched,
          ENRICH_DEADLETTER_TOPIC: dlq,
        }),
        { processed: (n) => (processed += n), bad: () => undefined, log },
      );
      // What EnrichmentModule registers for /readyz.
      const ready = () => runtime.redisHealthy && runtime.consuming;
      const send = async (from: number, to: number) => {
        const messages = [];
        for (let k = from; k < to; k++)
          messages.push({
            key: 'faults.example',
            value: encodeMessage(offenderSchema, offender(k)),
          });
        await producer.send({ topic: offenders, acks: -1, messages });
      };
      try {
        await runtime.start();
        await send(0, 100);
        await waitFor(() => (processed >= 100 ? true : undefined), 30_000, 'records before');

        const outageStart = Date.now();
        if (how === 'stop') redis.pause();
        else await redis.kill();
        // Records keep arriving during the outage.
        let sent = 100;
        const sending = (async () => {
          while (sent < 400 && Date.now() - outageStart < OUTAGE_MS - 2000) {
            await send(sent, sent + 50);
            sent += 50;
            await new Promise((r) => setTimeout(r, 2000));
          }
        })();
        let sawNotReady = false;
        let notReadyAfterMs: number | null = null;
        while (Date.now() - outageStart < OUTAGE_MS) {
          if (!ready() && !sawNotReady) {
            sawNotReady = true;
            notReadyAfterMs = Date.now() - outageStart;
          }
          await new Promise((r) => setTimeout(r, 200));
        }
        await sending;
        if (how === 'stop') redis.resume();
        else await redis.start();
        const back = Date.now();
        await waitFor(() => (ready() ? true : undefined), 60_000, 'readiness to come back');
        const readyAfterMs = Date.now() - back;
        await waitFor(
          () => (processed >= sent ? true : undefined),
          60_000,
          'records sent during the outage',
        );
        const caughtUpMs = Date.now() - back;
        recordResult(`redis-outage-${how}${aof ? '-aof' : ''}`, {
          outageMs: OUTAGE_MS,
          sawNotReady: sawNotReady ? 1 : 0,
          notReadyAfterMs: notReadyAfterMs ?? -1,
          readyAfterMs,
          caughtUpMs,
          produced: sent,
          processed,
          errorLines: log.errors.length,
        });
        expect({ name, sawNotReady }).toEqual({ name, sawNotReady: true });
        expect(processed).toBeGreaterThanOrEqual(sent);
      } catch (error) {
        process.stderr.write(
          `[faults] ${name}: processed ${processed}, ready ${ready()}, redis ${runtime.redis.status}, consuming ${runtime.consuming}\n${log.lines.map((l) => `${l.level} ${l.msg} ${JSON.stringify(l.obj).slice(0, 300)}`).join('\n')}\n`,
        );
        throw error;
      } finally {
        await runtime.stop().catch(() => undefined);
        await redis.destroy();
      }
    },
  );
});
