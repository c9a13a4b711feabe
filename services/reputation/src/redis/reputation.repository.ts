import { type Redis } from 'ioredis';
import { type EnrichedOffender } from '@sluice/contracts';
import { normaliseName } from '@sluice/dns';
import { type SubjectKind, type SubjectState } from '../core/scoring';
import { FOLD_LUA } from './fold.lua';

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
  /**
   * Keep the outright (every-zone) 'prefix' and 'asn' subjects (BLOCK_OUTRIGHT_NETWORKS). Off,
   * the policy could never turn them into entries, so they are neither folded nor kept. An ASN's
   * offending prefixes (:px, what its per-zone entries list) are kept either way; off, no prefix
   * subject is evicted out of them, so they hold the newest maxMembers per ASN.
   */
  outrightSubjects: boolean;
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
/** Numbers per record in the script's `recs` (the script's RF, fold.lua.ts). */
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
    const outright = s.outrightSubjects;
    // KEYS: the six indexes, then each subject's hash once (shared by the chunk's records: a
    // resolver in several zones, a prefix or an ASN with many resolvers).
    const keys: string[] = KINDS.map((kind) => `rep:idx:${kind}`);
    const subject = (kind: SubjectKind, id: string): number => keys.push(keyOf[kind](id));
    // Without outright subjects an ASN's key only names its :px; such keys go after every
    // subject's (the reply has one state per subject, in KEYS order); until then a record's
    // slot holds -(1 + its place in pxOnly).
    const pxOnly: string[] = [];
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
          families.prefix.set(
            prefix,
            (f = { own: outright ? subject('prefix', prefix) : 0, zones: new Map() }),
          );
        p = f.own;
        pz = f.zones.get(zone) ?? 0;
        if (pz === 0) f.zones.set(zone, (pz = subject('prefix-zone', `${prefix}|${zone}`)));
      }
      let a = 0;
      let az = 0;
      if (asn !== null) {
        let f = families.asn.get(asn);
        if (f === undefined) {
          const own = outright ? subject('asn', String(asn)) : -pxOnly.push(keyOf.asn(String(asn)));
          families.asn.set(asn, (f = { own, zones: new Map() }));
        }
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
    if (pxOnly.length > 0) {
      const at = keys.length;
      keys.push(...pxOnly);
      for (let b = 10; b < recs.length; b += REC_FIELDS) if (recs[b]! < 0) recs[b] = at - recs[b]!;
    }
    const arg = JSON.stringify({
      o: outright ? 1 : 0,
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
      if (recs[b + 9] !== 0) {
        if (outright) st.prefix = at(recs[b + 8]!);
        st['prefix-zone'] = at(recs[b + 9]!);
      }
      if (recs[b + 11] !== 0) {
        if (outright) st.asn = at(recs[b + 10]!);
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
