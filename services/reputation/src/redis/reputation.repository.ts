import { type Redis } from 'ioredis';
import { type EnrichedOffender } from '@sluice/contracts';
import { normaliseName } from '@sluice/dns';
import { showsLegitimate, type SubjectKind, type SubjectState } from '../core/scoring';
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

/** [fresh flags, states, evicted], or [fresh flags] alone when they were not the expected ones. */
type FoldCommand = (
  ...args: Array<string | number>
) => Promise<[string, string, number] | [string]>;

/** Subject kinds in the fold script's order: KEYS[1..6] are their indexes. */
const KINDS = [
  'resolver-zone',
  'resolver',
  'prefix',
  'prefix-zone',
  'asn',
  'asn-zone',
] as const satisfies readonly SubjectKind[];
/**
 * Numbers per record in foldChunk's `recs`: [rz, window end, attack, total, offending, protected,
 * zone, resolver, prefix, prefix-zone, asn, asn-zone] (subjects as KEYS indexes, 0 = none).
 */
const REC_FIELDS = 12;
/** Window ends a resolver-zone hash remembers for dedupe (the script's WINDOWS_KEPT). */
const WINDOWS_KEPT = 8;

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
        isProtected(r) || showsLegitimate(r.attackQueries, r.totalQueries, s.legitMinQueries)
          ? 1
          : 0,
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
    const fold = (this.redis as unknown as { sluiceFold: FoldCommand }).sluiceFold.bind(this.redis);
    // The script dedupes; the subjects are summed here for the records expected fresh (all but
    // repeats inside the chunk). A redelivery makes the script answer its flags instead, unwritten.
    let flags = expectedFresh(recs);
    let reply: [string, string, number];
    for (let attempt = 1; ; attempt++) {
      const { s: subjects, px, tm, d } = aggregate(recs, resolvers, pxPrefixes, flags, outright, s);
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
        tm,
        d,
        f: flags,
        s: subjects,
        px,
      });
      const r = await fold(keys.length, ...keys, arg, ...evidence);
      if (r.length === 3) {
        reply = r;
        break;
      }
      // another writer between two tries could change them again: bounded
      if (attempt >= 5) throw new Error('reputation fold: duplicate flags kept changing');
      flags = r[0];
    }
    const [fresh, flat, evicted] = reply;
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

/**
 * The script's dedupe (seenBefore) run on the chunk alone, as if no window were folded yet: a
 * record is fresh unless its (resolver-zone, window end) came earlier in the chunk.
 */
function expectedFresh(recs: readonly number[]): string {
  const wins = new Map<number, number[]>();
  let f = '';
  for (let b = 0; b < recs.length; b += REC_FIELDS) {
    const h = recs[b]!;
    const we = recs[b + 1]!;
    let w = wins.get(h);
    if (w === undefined) wins.set(h, (w = []));
    if (w.includes(we) || (w.length >= WINDOWS_KEPT && we < w[0]!)) f += '0';
    else {
      w.push(we);
      w.sort((x, y) => x - y);
      while (w.length > WINDOWS_KEPT) w.shift();
      f += '1';
    }
  }
  return f;
}

/** A subject touched by a chunk: its fresh records (0-based, in order), the rest derived. */
interface Aggregate {
  h: number;
  kind: number;
  fresh: number[];
  /** The last fresh offending record whose parent links are any (-1: none). */
  u: number;
}

/**
 * The fold script's per-subject input, summed from the fresh records (flags): for each subject
 * in first-touch order (record order, then kind order) its KEYS index, kind, whether any record
 * was fresh, and then its sums, protected flag, evidence records, members and parent links; and
 * each ASN's offending prefixes. Times are indexes into `tm`. The same sums the script made
 * record by record: records of one window end add up with a decay factor of exactly 1 (2^-0),
 * so they are summed here in order; a subject whose records differ in window end gets each
 * record's numbers, folded in the script (its pow and log, not JavaScript's).
 */
function aggregate(
  recs: readonly number[],
  resolvers: readonly string[],
  pxPrefixes: readonly string[],
  flags: string,
  outright: boolean,
  settings: FoldSettings,
): { s: number[]; px: number[]; tm: number[]; d: number[] } {
  const bySlot: Array<Aggregate | undefined> = [];
  const order: Aggregate[] = [];
  const tm: number[] = [];
  const tmAt = new Map<number, number>();
  const t = (ts: number): number => {
    let i = tmAt.get(ts);
    if (i === undefined) tmAt.set(ts, (i = tm.push(ts)));
    return i;
  };
  const px = new Map<number, Map<string, [number, number]>>();
  // each record's resolver-zone and window end, for the script's dedupe
  const d: number[] = [];
  for (let i = 0, b = 0; b < recs.length; i++, b += REC_FIELDS) {
    d.push(recs[b]!, t(recs[b + 1]!));
    const ok = flags.charCodeAt(i) === 49;
    const off = recs[b + 4] === 1;
    for (let kind = 1; kind <= 6; kind++) {
      const h = recs[b + (kind === 1 ? 0 : kind + 5)]!;
      if (h === 0 || (!outright && (kind === 3 || kind === 5))) continue;
      let x = bySlot[h];
      if (x === undefined) order.push((bySlot[h] = x = { h, kind, fresh: [], u: -1 }));
      // a duplicate still names its subjects: their states are answered
      if (!ok) continue;
      x.fresh.push(i);
      if (off && kind <= 3 && linksOf(recs, b, kind, outright, pxPrefixes[i]!)) x.u = i;
    }
    const p = pxPrefixes[i]!;
    if (ok && off && p !== '') {
      const k = recs[b + 10]!;
      const ts = recs[b + 1]!;
      let m = px.get(k);
      if (m === undefined) px.set(k, (m = new Map<string, [number, number]>()));
      const e = m.get(p);
      if (e === undefined) m.set(p, [i + 1, ts]);
      else if (e[1] < ts) e[1] = ts;
    }
  }
  const s: number[] = [];
  const cap = settings.evidenceCap;
  for (const x of order) {
    const fr = x.fresh;
    s.push(x.h, x.kind, fr.length > 0 ? 1 : 0);
    if (fr.length === 0) continue;
    let same = true;
    const ts0 = recs[fr[0]! * REC_FIELDS + 1]!;
    for (const i of fr) if (recs[i * REC_FIELDS + 1] !== ts0) same = false;
    let prot = 0;
    if (same) {
      let a = 0;
      let tt = 0;
      for (let q = 0; q < fr.length; q++) {
        const b = fr[q]! * REC_FIELDS;
        if (q === 0) {
          a = recs[b + 2]!;
          tt = recs[b + 3]!;
        } else {
          a += recs[b + 2]!;
          tt += recs[b + 3]!;
        }
        if (recs[b + 5] === 1) prot = 1;
      }
      s.push(1, a, tt, t(ts0));
    } else {
      s.push(fr.length);
      for (const i of fr) {
        const b = i * REC_FIELDS;
        s.push(recs[b + 2]!, recs[b + 3]!, t(recs[b + 1]!));
        if (recs[b + 5] === 1) prot = 1;
      }
    }
    s.push(prot);
    const from = Math.max(0, fr.length - cap);
    s.push(fr.length - from);
    for (let q = from; q < fr.length; q++) s.push(fr[q]! + 1);
    // members (kinds but resolver-zone): a zone for a resolver, else the resolver; newest time
    const at = s.push(0) - 1;
    if (x.kind !== 1) {
      let seen: Map<string | number, number> | null = null;
      let first: string | number = 0;
      let n = 0;
      for (const i of fr) {
        const b = i * REC_FIELDS;
        if (recs[b + 4] !== 1) continue;
        const key = x.kind === 2 ? recs[b + 6]! : resolvers[i]!;
        const ts = recs[b + 1]!;
        let pos: number | undefined = at + 1;
        if (n === 0) {
          first = key;
          pos = undefined;
        } else if (seen !== null || key !== first) {
          seen ??= new Map([[first, at + 1]]);
          pos = seen.get(key);
          if (pos === undefined) seen.set(key, s.length);
        }
        if (pos === undefined) {
          s.push(x.kind === 2 ? recs[b + 6]! : i + 1, ts);
          n++;
        } else if (s[pos + 1]! < ts) s[pos + 1] = ts;
      }
      s[at] = n;
      for (let q = 0; q < n; q++) s[at + 2 + 2 * q] = t(s[at + 2 + 2 * q]!);
    }
    if (x.u < 0) s.push(0);
    else {
      const u: number[] = [];
      linksOf(recs, x.u * REC_FIELDS, x.kind, outright, pxPrefixes[x.u]!, u);
      s.push(u.length / 3, ...u);
    }
  }
  const out: number[] = [];
  for (const [k, m] of px) {
    out.push(k, m.size);
    for (const e of m.values()) out.push(e[0], t(e[1]));
  }
  return { s, px: out, tm, d };
}

/**
 * Where a record's subject of `kind` is a member (resolver-zone, resolver, prefix): (parent key,
 * code, ref) triples into `u` (1: a zone index, 2: a record's resolver, 3: its offending
 * prefix), as the script names them. Answers whether there are any.
 */
function linksOf(
  recs: readonly number[],
  b: number,
  kind: number,
  outright: boolean,
  pxPrefix: string,
  u?: number[],
): boolean {
  const ref = b / REC_FIELDS + 1;
  if (kind === 1) {
    if (u) {
      u.push(recs[b + 7]!, 1, recs[b + 6]!);
      if (recs[b + 9] !== 0) u.push(recs[b + 9]!, 2, ref);
      if (recs[b + 11] !== 0) u.push(recs[b + 11]!, 2, ref);
    }
    return true;
  }
  if (kind === 2) {
    if (!outright || (recs[b + 8] === 0 && recs[b + 10] === 0)) return false;
    if (u) {
      if (recs[b + 8] !== 0) u.push(recs[b + 8]!, 2, ref);
      if (recs[b + 10] !== 0) u.push(recs[b + 10]!, 2, ref);
    }
    return true;
  }
  if (pxPrefix === '' || recs[b + 10] === 0) return false;
  u?.push(recs[b + 10]!, 3, ref);
  return true;
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
