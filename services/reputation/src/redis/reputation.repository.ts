import { type Redis } from 'ioredis';
import { type EnrichedOffender } from '@sluice/contracts';
import { type SubjectKind, type SubjectState } from '../core/scoring';

/**
 * One atomic step per offender record: dedupe (at-least-once redelivery must not count twice),
 * then the order-independent decay fold (same maths as core/decay.ts fold()) on the four subjects,
 * their recent members and capped evidence. Returns every subject's state even for duplicates, so
 * a replayed record still re-evaluates policy (e.g. after a crash between Redis and Kafka).
 */
const FOLD_LUA = `
local ts = tonumber(ARGV[1])
local attack = tonumber(ARGV[2])
local total = tonumber(ARGV[3])
local hl = tonumber(ARGV[4])
local cap = tonumber(ARGV[6])
local offending = ARGV[9] == '1'
local window = tonumber(ARGV[10])
local keyTtl = tonumber(ARGV[11])
local prot = ARGV[15] == '1'
local fresh = redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[12])
local out = {}
local function subject(h, ev, members, member, markProtected)
  local cur = redis.call('HMGET', h, 'a', 't', 'ts', 'p')
  local ca = tonumber(cur[1]) or 0
  local ct = tonumber(cur[2]) or 0
  local cts = tonumber(cur[3]) or ts
  local p = cur[4] == '1'
  if fresh then
    if ts >= cts then
      local f = 2 ^ (-(ts - cts) / hl)
      ca = ca * f + attack
      ct = ct * f + total
      cts = ts
    else
      local f = 2 ^ (-(cts - ts) / hl)
      ca = ca + attack * f
      ct = ct + total * f
    end
    if markProtected and prot then p = true end
    redis.call('HSET', h, 'a', tostring(ca), 't', tostring(ct), 'ts', tostring(cts), 'p', p and '1' or '0')
    redis.call('PEXPIRE', h, keyTtl)
    redis.call('LPUSH', ev, ARGV[5])
    redis.call('LTRIM', ev, 0, cap - 1)
    redis.call('PEXPIRE', ev, keyTtl)
    if members ~= nil and offending then
      redis.call('ZADD', members, 'GT', ts, member)
      redis.call('PEXPIRE', members, keyTtl)
    end
  end
  local n = 1
  if members ~= nil then
    redis.call('ZREMRANGEBYSCORE', members, '-inf', '(' .. tostring(cts - window))
    n = redis.call('ZCARD', members)
  end
  table.insert(out, {tostring(ca), tostring(ct), tostring(cts), tostring(n), p and '1' or '0'})
end
subject(KEYS[2], KEYS[3], nil, nil, false)
subject(KEYS[4], KEYS[5], KEYS[6], ARGV[8], false)
if ARGV[13] == '1' then subject(KEYS[7], KEYS[8], KEYS[9], ARGV[7], true) end
if ARGV[14] == '1' then
  subject(KEYS[10], KEYS[11], KEYS[12], ARGV[7], true)
  -- The ASN's offending prefixes: what an address-based enforcer needs to apply an ASN block.
  if fresh and offending and ARGV[13] == '1' then
    redis.call('ZADD', KEYS[13], 'GT', ts, ARGV[16])
    redis.call('PEXPIRE', KEYS[13], keyTtl)
  end
end
return {fresh and 1 or 0, out}
`;

export interface FoldSettings {
  halfLifeMs: number;
  evidenceCap: number;
  memberWindowMs: number;
  keyTtlMs: number;
  dedupTtlMs: number;
  offenderMinRatio: number;
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

type FoldCommand = (...args: Array<string | number>) => Promise<[number, string[][]]>;

const keyOf = {
  'resolver-zone': (id: string) => `rep:rz:${id}`,
  resolver: (id: string) => `rep:r:${id}`,
  prefix: (id: string) => `rep:p:${id}`,
  asn: (id: string) => `rep:a:${id}`,
} satisfies Record<SubjectKind, (id: string) => string>;

export function subjectId(
  kind: SubjectKind,
  r: EnrichedOffender,
  prefix: string | null,
): string | null {
  switch (kind) {
    case 'resolver-zone':
      return `${r.resolver}|${r.zone.toLowerCase().replace(/\.$/, '')}`;
    case 'resolver':
      return r.resolver;
    case 'prefix':
      return prefix;
    case 'asn':
      return r.enrichment.asn === null ? null : String(r.enrichment.asn);
  }
}

/** Decayed reputation in Redis. Every key carries the deployment prefix (createRedis keyPrefix). */
export class ReputationRepository {
  constructor(
    private readonly redis: Redis,
    private readonly settings: FoldSettings,
  ) {
    redis.defineCommand('sluiceFold', { numberOfKeys: 13, lua: FOLD_LUA });
  }

  /** Folds a batch in one pipeline; results in input order. `prefixOf` supplies per-subnet keys. */
  async fold(
    records: readonly EnrichedOffender[],
    prefixOf: (r: EnrichedOffender) => string | null,
    isProtected: (r: EnrichedOffender) => boolean,
  ): Promise<FoldResult[]> {
    const s = this.settings;
    const pipeline = this.redis.pipeline();
    const fold = (pipeline as unknown as { sluiceFold: FoldCommand }).sluiceFold.bind(pipeline);
    const prefixes: Array<string | null> = [];
    for (const r of records) {
      const prefix = prefixOf(r);
      prefixes.push(prefix);
      const rz = keyOf['resolver-zone'](subjectId('resolver-zone', r, prefix)!);
      const res = keyOf.resolver(r.resolver);
      const pk = keyOf.prefix(prefix ?? '-');
      const ak = keyOf.asn(String(r.enrichment.asn ?? '-'));
      const ratio = r.totalQueries > 0 ? r.attackQueries / r.totalQueries : 0;
      const evidence = JSON.stringify({
        alertId: r.alertId,
        zone: r.zone,
        resolver: r.resolver,
        windowStart: r.windowStart,
        windowEnd: r.windowEnd,
        attackQueries: r.attackQueries,
        totalQueries: r.totalQueries,
        samples: r.evidence.slice(0, 3),
      });
      void fold(
        `rep:seen:${r.zone}|${r.resolver}|${r.windowStart}|${r.windowEnd}`,
        rz,
        `${rz}:ev`,
        res,
        `${res}:ev`,
        `${res}:m`,
        pk,
        `${pk}:ev`,
        `${pk}:m`,
        ak,
        `${ak}:ev`,
        `${ak}:m`,
        `${ak}:px`,
        r.windowEnd,
        r.attackQueries,
        r.totalQueries,
        s.halfLifeMs,
        evidence,
        s.evidenceCap,
        r.resolver,
        subjectId('resolver-zone', r, prefix)!.split('|')[1]!,
        ratio >= s.offenderMinRatio && r.attackQueries > 0 ? '1' : '0',
        s.memberWindowMs,
        s.keyTtlMs,
        s.dedupTtlMs,
        prefix !== null ? '1' : '0',
        r.enrichment.asn !== null ? '1' : '0',
        isProtected(r) ? '1' : '0',
        prefix ?? '',
      );
    }
    const replies = (await pipeline.exec()) ?? [];
    return replies.map(([err, reply], i) => {
      if (err) throw err;
      const [fresh, states] = reply as [number, string[][]];
      const kinds: SubjectKind[] = ['resolver-zone', 'resolver'];
      if (prefixes[i] !== null) kinds.push('prefix');
      if (records[i]!.enrichment.asn !== null) kinds.push('asn');
      const out: FoldResult = { duplicate: fresh === 0, prefix: prefixes[i] ?? null, states: {} };
      kinds.forEach((k, j) => {
        const v = states[j];
        if (v) out.states[k] = parseState(v);
      });
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

function parseState(v: Array<string | null>): SubjectState {
  return {
    attack: Number(v[0]),
    total: Number(v[1]),
    ts: Number(v[2]),
    members: Number(v[3]),
    protectedInside: v[4] === '1',
  };
}
