import { type Redis } from 'ioredis';
import { type EnrichedOffender } from '@sluice/contracts';
import { normaliseName } from '@sluice/dns';
import { type SubjectKind, type SubjectState } from '../core/scoring';

/**
 * One atomic script per batch. Per record: dedupe on (zone, resolver, window) — Kafka delivery is
 * at-least-once, a redelivered record must not count twice. Fresh records are first aggregated
 * per subject inside the script (the decay fold is order-independent, so folding a batch's sum at
 * its newest event time equals folding each record), then each subject is read and written once:
 * decayed sums, members, capped evidence. Returns the state of every subject the batch touched,
 * duplicates included, so a replayed batch still re-runs the policy (e.g. after a crash between
 * the Redis write and the Kafka send). Same maths as core/decay.ts fold().
 *
 * ARGV[1] = JSON {hl, cap, win, ttl, dttl, recs: [{d, ts, a, t, off, prot, ev, s: [[h, ev, m, member, markProt]…], px?: [key, prefix]}]}
 * where d/h/ev/m/px key are indexes into KEYS (0 = none).
 */
const FOLD_LUA = `
local cfg = cjson.decode(ARGV[1])
local hl, cap, win, ttl = cfg.hl, cfg.cap, cfg.win, cfg.ttl
local fresh, acc, order = {}, {}, {}
local px = {}
local function addTo(x, a, t, ts)
  if x.ts == nil then
    x.a, x.t, x.ts = a, t, ts
  elseif ts >= x.ts then
    local f = 2 ^ (-(ts - x.ts) / hl)
    x.a, x.t, x.ts = x.a * f + a, x.t * f + t, ts
  else
    local f = 2 ^ (-(x.ts - ts) / hl)
    x.a, x.t = x.a + a * f, x.t + t * f
  end
end
for i, r in ipairs(cfg.recs) do
  local ok = redis.call('SET', KEYS[r.d], '1', 'NX', 'PX', cfg.dttl)
  fresh[i] = ok and 1 or 0
  for _, s in ipairs(r.s) do
    local h = s[1]
    local x = acc[h]
    if x == nil then
      x = { ev = {}, mem = {}, nmem = 0, prot = false, evk = s[2], mk = s[3], fresh = false }
      acc[h] = x
      table.insert(order, h)
    end
    if ok then
      x.fresh = true
      addTo(x, r.a, r.t, r.ts)
      table.insert(x.ev, r.ev)
      if s[3] ~= 0 and r.off == 1 and (x.mem[s[4]] or -1) < r.ts then
        if x.mem[s[4]] == nil then x.nmem = x.nmem + 1 end
        x.mem[s[4]] = r.ts
      end
      if s[5] == 1 and r.prot == 1 then x.prot = true end
    end
  end
  if ok and r.px ~= nil and r.off == 1 then
    local k = r.px[1]
    px[k] = px[k] or {}
    if (px[k][r.px[2]] or -1) < r.ts then px[k][r.px[2]] = r.ts end
  end
end
-- ZADD GT member→ts in chunks (unpack has a small stack limit).
local function zaddAll(key, map)
  local args = {}
  for m, ts in pairs(map) do
    table.insert(args, ts)
    table.insert(args, m)
    if #args >= 1000 then
      redis.call('ZADD', key, 'GT', unpack(args))
      args = {}
    end
  end
  if #args > 0 then redis.call('ZADD', key, 'GT', unpack(args)) end
end
local out = {}
for _, h in ipairs(order) do
  local x = acc[h]
  local cur = redis.call('HMGET', KEYS[h], 'a', 't', 'ts', 'p')
  local ca, ct, cts = tonumber(cur[1]), tonumber(cur[2]), tonumber(cur[3])
  local p = cur[4] == '1'
  if x.fresh then
    local st = { a = ca, t = ct, ts = cts }
    if ca == nil then st = {} end
    addTo(st, x.a, x.t, x.ts)
    ca, ct, cts = st.a, st.t, st.ts
    if x.prot then p = true end
    redis.call('HSET', KEYS[h], 'a', tostring(ca), 't', tostring(ct), 'ts', tostring(cts), 'p', p and '1' or '0')
    redis.call('PEXPIRE', KEYS[h], ttl)
    local n = #x.ev
    local from = math.max(1, n - cap + 1)
    redis.call('LPUSH', KEYS[x.evk], unpack(x.ev, from, n))
    redis.call('LTRIM', KEYS[x.evk], 0, cap - 1)
    redis.call('PEXPIRE', KEYS[x.evk], ttl)
    if x.mk ~= 0 and x.nmem > 0 then
      zaddAll(KEYS[x.mk], x.mem)
      redis.call('PEXPIRE', KEYS[x.mk], ttl)
    end
  end
  local n = 1
  if x.mk ~= 0 and cts ~= nil then
    redis.call('ZREMRANGEBYSCORE', KEYS[x.mk], '-inf', '(' .. tostring(cts - win))
    n = redis.call('ZCARD', KEYS[x.mk])
  end
  table.insert(out, { h, tostring(ca or 0), tostring(ct or 0), tostring(cts or 0), tostring(n), p and '1' or '0' })
end
for k, m in pairs(px) do
  zaddAll(KEYS[k], m)
  redis.call('PEXPIRE', KEYS[k], ttl)
end
return { fresh, out }
`;

export interface FoldSettings {
  halfLifeMs: number;
  evidenceCap: number;
  memberWindowMs: number;
  keyTtlMs: number;
  dedupTtlMs: number;
  offenderMinRatio: number;
  /**
   * A record shows legitimate traffic when its non-attack queries reach this count (and 5 % of
   * its total, so a bot-only resolver's few filter false positives do not count).
   */
  legitMinQueries: number;
}

/** What the fold derived for one record: the subject keys used and their states. */
export interface FoldResult {
  duplicate: boolean;
  prefix: string | null;
  states: Partial<Record<SubjectKind, SubjectState>>;
}

export interface ExplainedSubject {
  kind: SubjectKind;
  id: string;
  state: SubjectState | null;
  members: Array<{ member: string; lastOffendingAt: number }>;
  evidence: unknown[];
}

type FoldCommand = (...args: Array<string | number>) => Promise<[number[], string[][]]>;

const FOLD_CHUNK = 1000;

const keyOf = {
  'resolver-zone': (id: string) => `rep:rz:${id}`,
  resolver: (id: string) => `rep:r:${id}`,
  prefix: (id: string) => `rep:p:${id}`,
  asn: (id: string) => `rep:a:${id}`,
  'prefix-zone': (id: string) => `rep:pz:${id}`,
  'asn-zone': (id: string) => `rep:az:${id}`,
} satisfies Record<SubjectKind, (id: string) => string>;

export function subjectId(
  kind: SubjectKind,
  r: EnrichedOffender,
  prefix: string | null,
): string | null {
  switch (kind) {
    case 'resolver-zone':
      return `${r.resolver}|${normaliseName(r.zone)}`;
    case 'resolver':
      return r.resolver;
    case 'prefix':
      return prefix;
    case 'asn':
      return r.enrichment.asn === null ? null : String(r.enrichment.asn);
    case 'prefix-zone':
      return prefix === null ? null : `${prefix}|${normaliseName(r.zone)}`;
    case 'asn-zone':
      return r.enrichment.asn === null ? null : `${r.enrichment.asn}|${normaliseName(r.zone)}`;
  }
}

/** Decayed reputation in Redis. Every key carries the deployment prefix (createRedis keyPrefix). */
export class ReputationRepository {
  constructor(
    private readonly redis: Redis,
    private readonly settings: FoldSettings,
  ) {
    // Key count varies per batch: passed as the first argument (ioredis still prefixes the keys).
    redis.defineCommand('sluiceFold', { lua: FOLD_LUA });
  }

  /**
   * Folds a batch; results in input order. `prefixOf` supplies per-subnet keys. Each chunk of
   * FOLD_CHUNK records is one atomic script, which bounds how long Redis is blocked.
   */
  async fold(
    records: readonly EnrichedOffender[],
    prefixOf: (r: EnrichedOffender) => string | null,
    isProtected: (r: EnrichedOffender) => boolean,
  ): Promise<FoldResult[]> {
    const out: FoldResult[] = [];
    for (let i = 0; i < records.length; i += FOLD_CHUNK)
      out.push(...(await this.foldChunk(records.slice(i, i + FOLD_CHUNK), prefixOf, isProtected)));
    return out;
  }

  private async foldChunk(
    records: readonly EnrichedOffender[],
    prefixOf: (r: EnrichedOffender) => string | null,
    isProtected: (r: EnrichedOffender) => boolean,
  ): Promise<FoldResult[]> {
    if (records.length === 0) return [];
    const s = this.settings;
    const keys: string[] = [];
    const index = new Map<string, number>();
    const k = (key: string): number => {
      let i = index.get(key);
      if (i === undefined) {
        keys.push(key);
        index.set(key, (i = keys.length));
      }
      return i;
    };
    const prefixes: Array<string | null> = [];
    const subjectKeys: Array<Array<[SubjectKind, number]>> = [];
    const recs = records.map((r) => {
      const prefix = prefixOf(r);
      prefixes.push(prefix);
      const zone = normaliseName(r.zone);
      const ratio = r.totalQueries > 0 ? r.attackQueries / r.totalQueries : 0;
      const subjects: Array<[number, number, number, string, number]> = [];
      const mine: Array<[SubjectKind, number]> = [];
      const add = (
        kind: SubjectKind,
        id: string,
        member: string | null,
        markProtected: boolean,
      ) => {
        const h = keyOf[kind](id);
        const hi = k(h);
        subjects.push([
          hi,
          k(`${h}:ev`),
          member === null ? 0 : k(`${h}:m`),
          member ?? '',
          markProtected ? 1 : 0,
        ]);
        mine.push([kind, hi]);
      };
      // Every subject is marked when a record shows a protected resolver or legitimate traffic:
      // the policy then never refuses it a whole zone nor blocks its network outright.
      add('resolver-zone', `${r.resolver}|${zone}`, null, true);
      add('resolver', r.resolver, zone, true);
      const asn = r.enrichment.asn;
      if (prefix !== null) {
        add('prefix', prefix, r.resolver, true);
        add('prefix-zone', `${prefix}|${zone}`, r.resolver, true);
      }
      if (asn !== null) {
        add('asn', String(asn), r.resolver, true);
        add('asn-zone', `${asn}|${zone}`, r.resolver, true);
      }
      subjectKeys.push(mine);
      return {
        d: k(`rep:seen:${r.zone}|${r.resolver}|${r.windowStart}|${r.windowEnd}`),
        ts: r.windowEnd,
        a: r.attackQueries,
        t: r.totalQueries,
        off: ratio >= s.offenderMinRatio && r.attackQueries > 0 ? 1 : 0,
        prot: isProtected(r) || showsLegitimateTraffic(r, s.legitMinQueries) ? 1 : 0,
        ev: JSON.stringify({
          alertId: r.alertId,
          zone: r.zone,
          resolver: r.resolver,
          windowStart: r.windowStart,
          windowEnd: r.windowEnd,
          attackQueries: r.attackQueries,
          totalQueries: r.totalQueries,
          samples: r.evidence.slice(0, 3),
        }),
        s: subjects,
        px:
          asn !== null && prefix !== null ? [k(`${keyOf.asn(String(asn))}:px`), prefix] : undefined,
      };
    });
    const arg = JSON.stringify({
      hl: s.halfLifeMs,
      cap: s.evidenceCap,
      win: s.memberWindowMs,
      ttl: s.keyTtlMs,
      dttl: s.dedupTtlMs,
      recs,
    });
    const fold = (this.redis as unknown as { sluiceFold: FoldCommand }).sluiceFold.bind(this.redis);
    const [fresh, states] = await fold(keys.length, ...keys, arg);
    const byKey = new Map<number, SubjectState>();
    for (const v of states) byKey.set(Number(v[0]), parseState(v.slice(1)));
    return records.map((_r, i) => {
      const out: FoldResult = {
        duplicate: fresh[i] === 0,
        prefix: prefixes[i] ?? null,
        states: {},
      };
      for (const [kind, hi] of subjectKeys[i]!) {
        const st = byKey.get(hi);
        if (st) out.states[kind] = st;
      }
      return out;
    });
  }

  /** Offending prefixes recently seen in an ASN (newest first), pruned to the member window. */
  async asnNetworks(asn: number, now: number, limit = 256): Promise<string[]> {
    const key = `${keyOf.asn(String(asn))}:px`;
    return this.redis.zrevrangebyscore(
      key,
      '+inf',
      now - this.settings.memberWindowMs,
      'LIMIT',
      0,
      limit,
    );
  }

  /** Score inputs plus recent members and evidence: why a subject has its score. */
  async explain(kind: SubjectKind, id: string): Promise<ExplainedSubject> {
    const key = keyOf[kind](id);
    const [h, ev, m] = await Promise.all([
      this.redis.hmget(key, 'a', 't', 'ts', 'p'),
      this.redis.lrange(`${key}:ev`, 0, -1),
      this.redis.zrange(`${key}:m`, 0, -1, 'WITHSCORES'),
    ]);
    const members: ExplainedSubject['members'] = [];
    for (let i = 0; i + 1 < m.length; i += 2)
      members.push({ member: m[i]!, lastOffendingAt: Number(m[i + 1]) });
    const state =
      h[0] === null || h[0] === undefined
        ? null
        : parseState([
            h[0],
            h[1] ?? '0',
            h[2] ?? '0',
            String(kind === 'resolver-zone' ? 1 : members.length),
            h[3] ?? '0',
          ]);
    return { kind, id, state, members, evidence: ev.map((e) => JSON.parse(e) as unknown) };
  }
}

export function showsLegitimateTraffic(r: EnrichedOffender, minQueries: number): boolean {
  const legit = r.totalQueries - r.attackQueries;
  return legit >= minQueries && legit >= 0.05 * r.totalQueries;
}

function parseState(v: Array<string | null>): SubjectState {
  return {
    attack: Number(v[0]),
    total: Number(v[1]),
    ts: Number(v[2]),
    members: Number(v[3]),
    protectedInside: v[4] === '1',
  };
}
