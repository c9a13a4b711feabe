import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type QueryEvent } from '@sluice/contracts';
import { waitFor } from '@sluice/testing';
import { simulate, type ScenarioSpec } from '@sluice/traffic-sim';
import { PrivateRedis } from './fault-infra';
import { alertKey, judgeAlerts, recordResult } from './fault-pipeline';
import { ServiceStack } from './service-stack';

/**
 * Issue 14, faults: a consumer rebalance while a zone is under attack. One detector process
 * consumes a 3-partition queries topic; once the attack is alerted, a second detector process
 * joins the group while the attack keeps arriving, then the instance that owns the attacked
 * zone's partition leaves (SIGTERM: the graceful stop of a scale-down; SLUICE_FAULTS_LEAVE=kill
 * for SIGKILL) while it still arrives. The zone's state moves with its partition through the
 * Redis checkpoints, so the attack is alerted once: one `started`, one `ended` (after the
 * attack's end), one alert id — never ended and restarted across a hand-over.
 */
const T0 = 1_700_000_000_000;
const ONSET = 40_000;
const ATTACK = 90_000;
const TAIL = 40_000;
const LEAVE = process.env.SLUICE_FAULTS_LEAVE === 'kill' ? 'kill' : 'stop';
const REDIS_PORT = Number(process.env.SLUICE_FAULTS_REBALANCE_REDIS_PORT ?? 16_410);

describe('faults: a detector rebalance while a zone is under attack', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-rebalance-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a second instance joins, then one leaves: the attack is alerted once', async () => {
    const seed = Number(process.env.SLUICE_FAULTS_SEED ?? 14);
    const zones = Array.from({ length: 6 }, (_, i) => `rebalance-${i}.example`);
    const target = zones[0]!;
    const spec: ScenarioSpec = {
      seed,
      startTime: T0,
      durationMs: ONSET + ATTACK + TAIL,
      zones,
      benignQps: 400,
      withResponses: true,
      streams: [{ kind: 'mirai', zone: target, startMs: ONSET, durationMs: ATTACK, qps: 600 }],
    };
    const events = [...simulate(spec)];
    const at = (ms: number) => events.findIndex((e) => e.ts >= T0 + ms);
    const redis = new PrivateRedis(REDIS_PORT);
    await redis.start();
    const stack = new ServiceStack({
      brokers: process.env.KAFKA_BROKERS!,
      redisUrl: redis.url,
      zones,
      dir,
      // Checkpoints every second: a hand-over saves one anyway; this bounds a SIGKILL's replay.
      env: { detector: { DETECTOR_CHECKPOINT_INTERVAL_MS: '1000', LOG_LEVEL: 'info' } },
    });
    /** Publishes a slice paced at ~10× real time, so membership changes land mid-stream. */
    const stream = async (list: QueryEvent[]) => {
      for (let i = 0; i < list.length;) {
        const second = Math.floor(list[i]!.ts / 1000);
        let j = i;
        while (j < list.length && Math.floor(list[j]!.ts / 1000) === second) j++;
        await stack.publish(list.slice(i, j));
        i = j;
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    try {
      await stack.init();
      const targetPartition = stack.partitionOf(target);
      await stack.start('detector', 'detector-a', { KAFKA_CLIENT_ID: 'detector-a' });
      await stack.publish(events.slice(0, at(ONSET + 15_000)));
      await waitFor(
        () => (stack.alerts.some((a) => a.zone === target) ? true : undefined),
        120_000,
        'the attack to be alerted',
      );
      // Join while the attack streams in.
      await Promise.all([
        stream(events.slice(at(ONSET + 15_000), at(ONSET + 45_000))),
        stack.start('detector', 'detector-b', { KAFKA_CLIENT_ID: 'detector-b' }),
      ]);
      const split = await waitFor(
        async () => {
          const a = await stack.detectorAssignment();
          return a.size === 2 && [...a.values()].every((p) => p.length > 0) ? a : undefined;
        },
        120_000,
        'both instances to hold partitions',
      );
      const owner = [...split].find(([, ps]) => ps.includes(targetPartition))![0];
      // The owner of the attacked zone leaves while the attack streams in.
      const leaving = (async () => {
        if (LEAVE === 'kill') await stack.kill(owner);
        else await stack.stop(owner);
      })();
      await Promise.all([stream(events.slice(at(ONSET + 45_000), at(ONSET + 75_000))), leaving]);
      await stack.publish(events.slice(at(ONSET + 75_000)));
      const survivor = owner === 'detector-a' ? 'detector-b' : 'detector-a';
      let state = '';
      await waitFor(
        async () => {
          const v = judgeAlerts(stack.alerts, target);
          const lag = await stack.lag(['detector']);
          state = JSON.stringify({ ...v, lag });
          return v.ended >= 1 && lag.detector === 0 ? true : undefined;
        },
        180_000,
        'the survivor to catch up and the attack to end',
      ).catch((e: Error) => {
        throw new Error(`${e.message}: ${state}`);
      });
      const restores = stack.restores();
      const restored = restores.filter((r) => r.partition === targetPartition).length;
      const verdict = judgeAlerts(stack.alerts, target);
      const end = [...new Map(stack.alerts.map((a) => [alertKey(a), a])).values()].find(
        (a) => a.zone === target && a.phase === 'ended',
      )!;
      recordResult(`detector-rebalance-${LEAVE}`, {
        seed,
        targetPartition,
        ownerAfterJoin: owner,
        survivor,
        restoredPartitions: restores.length,
        targetRestores: restored,
        ...verdict,
        alertIds: verdict.alertIds.length,
        errorLines: stack.errorLines().length,
      });
      expect({
        started: verdict.started,
        ended: verdict.ended,
        falseAlerts: verdict.falseAlerts,
        alertIds: verdict.alertIds.length,
      }).toEqual({ started: 1, ended: 1, falseAlerts: 0, alertIds: 1 });
      expect(end.endedAt!).toBeGreaterThanOrEqual(T0 + ONSET + ATTACK);
      // The attacked zone's partition changed hands (at the leave, maybe at the join too), and
      // its new owner started from the checkpoint.
      expect(restored).toBeGreaterThan(0);
    } catch (error) {
      process.stderr.write(
        `[faults] rebalance: ${redis.unexpectedExit ?? 'redis-server up'}; logs\n${stack.allLogs()}\n`,
      );
      throw error;
    } finally {
      await stack.close();
      await redis.destroy();
    }
  }, 600_000);
});
