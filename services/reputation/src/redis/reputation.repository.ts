import { type Redis } from 'ioredis';
import { type EnrichedOffender } from '@sluice/contracts';
import { normaliseName } from '@sluice/dns';
import { type SubjectKind, type SubjectState } from '../core/scoring';

/**
 * One atomic script per batch. Per record: dedupe on (resolver, zone, window end) — Kafka delivery
 * is at-least-once, a redelivered record must not count twice. The windows folded are kept in the
 * resolver-zone hash itself (field `w`: the newest WINDOWS_KEPT window ends), so dedupe state is
 * bounded by the subjects, not by records × time; a record older than every window kept, once
 * that many are kept, counts as a duplicate (a (resolver, zone) pair's records arrive in window
 * order: offender records are keyed by zone, and windows close in order). Fresh records are first
 * aggregated per subject inside the script (the decay fold is order-independent, so folding a
 * batch's sum at its newest event time equals folding each record), then each subject is read and
 * written once: decayed sums, members (the newest maxm), capped evidence. Every subject is ranked
 * in its kind's index by its decayed attack score (log2 of the score at a common instant: score
 * order at any time); past maxs subjects of a kind, the lowest are evicted with their keys.
 * Returns the state of every subject the batch touched, duplicates included, so a replayed batch
 * still re-runs the policy (e.g. after a crash between the Redis write and the Kafka send); and
 * how many subjects were evicted. Same maths as core/decay.ts fold().
 *
 * KEYS[1..6] = each kind's index (KINDS order), then each subject's hash once per chunk; a
 * subject's evidence list (:ev), members (:m) and an ASN's prefixes (:px) are named from its hash
 * key, not declared (standalone Redis, as the rest of Sluice; evicted subjects' keys were already
 * derived so).
 * ARGV[1] = JSON {hl, cap, win, ttl, maxs, maxm, z: [zone…], r: [resolver…], p: [prefix or ''…],
 * recs: [rz, ts, a, t, off, prot, zone, r, p, pz, a, az, …]} — recs flat, REC_FIELDS per record:
 * ts the window's end, zone an index into z, the subjects (rz … az) indexes into KEYS (0 = none),
 * r and p per record (p: the ASN's offending prefix, '' for none); ARGV[1 + i] is record i's
 * evidence JSON (its own argument: nested in ARGV[1] it would be escaped by JSON.stringify and
 * unescaped by cjson).
 * Returns {fresh: one '1'/'0' per record, states: "a,t,ts,n,p" per subject in KEYS order, all
 * joined by ',', evicted}: two strings instead of a nested array of ~6 per subject (the reply's
 * conversion and parsing were a tenth of the reputation process's time).
 */
const FOLD_LUA = `
local cfg = cjson.decode(ARGV[1])
local hl, cap, win, ttl, maxm = cfg.hl, cfg.cap, cfg.win, cfg.ttl, cfg.maxm
local R, Z, RES, PFX = cfg.recs, cfg.z, cfg.r, cfg.p
local RF = 12
-- Constant arguments as Redis itself would format the numbers (%.17g), once per call, not per key.
local TTL, CAP1, KEEPM = string.format('%.17g', ttl), string.format('%.17g', cap - 1), string.format('%.17g', -(maxm + 1))
local fresh, acc, order = {}, {}, {}
local px = {}
local wins, dirty = {}, {}
-- A resolver-zone hash's state, read with its windows (one HMGET where there were two reads).
local held = {}
local WINDOWS_KEPT = 8
-- Has the resolver-zone hash KEYS[k] folded the window ending at we? Records it if not.
local function seenBefore(k, we)
  local w = wins[k]
  if w == nil then
    w = {}
    local cur = redis.call('HMGET', KEYS[k], 'a', 't', 'ts', 'p', 'w')
    local s = cur[5]
    if s then
      for x in string.gmatch(s, '[^,]+') do table.insert(w, tonumber(x)) end
    end
    held[k] = cur
    wins[k] = w
  end
  for _, x in ipairs(w) do
    if x == we then return true end
  end
  if #w >= WINDOWS_KEPT and we < w[1] then return true end
  table.insert(w, we)
  table.sort(w)
  while #w > WINDOWS_KEPT do table.remove(w, 1) end
  dirty[k] = true
  return false
end
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
for i = 1, #R / RF do
  local b = (i - 1) * RF
  local ts = R[b + 2]
  local ok = not seenBefore(R[b + 1], ts)
  fresh[i] = ok and '1' or '0'
  local ra, rt, off, prot = R[b + 3], R[b + 4], R[b + 5], R[b + 6]
  local ev = ARGV[i + 1]
  -- kinds in KINDS order: resolver-zone (no members), resolver (members: zones), then prefix,
  -- prefix-zone, asn, asn-zone (members: resolvers)
  for kind = 1, 6 do
    local h = R[b + (kind == 1 and 1 or kind + 6)]
    if h ~= 0 then
      local x = acc[h]
      if x == nil then
        x = { ev = {}, mem = {}, nmem = 0, prot = false, kind = kind, fresh = false }
        acc[h] = x
        table.insert(order, h)
      end
      if ok then
        x.fresh = true
        addTo(x, ra, rt, ts)
        table.insert(x.ev, ev)
        if kind ~= 1 and off == 1 then
          local member = kind == 2 and Z[R[b + 7]] or RES[i]
          if (x.mem[member] or -1) < ts then
            if x.mem[member] == nil then x.nmem = x.nmem + 1 end
            x.mem[member] = ts
          end
        end
        if prot == 1 then x.prot = true end
      end
    end
  end
  local p = PFX[i]
  if ok and p ~= '' and off == 1 then
    local k = R[b + 11]
    px[k] = px[k] or {}
    if (px[k][p] or -1) < ts then px[k][p] = ts end
  end
end
-- Member times as Redis would format them (%.17g), each distinct one once: a chunk's records share
-- a window end, and number formatting was a tenth of the script's time.
local fmts = {}
local function fmt(x)
  local f = fmts[x]
  if f == nil then
    f = string.format('%.17g', x)
    fmts[x] = f
  end
  return f
end
local bounds = {}
-- ZADD GT member→ts in chunks (unpack has a small stack limit).
local function zadd(key, map)
  local args = {}
  for m, ts in pairs(map) do
    table.insert(args, fmt(ts))
    table.insert(args, m)
    if #args >= 1000 then
      redis.call('ZADD', key, 'GT', unpack(args))
      args = {}
    end
  end
  if #args > 0 then redis.call('ZADD', key, 'GT', unpack(args)) end
end
local out = {}
local ranked = {}
for _, h in ipairs(order) do
  local x = acc[h]
  local key = KEYS[h]
  local mkey = x.kind ~= 1 and key .. ':m' or nil
  local cur = held[h] or redis.call('HMGET', key, 'a', 't', 'ts', 'p')
  local ca, ct, cts = tonumber(cur[1]), tonumber(cur[2]), tonumber(cur[3])
  local p = cur[4] == '1'
  local added = false
  local sa, st_, sts
  if x.fresh then
    local st = { a = ca, t = ct, ts = cts }
    if ca == nil then st = {} end
    addTo(st, x.a, x.t, x.ts)
    ca, ct, cts = st.a, st.t, st.ts
    if x.prot then p = true end
    sa, st_, sts = tostring(ca), tostring(ct), tostring(cts)
    if dirty[h] then
      -- the resolver-zone hash: its windows go in the same write
      redis.call('HSET', key, 'a', sa, 't', st_, 'ts', sts, 'p', p and '1' or '0', 'w', table.concat(wins[h], ','))
      dirty[h] = nil
    else
      redis.call('HSET', key, 'a', sa, 't', st_, 'ts', sts, 'p', p and '1' or '0')
    end
    redis.call('PEXPIRE', key, TTL)
    local evk = key .. ':ev'
    local n = #x.ev
    local from = math.max(1, n - cap + 1)
    -- LPUSH answers the length: trim only a list that grew past the cap
    if redis.call('LPUSH', evk, unpack(x.ev, from, n)) > cap then
      redis.call('LTRIM', evk, 0, CAP1)
    end
    redis.call('PEXPIRE', evk, TTL)
    if mkey and x.nmem > 0 then
      zadd(mkey, x.mem)
      redis.call('PEXPIRE', mkey, TTL)
      added = true
    end
    redis.call('ZADD', KEYS[x.kind], cts / hl + math.log(math.max(ca, 1e-9)) / math.log(2), key)
    ranked[x.kind] = true
  end
  local n = 1
  if mkey and cts ~= nil then
    local bound = bounds[cts]
    if bound == nil then
      bound = '(' .. tostring(cts - win)
      bounds[cts] = bound
    end
    redis.call('ZREMRANGEBYSCORE', mkey, '-inf', bound)
    n = redis.call('ZCARD', mkey)
    -- Members just added past maxm: the oldest go. The newest maxm of the recent ones are the
    -- recent ones among the newest maxm (recent = an upper range of scores), so trimming after
    -- the prune keeps the same members, and only when there is something to trim.
    if added and n > maxm then
      redis.call('ZREMRANGEBYRANK', mkey, 0, KEEPM)
      n = maxm
    end
  end
  -- (the strings just written when the subject was folded: the same tostring of the same numbers)
  out[h - 6] = (sa or tostring(ca or 0)) .. ',' .. (st_ or tostring(ct or 0)) .. ',' .. (sts or tostring(cts or 0)) .. ',' .. tostring(n) .. ',' .. (p and '1' or '0')
end
for k, m in pairs(px) do
  local key = KEYS[k] .. ':px'
  zadd(key, m)
  -- Only the newest members count: past maxm the oldest go (a count past the policy's
  -- thresholds changes nothing, and a flood's million resolvers would all be members).
  redis.call('ZREMRANGEBYRANK', key, 0, KEEPM)
  redis.call('PEXPIRE', key, TTL)
end
for k in pairs(dirty) do
  redis.call('HSET', KEYS[k], 'w', table.concat(wins[k], ','))
  redis.call('PEXPIRE', KEYS[k], TTL)
end
local evicted = 0
for k in pairs(ranked) do
  local over = redis.call('ZCARD', KEYS[k]) - cfg.maxs
  if over > 0 then
    local gone = redis.call('ZPOPMIN', KEYS[k], over)
    for i = 1, #gone, 2 do
      redis.call('UNLINK', gone[i], gone[i] .. ':ev', gone[i] .. ':m', gone[i] .. ':px')
      evicted = evicted + 1
    end
  end
  redis.call('PEXPIRE', KEYS[k], TTL)
end
return { table.concat(fresh), table.concat(out, ','), evicted }
`;

export interface FoldSettings {
  halfLifeMs: number;
  evidenceCap: number;
  memberWindowMs: number;
  keyTtlMs: number;
  /** Most subjects of each kind kept; past it the lowest scores are evicted. */
  maxSubjectsPerKind: number;
  /** Most members (zones, resolvers, prefixes) kept per subject, the newest. */
  maxMembers: number;
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

type FoldCommand = (...args: Array<string | number>) => Promise<[string, string, number]>;

/** Subject kinds in the fold script's order: KEYS[1..6] are their indexes. */
const KINDS = [
  'resolver-zone',
  'resolver',
  'prefix',
  'prefix-zone',
  'asn',
  'asn-zone',
] as const satisfies readonly SubjectKind[];
/** Numbers per record in the script's `recs`. */
const REC_FIELDS = 12;

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

/** A subject's hash and its per-zone subjects' hashes (KEYS indexes), within one chunk. */
interface Family {
  own: number;
  zones: Map<string, number>;
}

/** Decayed reputation in Redis. Every key carries the deployment prefix (createRedis keyPrefix). */

export class ReputationRepository {
  private readonly zones = new Map<string, string>();
  /** Subjects evicted by the per-kind cap since start. */
  evicted = 0;

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
    // KEYS: the six indexes, then each subject's hash once (shared by the chunk's records: a
    // resolver in several zones, a prefix or an ASN with many resolvers).
    const keys: string[] = KINDS.map((kind) => `rep:idx:${kind}`);
    const subject = (kind: SubjectKind, id: string): number => keys.push(keyOf[kind](id));
    const families = {
      resolver: new Map<string, Family>(),
      prefix: new Map<string, Family>(),
      asn: new Map<number, Family>(),
    };
    const zones = new Map<string, number>();
    const prefixes: Array<string | null> = [];
    const resolvers: string[] = [];
    const pxPrefixes: string[] = [];
    const evidence: string[] = [];
    const recs: number[] = [];
    for (const r of records) {
      const prefix = prefixOf(r);
      prefixes.push(prefix);
      resolvers.push(r.resolver);
      const zone = this.normalised(r.zone);
      let zi = zones.get(zone);
      if (zi === undefined) zones.set(zone, (zi = zones.size + 1));
      const ratio = r.totalQueries > 0 ? r.attackQueries / r.totalQueries : 0;
      const asn = r.enrichment.asn;
      let res = families.resolver.get(r.resolver);
      if (res === undefined)
        families.resolver.set(
          r.resolver,
          (res = { own: subject('resolver', r.resolver), zones: new Map() }),
        );
      let rz = res.zones.get(zone);
      if (rz === undefined)
        res.zones.set(zone, (rz = subject('resolver-zone', `${r.resolver}|${zone}`)));
      let p = 0;
      let pz = 0;
      if (prefix !== null) {
        let f = families.prefix.get(prefix);
        if (f === undefined)
          families.prefix.set(prefix, (f = { own: subject('prefix', prefix), zones: new Map() }));
        p = f.own;
        pz = f.zones.get(zone) ?? 0;
        if (pz === 0) f.zones.set(zone, (pz = subject('prefix-zone', `${prefix}|${zone}`)));
      }
      let a = 0;
      let az = 0;
      if (asn !== null) {
        let f = families.asn.get(asn);
        if (f === undefined)
          families.asn.set(asn, (f = { own: subject('asn', String(asn)), zones: new Map() }));
        a = f.own;
        az = f.zones.get(zone) ?? 0;
        if (az === 0) f.zones.set(zone, (az = subject('asn-zone', `${asn}|${zone}`)));
      }
      pxPrefixes.push(prefix !== null && asn !== null ? prefix : '');
      // Every subject is marked when a record shows a protected resolver or legitimate traffic:
      // the policy then never refuses it a whole zone nor blocks its network outright.
      recs.push(
        rz,
        r.windowEnd,
        r.attackQueries,
        r.totalQueries,
        ratio >= s.offenderMinRatio && r.attackQueries > 0 ? 1 : 0,
        isProtected(r) || showsLegitimateTraffic(r, s.legitMinQueries) ? 1 : 0,
        zi,
        res.own,
        p,
        pz,
        a,
        az,
      );
      evidence.push(
        JSON.stringify({
          alertId: r.alertId,
          zone: r.zone,
          resolver: r.resolver,
          windowStart: r.windowStart,
          windowEnd: r.windowEnd,
          attackQueries: r.attackQueries,
          totalQueries: r.totalQueries,
          samples: r.evidence.slice(0, 3),
        }),
      );
    }
    const arg = JSON.stringify({
      hl: s.halfLifeMs,
      cap: s.evidenceCap,
      win: s.memberWindowMs,
      ttl: s.keyTtlMs,
      maxs: s.maxSubjectsPerKind,
      maxm: s.maxMembers,
      z: [...zones.keys()],
      r: resolvers,
      p: pxPrefixes,
      recs,
    });
    const fold = (this.redis as unknown as { sluiceFold: FoldCommand }).sluiceFold.bind(this.redis);
    const [fresh, flat, evicted] = await fold(keys.length, ...keys, arg, ...evidence);
    this.evicted += evicted;
    // One state object per subject (the pipeline names each subject's entry once per object).
    const v = flat.split(',');
    const states: SubjectState[] = [];
    for (let i = 0; i + 4 < v.length; i += 5)
      states.push({
        attack: Number(v[i]),
        total: Number(v[i + 1]),
        ts: Number(v[i + 2]),
        members: Number(v[i + 3]),
        protectedInside: v[i + 4] === '1',
      });
    // KEYS index h (1-based, after the six indexes) → states[h - 7].
    const at = (h: number) => states[h - KINDS.length - 1]!;
    return records.map((_r, i) => {
      const b = i * REC_FIELDS;
      // In the fold's order (resolver-zone, resolver, prefix, prefix-zone, asn, asn-zone).
      const st: FoldResult['states'] = {
        'resolver-zone': at(recs[b]!),
        resolver: at(recs[b + 7]!),
      };
      if (recs[b + 8] !== 0) {
        st.prefix = at(recs[b + 8]!);
        st['prefix-zone'] = at(recs[b + 9]!);
      }
      if (recs[b + 10] !== 0) {
        st.asn = at(recs[b + 10]!);
        st['asn-zone'] = at(recs[b + 11]!);
      }
      return { duplicate: fresh.charCodeAt(i) === 48, prefix: prefixes[i] ?? null, states: st };
    });
  }

  /** normaliseName, remembered: a batch has a handful of zones and thousands of records. */
  private normalised(zone: string): string {
    let n = this.zones.get(zone);
    if (n === undefined) {
      if (this.zones.size >= 10_000) this.zones.clear();
      this.zones.set(zone, (n = normaliseName(zone)));
    }
    return n;
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

  /** asnNetworks for many ASNs in one round trip (same answers, same order as the requests). */
  async asnNetworksMany(
    requests: ReadonlyArray<{ asn: number; now: number }>,
    limit = 256,
  ): Promise<string[][]> {
    if (requests.length === 0) return [];
    const pipe = this.redis.pipeline();
    for (const { asn, now } of requests)
      pipe.zrevrangebyscore(
        `${keyOf.asn(String(asn))}:px`,
        '+inf',
        now - this.settings.memberWindowMs,
        'LIMIT',
        0,
        limit,
      );
    const results = (await pipe.exec()) ?? [];
    return results.map(([err, v]) => {
      if (err) throw err;
      return v as string[];
    });
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
