import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  encodeMessage,
  enrichedOffenderSchema,
  blocklistEntrySchema,
  type EnrichedOffender,
} from '@sluice/contracts';
import { type BatchingProducer, type Kafka } from '@sluice/kafka';
import { testKafka, uniqueName, waitFor } from '@sluice/testing';
import { readCompacted } from '../../src/kafka/blocklist.reconciler';
import { offender } from '../fixtures/offenders';
import { freePort, spawnDaemon, type Spawned } from './nameservers';
import { serviceConfig, serviceTopics, startService, type RunningService } from './service.helpers';

/**
 * State survives a restart of the service AND of Redis: Redis runs with AOF (appendfsync always)
 * and is killed with SIGKILL; the topic is reconciled against Redis at start-up, so an entry that
 * was never published comes back and a phantom one gets its tombstone.
 */
describe('restarts of the service and of Redis', () => {
  let dir: string;
  let redisPort: number;
  let redis: Spawned | null = null;
  let svc: RunningService | null = null;
  let kafka: Kafka;
  let producer: BatchingProducer;
  let input: string;
  let output: string;
  let config: ReturnType<typeof serviceConfig>;

  const startRedis = async () => {
    redis = spawnDaemon('redis-server', [
      '--port',
      String(redisPort),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--appendonly',
      'yes',
      '--appendfsync',
      'always',
      '--save',
      '',
    ]);
    await waitFor(
      () => (/Ready to accept connections/.test(redis!.log()) ? true : undefined),
      20_000,
      'redis',
    );
  };
  const publish = async (records: EnrichedOffender[]) => {
    await producer.send(
      input,
      records.map((r) => ({ key: r.zone, value: encodeMessage(enrichedOffenderSchema, r) })),
    );
    await producer.flush();
  };
  const snapshot = async () => {
    const r = await svc!.get('/v1/decisions/stream?startup=true');
    return (JSON.parse(r.body) as { new: Array<{ entryId: string; until: string }> }).new
      .map((d) => `${d.entryId} ${d.until}`)
      .sort();
  };
  const attackOf = async () =>
    (
      JSON.parse((await svc!.get('/v1/reputation/resolver/10.5.5.5')).body) as {
        state: { attack: number };
      }
    ).state.attack;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-redis-'));
    redisPort = await freePort();
    await startRedis();
    kafka = testKafka('reputation-restart');
    ({ input, output, producer } = await serviceTopics(kafka, 'rep-rs'));
    config = serviceConfig({
      REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      REPUTATION_INPUT_TOPIC: input,
      REPUTATION_OUTPUT_TOPIC: output,
      REPUTATION_GROUP_ID: uniqueName('rep-rs'),
      BLOCK_TTL_MS: '600000',
      // An outright entry too (opt-in), so every kind of state is restored.
      BLOCK_OUTRIGHT_RESOLVERS: 'true',
    });
  }, 60_000);

  afterAll(async () => {
    await svc?.close();
    await producer?.disconnect();
    await redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('comes back with the same entries, scores and topic contents', async () => {
    svc = await startService(config);
    await publish([
      offender({
        resolver: '10.5.5.5',
        zone: 'victim.test',
        // Almost only flood names: no legitimate traffic seen, so it can be blocked outright.
        attack: 990,
        total: 1000,
        prefix: '10.5.5.0/24',
      }),
      offender({
        resolver: '10.5.5.5',
        zone: 'second.test',
        // Almost only flood names: no legitimate traffic seen, so it can be blocked outright.
        attack: 990,
        total: 1000,
        prefix: '10.5.5.0/24',
      }),
    ]);
    const before = await waitFor(
      async () => {
        const s = await snapshot();
        return s.length === 3 ? s : undefined;
      },
      20_000,
      'three entries',
    );
    const attackBefore = await attackOf();
    const serialBefore = svc.runtime.rpz!.zones.currentSerial;
    await svc.close();
    svc = null;

    // Redis dies hard; the topic meanwhile loses one entry (say a crash before the send) and gains a phantom.
    redis!.proc.kill('SIGKILL');
    await redis!.stop();
    await startRedis();
    const phantom = blocklistEntrySchema.parse({
      v: 1,
      id: 'rz:10.6.6.6|ghost.test',
      scope: { kind: 'resolver-zone', resolver: '10.6.6.6', zone: 'ghost.test' },
      action: 'refused',
      reason: 'phantom',
      score: 99,
      createdAt: 1,
      expiresAt: Date.now() + 600_000,
      shadow: false,
    });
    await producer.send(output, [
      { key: phantom.id, value: JSON.stringify(phantom) },
      { key: 'rz:10.5.5.5|victim.test', value: null },
    ]);
    await producer.flush();

    svc = await startService(config);
    expect(await snapshot()).toEqual(before);
    expect(await attackOf()).toBeCloseTo(attackBefore, 6);
    // RPZ rebuilt from Redis with a newer serial (secondaries keep following).
    expect(svc.runtime.rpz!.zones.currentSerial).toBeGreaterThan(serialBefore);
    // (The (resolver, zone) entries hand the resolver to the zone guard: no client-IP trigger.)
    expect(svc.runtime.rpz!.zones.get('rpz.sluice')!.records.map((r) => r.name)).toEqual([
      '32.5.5.5.10.rpz-client-ip.rpz.sluice',
    ]);
    expect(svc.runtime.rpz!.zones.get('victim.test.rpz.sluice')!.records).toEqual([]);
    const topic = await readCompacted(kafka, output);
    expect([...topic.keys()].sort()).toEqual(before.map((l) => l.split(' ')[0]).sort());
    // Scores continue from the restored state.
    await publish([
      offender({
        resolver: '10.5.5.5',
        zone: 'victim.test',
        attack: 500,
        total: 500,
        prefix: '10.5.5.0/24',
      }),
    ]);
    await waitFor(
      async () => ((await attackOf()) > attackBefore + 400 ? true : undefined),
      20_000,
      'score to continue',
    );
  }, 120_000);
});
