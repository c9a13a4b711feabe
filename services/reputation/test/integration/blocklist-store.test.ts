import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type BlocklistEntry } from '@sluice/contracts';
import { createRedis, type Redis } from '@sluice/redis';
import { testRedisConfig } from '@sluice/testing';
import { renderDnsdistLua, renderRpz } from '../../src/core/render';
import { BlocklistRepository, CursorExpiredError } from '../../src/redis/blocklist.repository';
import { ReputationRepository } from '../../src/redis/reputation.repository';
import { FeedService } from '../../src/http/feed.service';
import { BlockPolicy } from '../../src/core/policy';
import { testPolicyConfig } from '../fixtures/policy';

const run = promisify(execFile);

const entry = (id: string, score: number, over: Partial<BlocklistEntry> = {}): BlocklistEntry => ({
  v: 1,
  id,
  scope: { kind: 'resolver-zone', resolver: `10.0.0.${score}`, zone: 'victim.test' },
  action: 'refused',
  reason: 'test',
  score,
  createdAt: 1,
  expiresAt: Date.now() + 60_000,
  shadow: false,
  ...over,
});

/** The blocklist store and the feed against the real Redis; the rendered formats against real tools. */
// The project-level testTimeout does not apply per project in Jest 30; these talk to real services.
jest.setTimeout(60_000);

describe('blocklist store, feed and formats', () => {
  let redis: Redis;
  let store: BlocklistRepository;
  let feed: FeedService;
  let dir: string;

  beforeAll(async () => {
    redis = createRedis(testRedisConfig());
    await redis.connect();
    store = new BlocklistRepository(redis, { maxEntries: 3, logMaxLen: 1000 });
    const policy = new BlockPolicy(testPolicyConfig({ entryTtlMs: 60_000, maxEntries: 3 }));
    feed = new FeedService(
      store,
      new ReputationRepository(redis, {
        halfLifeMs: 60_000,
        evidenceCap: 5,
        memberWindowMs: 120_000,
        keyTtlMs: 600_000,
        maxSubjectsPerKind: 200_000,
        maxMembers: 1000,
        offenderMinRatio: 0.5,
        legitMinQueries: 5,
        outrightSubjects: true,
      }),
      policy,
      () => null,
      () => Date.now(),
    );
    dir = mkdtempSync(join(tmpdir(), 'sluice-formats-'));
  });

  afterAll(async () => {
    await redis.quit();
    rmSync(dir, { recursive: true, force: true });
  });

  it('caps the list, dropping the lowest scores, and logs every change for the deltas', async () => {
    const { cursor: c0 } = await store.snapshot();
    await store.apply([entry('a', 90), entry('b', 60), entry('c', 70)], []);
    const capped = await store.apply([entry('d', 80)], []);
    expect(capped.removed).toEqual(['b']);
    const snap = await store.snapshot();
    expect(snap.entries.map((e) => e.id).sort()).toEqual(['a', 'c', 'd']);
    const delta = await store.since(c0);
    expect(delta.upserted.map((e) => e.id).sort()).toEqual(['a', 'c', 'd']);
    expect(delta.deleted.map((e) => e.id)).toEqual(['b']);
    expect(delta.cursor).toBe(snap.cursor);
    // Nothing after the newest cursor.
    expect(await store.since(snap.cursor)).toMatchObject({ upserted: [], deleted: [] });
  });

  it('streams text deltas and filters by CrowdSec scope names', async () => {
    const client = 'test-client';
    const { cursor } = await store.snapshot();
    await store.apply(
      [entry('e', 95, { scope: { kind: 'prefix', prefix: '10.9.0.0/16' }, action: 'drop' })],
      ['a'],
    );
    const text = await feed.stream(client, { cursor, format: 'text' });
    expect(text.body.split('\n').filter(Boolean)).toHaveLength(2);
    expect(text.body).toMatch(/^\+\tdrop\tprefix\t10\.9\.0\.0\/16\t-\t/m);
    expect(text.body).toMatch(/^-\trefused\tresolver-zone\t10\.0\.0\.90\tvictim\.test\t/m);
    const ranges = JSON.parse((await feed.stream(client, { cursor, scopes: 'range' })).body) as {
      new: Array<{ scope: string }>;
      deleted: unknown[];
    };
    expect(ranges.new.map((d) => d.scope)).toEqual(['Range']);
    expect(ranges.deleted).toEqual([]);
    expect((await feed.stream(client, { cursor, scopes: 'country' })).status).toBe(400);
  });

  it('answers 410 when the change log was trimmed past the cursor', async () => {
    const small = new BlocklistRepository(redis, { maxEntries: 100, logMaxLen: 1 });
    const { cursor } = await small.snapshot();
    for (let i = 0; i < 300; i++) await small.apply([entry(`t${i}`, 50 + (i % 40))], []);
    await expect(small.since(cursor)).rejects.toBeInstanceOf(CursorExpiredError);
    const client = 'test-client';
    expect((await feed.stream(client, { cursor })).status).toBe(410);
  });

  it('renders RPZ that named-checkzone accepts and Lua that dnsdist --check-config accepts', async () => {
    const list = [
      entry('x1', 90),
      entry('x2', 90, { scope: { kind: 'resolver', resolver: '2001:db8::53' }, action: 'drop' }),
      entry('x3', 90, { scope: { kind: 'prefix', prefix: '198.51.100.0/24' }, action: 'nxdomain' }),
      entry('x4', 90, { scope: { kind: 'resolver', resolver: '203.0.113.9' }, action: 'truncate' }),
      entry('x5', 90, { scope: { kind: 'asn', asn: 64500 } }),
      entry('x6', 90, { scope: { kind: 'resolver', resolver: '203.0.113.10' }, shadow: true }),
    ];
    for (const zoneName of ['rpz.sluice', 'victim.test.rpz.sluice']) {
      const file = join(dir, `${zoneName}.db`);
      writeFileSync(file, renderRpz(list, { origin: 'rpz.sluice', zoneName, serial: 42 }));
      const { stdout } = await run('named-checkzone', [zoneName, file]);
      expect(stdout).toMatch(/loaded serial 42\nOK/);
    }
    const lua = join(dir, 'sluice.lua');
    writeFileSync(lua, `setLocal("127.0.0.1:53")\n${renderDnsdistLua(list)}`);
    const { stdout } = await run('dnsdist', ['--check-config', '-C', lua]);
    expect(stdout).toContain('Configuration');
    expect(stdout).toMatch(/OK/);
  });
});
