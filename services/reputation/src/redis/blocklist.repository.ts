import { type Redis } from 'ioredis';
import { blocklistEntrySchema, type BlocklistEntry } from '@sluice/contracts';

/**
 * The live blocklist in Redis: `bl:e` (id → entry JSON), `bl:s` (id → score, for the cap),
 * `bl:x` (id → expiry, for the sweep) and `bl:log`, a stream of changes whose ids are the feed's
 * cursors. One Lua script applies a change set atomically, so the hash, the indexes and the log
 * never disagree — the feed's snapshot + deltas always add up to the current list.
 */
const APPLY_LUA = `
local upserts = cjson.decode(ARGV[1])
local deletes = cjson.decode(ARGV[2])
local maxEntries = tonumber(ARGV[3])
local logMax = tonumber(ARGV[4])
local removed = {}
local function log(op, id, json)
  redis.call('XADD', KEYS[4], 'MAXLEN', '~', logMax, '*', 'op', op, 'id', id, 'e', json)
end
local function remove(id)
  local json = redis.call('HGET', KEYS[1], id)
  if json then
    redis.call('HDEL', KEYS[1], id)
    redis.call('ZREM', KEYS[2], id)
    redis.call('ZREM', KEYS[3], id)
    log('deleted', id, json)
    table.insert(removed, id)
  end
end
-- The hash and both indexes take the upserts in one command each (a chunk at a time: unpack has a
-- small stack limit), in order, so a repeated id ends as it would one by one; each is logged.
local n = #upserts
for from = 1, n, 500 do
  local e, s, x = {}, {}, {}
  for i = from, math.min(from + 499, n) do
    local u = upserts[i]
    -- each entry's JSON is its own argument (nested in ARGV[1] it would be escaped and unescaped)
    e[#e + 1] = u.id
    e[#e + 1] = ARGV[4 + i]
    s[#s + 1] = u.score
    s[#s + 1] = u.id
    x[#x + 1] = u.expiresAt
    x[#x + 1] = u.id
  end
  redis.call('HSET', KEYS[1], unpack(e))
  redis.call('ZADD', KEYS[2], unpack(s))
  redis.call('ZADD', KEYS[3], unpack(x))
end
for i, u in ipairs(upserts) do log('new', u.id, ARGV[4 + i]) end
for _, id in ipairs(deletes) do remove(id) end
local size = redis.call('HLEN', KEYS[1])
if size > maxEntries then
  for _, id in ipairs(redis.call('ZRANGE', KEYS[2], 0, size - maxEntries - 1)) do remove(id) end
end
local last = redis.call('XREVRANGE', KEYS[4], '+', '-', 'COUNT', 1)
local cursor = '0-0'
if last[1] then cursor = last[1][1] end
return {cursor, removed}
`;

const SNAPSHOT_LUA = `
local last = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
local cursor = '0-0'
if last[1] then cursor = last[1][1] end
return {cursor, redis.call('HVALS', KEYS[1])}
`;

/** How far the change log reaches back: entries ever added, entries kept, the oldest kept id. */
const HORIZON_LUA = `
if redis.call('EXISTS', KEYS[1]) == 0 then return {0, 0, '0-0'} end
local info = redis.call('XINFO', 'STREAM', KEYS[1])
local out = {0, 0, '0-0'}
for i = 1, #info, 2 do
  if info[i] == 'entries-added' then out[1] = info[i + 1] end
  if info[i] == 'length' then out[2] = info[i + 1] end
  if info[i] == 'first-entry' and info[i + 1] then out[3] = info[i + 1][1] end
end
return out
`;

type HorizonCommand = (key: string) => Promise<[number, number, string]>;
type ApplyCommand = (...args: Array<string | number>) => Promise<[string, string[]]>;
type SnapshotCommand = (...args: string[]) => Promise<[string, string[]]>;

const K = { entries: 'bl:e', scores: 'bl:s', expiries: 'bl:x', log: 'bl:log' };

export interface ApplyResult {
  cursor: string;
  /** Ids actually removed (explicit deletes that existed, expired, or over the cap). */
  removed: string[];
}

export interface Delta {
  cursor: string;
  upserted: BlocklistEntry[];
  deleted: BlocklistEntry[];
}

export class CursorExpiredError extends Error {
  constructor(cursor: string) {
    super(`cursor ${cursor} is older than the retained change log; ask for startup=true`);
  }
}

export class BlocklistRepository {
  constructor(
    private readonly redis: Redis,
    private readonly settings: { maxEntries: number; logMaxLen: number },
  ) {
    redis.defineCommand('sluiceBlApply', { numberOfKeys: 4, lua: APPLY_LUA });
    redis.defineCommand('sluiceBlSnapshot', { numberOfKeys: 2, lua: SNAPSHOT_LUA });
    redis.defineCommand('sluiceBlHorizon', { numberOfKeys: 1, lua: HORIZON_LUA });
  }

  async apply(
    upserts: readonly BlocklistEntry[],
    deletes: readonly string[],
  ): Promise<ApplyResult> {
    const cmd = (this.redis as unknown as { sluiceBlApply: ApplyCommand }).sluiceBlApply.bind(
      this.redis,
    );
    const [cursor, removed] = await cmd(
      K.entries,
      K.scores,
      K.expiries,
      K.log,
      // cjson turns [] into {} and back fine; an empty object iterates as nothing with ipairs.
      JSON.stringify(upserts.map((e) => ({ id: e.id, score: e.score, expiresAt: e.expiresAt }))),
      JSON.stringify(deletes),
      this.settings.maxEntries,
      this.settings.logMaxLen,
      ...upserts.map((e) => JSON.stringify(e)),
    );
    return { cursor, removed: Array.isArray(removed) ? removed : [] };
  }

  /**
   * `validate: false` skips the schema check, as snapshot() does, for the pipeline's own reads of
   * the entries it wrote (every offender window reads one per subject it scored).
   */
  async get(
    ids: readonly string[],
    o: { validate?: boolean } = {},
  ): Promise<Map<string, BlocklistEntry>> {
    const out = new Map<string, BlocklistEntry>();
    if (ids.length === 0) return out;
    const values = await this.redis.hmget(K.entries, ...ids);
    const read = o.validate === false ? trusted : parse;
    values.forEach((v, i) => {
      if (v !== null) out.set(ids[i]!, read(v));
    });
    return out;
  }

  /**
   * The whole list and the cursor it corresponds to. `validate: false` skips the schema check for
   * internal consumers (RPZ, dnsdist): only this service writes these values, and at 100,000
   * entries the check is most of the cost.
   */
  async snapshot(
    o: { validate?: boolean } = {},
  ): Promise<{ cursor: string; entries: BlocklistEntry[] }> {
    const cmd = (
      this.redis as unknown as { sluiceBlSnapshot: SnapshotCommand }
    ).sluiceBlSnapshot.bind(this.redis);
    const [cursor, values] = await cmd(K.entries, K.log);
    return { cursor, entries: values.map(o.validate === false ? trusted : parse) };
  }

  async count(): Promise<number> {
    return this.redis.hlen(K.entries);
  }

  /** Ids whose expiry is at or before `now`. */
  async expired(now: number, limit = 10_000): Promise<string[]> {
    return this.redis.zrangebyscore(K.expiries, '-inf', now, 'LIMIT', 0, limit);
  }

  /**
   * Changes after `cursor`, coalesced per id (the last operation wins). Throws CursorExpiredError
   * when the log was trimmed past the cursor (the client would miss deletions: it must resync).
   */
  async since(cursor: string, limit = 100_000): Promise<Delta> {
    // Once anything was trimmed, a cursor older than the oldest kept entry may have missed changes
    // (conservative: when the cursor's own entry is gone the client resyncs even if nothing else was).
    const horizon = (
      this.redis as unknown as { sluiceBlHorizon: HorizonCommand }
    ).sluiceBlHorizon.bind(this.redis);
    const [added, length, first] = await horizon(K.log);
    if (Number(added) > Number(length) && compareIds(cursor, first) < 0)
      throw new CursorExpiredError(cursor);
    const rows = await this.redis.xrange(K.log, `(${cursor}`, '+', 'COUNT', limit);
    const last = new Map<string, { op: string; entry: BlocklistEntry }>();
    let next = cursor;
    for (const [id, fields] of rows) {
      next = id;
      const f: Record<string, string> = {};
      for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]!] = fields[i + 1]!;
      const entry = parse(f.e ?? '');
      last.delete(entry.id);
      last.set(entry.id, { op: f.op ?? 'new', entry });
    }
    const upserted: BlocklistEntry[] = [];
    const deleted: BlocklistEntry[] = [];
    for (const { op, entry } of last.values()) (op === 'deleted' ? deleted : upserted).push(entry);
    return { cursor: next, upserted, deleted };
  }

  async currentCursor(): Promise<string> {
    const last = await this.redis.xrevrange(K.log, '+', '-', 'COUNT', 1);
    return last[0]?.[0] ?? '0-0';
  }

  /** Per-API-key cursor, so bouncers that do not send one get CrowdSec's "since my last pull". */
  async clientCursor(client: string): Promise<string | null> {
    return this.redis.get(`bl:client:${client}`);
  }

  async setClientCursor(client: string, cursor: string): Promise<void> {
    await this.redis.set(`bl:client:${client}`, cursor, 'EX', 7 * 24 * 3600);
  }
}

function trusted(json: string): BlocklistEntry {
  return JSON.parse(json) as BlocklistEntry;
}

function parse(json: string): BlocklistEntry {
  return blocklistEntrySchema.parse(JSON.parse(json));
}

export function compareIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(BigInt) as [bigint, bigint];
  const [bm, bs] = b.split('-').map(BigInt) as [bigint, bigint];
  return am === bm ? (as === bs ? 0 : as > bs ? 1 : -1) : am > bm ? 1 : -1;
}
