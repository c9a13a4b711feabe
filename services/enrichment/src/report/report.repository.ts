import { type Redis } from '@sluice/redis';
import {
  type Alert,
  type EnrichedOffender,
  type EnrichmentBlock,
  enrichmentBlockSchema,
  type Evidence,
} from '@sluice/contracts';
import { type AlertSummary, type ResolverAggregate } from '../core/report-model';

/**
 * Report inputs in Redis, written as offenders are consumed so a report is a few HGETALLs.
 *
 * Scopes: `report:a:<alertId>` (one attack) and `report:z:<zone>:<bucketStartMs>` (fixed
 * time buckets; a zone + range report merges the buckets it overlaps). Per scope, hashes
 * keyed by resolver IP:
 *   :agg  "attackQueries,totalQueries,activeMs,firstSeen,lastSeen,peakQps,evidenceCount" (summed)
 *   :enr  enrichment block JSON (latest); for zones one `report:zenr:<zone>` for all buckets
 *   :ev   evidence samples JSON (first N)
 *   :seen "<resolver>|<windowStart>" → 1, so a redelivered offender is not counted twice
 * Plus `report:alert:<id>` (summary JSON), `report:zone-alerts:<zone>` (ZSET onset → id) and
 * `report:zone-buckets:<zone>` (ZSET of bucket starts). Every key expires after the retention.
 */
const RECORD_LUA = `
local cfg = cjson.decode(ARGV[1])
local maxEv, ttl, recs, entries = cfg[1], cfg[2], cfg[3], cfg[4]
local written = 0
for x = 1, #entries, 5 do
  local r = entries[x]
  local a = r * 7
  local kAgg, kEnr, kEv, kSeen = KEYS[entries[x + 1]], KEYS[entries[x + 2]], KEYS[entries[x + 3]], KEYS[entries[x + 4]]
  local resolver = ARGV[2 + r * 3]
  if redis.call('HSETNX', kSeen, resolver .. '|' .. recs[a + 1], 1) == 1 then
    local aq, tq, ms = recs[a + 2], recs[a + 3], recs[a + 4]
    local first, last, peak = recs[a + 5], recs[a + 6], recs[a + 7]
    local evCount = 0
    local cur = redis.call('HGET', kAgg, resolver)
    if cur then
      local p1, p2, p3, p4, p5, p6, p7 = string.match(cur, '([^,]+),([^,]+),([^,]+),([^,]+),([^,]+),([^,]+),([^,]+)')
      aq = aq + tonumber(p1); tq = tq + tonumber(p2); ms = ms + tonumber(p3)
      first = math.min(first, tonumber(p4)); last = math.max(last, tonumber(p5)); peak = math.max(peak, tonumber(p6))
      evCount = tonumber(p7)
    end
    -- evidence: only touched while the resolver has fewer than maxEv samples
    local evidence = ARGV[4 + r * 3]
    if evCount < maxEv and evidence ~= '[]' then
      local ev = cjson.decode(evidence)
      local list = {}
      if evCount > 0 then list = cjson.decode(redis.call('HGET', kEv, resolver)) end
      for i = 1, #ev do
        if #list >= maxEv then break end
        table.insert(list, ev[i])
      end
      evCount = #list
      redis.call('HSET', kEv, resolver, cjson.encode(list))
    end
    redis.call('HSET', kAgg, resolver, string.format('%.0f,%.0f,%.0f,%.0f,%.0f,%.6f,%d', aq, tq, ms, first, last, peak, evCount))
    redis.call('HSET', kEnr, resolver, ARGV[3 + r * 3])
    written = written + 1
  end
end
-- KEYS are distinct: a call's records share a few scopes, each named once
for i = 1, #KEYS do
  redis.call('EXPIRE', KEYS[i], ttl)
end
return written
`;

/**
 * Record×scope entries per script call: amortises the call overhead (and names each scope's keys
 * once for all its records), keeps each call short.
 */
const ENTRIES_PER_CALL = 500;

/**
 * JSON of each enrichment block, stored once per record and scope: blocks come from the
 * enricher's LRU, one object per resolver, so the string is made once per resolver, not per
 * record. A Map, not a WeakMap (ephemerons cost the GC on every cycle); cleared when full.
 */
const enrichmentJson = new Map<object, string>();
function jsonOfBlock(block: EnrichmentBlock): string {
  let json = enrichmentJson.get(block);
  if (json === undefined) {
    if (enrichmentJson.size >= 200_000) enrichmentJson.clear();
    enrichmentJson.set(block, (json = JSON.stringify(block)));
  }
  return json;
}

type RecordCommand = (numKeys: number, ...keysAndArgs: Array<string | number>) => unknown;

export interface ReportStoreOptions {
  bucketSeconds: number;
  retentionDays: number;
  evidencePerResolver: number;
}

export class ReportRepository {
  private readonly ttl: number;
  private readonly bucketMs: number;

  constructor(
    private readonly redis: Redis,
    private readonly options: ReportStoreOptions,
  ) {
    this.ttl = options.retentionDays * 86_400;
    this.bucketMs = options.bucketSeconds * 1000;
    if (!('sluiceRecordOffender' in redis))
      redis.defineCommand('sluiceRecordOffender', { lua: RECORD_LUA });
  }

  get bucketSeconds(): number {
    return this.options.bucketSeconds;
  }

  /** Add enriched offenders to their alert scope and zone bucket; idempotent per window. */
  async record(offenders: readonly EnrichedOffender[]): Promise<number> {
    if (offenders.length === 0) return 0;
    const pipe = this.redis.pipeline();
    const rec = (
      pipe as unknown as { sluiceRecordOffender: RecordCommand }
    ).sluiceRecordOffender.bind(pipe);
    // One call per ENTRIES_PER_CALL: the distinct keys; one JSON argument with each record's
    // numbers once and, per (record, scope), the record's index and its four keys' indexes; then
    // each record's resolver, block and evidence JSON as their own arguments (byte for byte as
    // before, not escaped into the JSON).
    // Entries run in the order the per-entry calls used (each record's alert scope, then its zone
    // bucket), so the writes are the same.
    let keys: string[] = [];
    let keyIndex = new Map<string, number>();
    let recArgs: Array<string | number> = [];
    let strings: string[] = [];
    let entryArgs: number[] = [];
    let recs = 0;
    const k = (key: string): number => {
      let i = keyIndex.get(key);
      if (i === undefined) {
        keys.push(key);
        keyIndex.set(key, (i = keys.length));
      }
      return i;
    };
    const flush = () => {
      if (entryArgs.length === 0) return;
      rec(
        keys.length,
        ...keys,
        JSON.stringify([this.options.evidencePerResolver, this.ttl, recArgs, entryArgs]),
        ...strings,
      );
      keys = [];
      keyIndex = new Map();
      recArgs = [];
      strings = [];
      entryArgs = [];
      recs = 0;
    };
    const scopes = new Map<string, [string, string, string, string]>();
    const scopeKeys = (base: string, enrKey: string): [string, string, string, string] => {
      let s = scopes.get(base);
      if (s === undefined)
        scopes.set(base, (s = [`${base}:agg`, enrKey, `${base}:ev`, `${base}:seen`]));
      return s;
    };
    const add = (r: number, [agg, enr, ev, seen]: [string, string, string, string]) => {
      entryArgs.push(r, k(agg), k(enr), k(ev), k(seen));
    };
    const buckets = new Set<string>();
    for (const o of offenders) {
      if (entryArgs.length >= ENTRIES_PER_CALL * 5) flush();
      const evidence = JSON.stringify(
        o.evidence
          .filter((e) => e.resolver === o.resolver)
          .slice(0, this.options.evidencePerResolver)
          .map((e) => ({ ts: e.ts, qname: e.qname })),
      );
      const windowMs = Math.max(1, o.windowEnd - o.windowStart);
      const r = recs++;
      recArgs.push(
        // a string, as the dedupe member is "<resolver>|<windowStart>" (a Lua number would print as 1.7e+12)
        String(o.windowStart),
        o.attackQueries,
        o.totalQueries,
        windowMs,
        o.windowStart,
        o.windowEnd,
        o.attackQueries / (windowMs / 1000),
      );
      strings.push(o.resolver, jsonOfBlock(o.enrichment), evidence);
      if (o.alertId !== null) {
        const base = alertBase(o.alertId);
        add(r, scopeKeys(base, `${base}:enr`));
      }
      const bucket = Math.floor(o.windowStart / this.bucketMs) * this.bucketMs;
      add(r, scopeKeys(zoneBase(o.zone, bucket), zoneEnrichment(o.zone)));
      buckets.add(`${bucket} ${o.zone}`);
    }
    flush();
    const zones = new Set<string>();
    for (const b of buckets) {
      const space = b.indexOf(' ');
      const zone = b.slice(space + 1);
      pipe.zadd(`report:zone-buckets:${zone}`, b.slice(0, space), b.slice(0, space));
      zones.add(zone);
    }
    for (const zone of zones) pipe.expire(`report:zone-buckets:${zone}`, this.ttl);
    const results = (await pipe.exec()) ?? [];
    for (const [err] of results) if (err) throw err;
    return offenders.length;
  }

  async saveAlert(alert: Alert): Promise<void> {
    const key = `report:alert:${alert.alertId}`;
    const prev = await this.redis.get(key);
    const old = prev ? (JSON.parse(prev) as AlertSummary) : null;
    const summary: AlertSummary = {
      alertId: alert.alertId,
      zone: alert.zone,
      phase: alert.phase,
      severity: alert.severity,
      onset: alert.onset,
      endedAt: alert.endedAt,
      peakQps: Math.max(old?.peakQps ?? 0, alert.qps),
      generator: alert.fingerprint.generator,
    };
    await this.redis
      .multi()
      .set(key, JSON.stringify(summary), 'EX', this.ttl)
      .zadd(`report:zone-alerts:${alert.zone}`, alert.onset, alert.alertId)
      .expire(`report:zone-alerts:${alert.zone}`, this.ttl)
      .exec();
  }

  /** The data the running service enriches with, so reports can credit it (no expiry). */
  async saveDataSources(lines: string[]): Promise<void> {
    await this.redis.set('report:data-sources', JSON.stringify(lines));
  }

  async dataSources(): Promise<string[]> {
    const raw = await this.redis.get('report:data-sources');
    return raw ? (JSON.parse(raw) as string[]) : [];
  }

  async alert(alertId: string): Promise<AlertSummary | null> {
    const raw = await this.redis.get(`report:alert:${alertId}`);
    return raw ? (JSON.parse(raw) as AlertSummary) : null;
  }

  /** Alerts of a zone with onset in [from, to], newest first. */
  async alertsOfZone(zone: string, from = 0, to = Number.MAX_SAFE_INTEGER): Promise<string[]> {
    return this.redis.zrevrangebyscore(`report:zone-alerts:${zone}`, to, from);
  }

  async aggregatesForAlert(alertId: string): Promise<ResolverAggregate[]> {
    const base = alertBase(alertId);
    return this.readScopes([base], `${base}:enr`);
  }

  /** Every resolver of the zone in the buckets overlapping [from, to) — bucket granularity. */
  async aggregatesForZone(zone: string, from: number, to: number): Promise<ResolverAggregate[]> {
    const buckets = await this.redis.zrangebyscore(
      `report:zone-buckets:${zone}`,
      from - this.bucketMs + 1,
      `(${to}`,
    );
    return this.readScopes(
      buckets.map((b) => zoneBase(zone, Number(b))),
      zoneEnrichment(zone),
    );
  }

  /**
   * One pipelined round trip for all scopes; resolvers are merged across scopes while still
   * raw, and each enrichment block is parsed once per resolver, not once per bucket.
   */
  private async readScopes(bases: readonly string[], enrKey: string): Promise<ResolverAggregate[]> {
    if (bases.length === 0) return [];
    const pipe = this.redis.pipeline();
    for (const base of bases) pipe.hgetall(`${base}:agg`).hgetall(`${base}:ev`);
    const results = ((await pipe.exec()) ?? []) as Array<
      [Error | null, Record<string, string> | undefined]
    >;
    for (const [err] of results) if (err) throw err;
    const maxEv = this.options.evidencePerResolver;
    const merged = new Map<string, ResolverAggregate>();
    for (let i = 0; i < bases.length; i++) {
      const agg = results[i * 2]?.[1] ?? {};
      const ev = results[i * 2 + 1]?.[1] ?? {};
      for (const resolver in agg) {
        const [aq = 0, tq = 0, ms = 0, first = 0, last = 0, peak = 0] =
          agg[resolver]!.split(',').map(Number);
        const evRaw = ev[resolver];
        const evidence = evRaw
          ? (JSON.parse(evRaw) as Array<{ ts: number; qname: string }>).map((e): Evidence => ({
              ts: e.ts,
              resolver,
              qname: e.qname,
            }))
          : [];
        const seen = merged.get(resolver);
        if (!seen) {
          merged.set(resolver, {
            resolver,
            attackQueries: aq,
            totalQueries: tq,
            activeMs: ms,
            firstSeen: first,
            lastSeen: last,
            peakQps: peak,
            enrichment: UNKNOWN_BLOCK,
            evidence,
          });
          continue;
        }
        const r = seen;
        r.attackQueries += aq;
        r.totalQueries += tq;
        r.activeMs += ms;
        r.firstSeen = Math.min(r.firstSeen, first);
        r.lastSeen = Math.max(r.lastSeen, last);
        r.peakQps = Math.max(r.peakQps, peak);
        if (r.evidence.length < maxEv && evidence.length)
          r.evidence = [...r.evidence, ...evidence].sort((a, b) => a.ts - b.ts).slice(0, maxEv);
      }
    }
    // Enrichment is stored once per alert / per zone, not per bucket: fetch only these resolvers.
    const rows = [...merged.values()];
    for (let i = 0; i < rows.length; i += 10_000) {
      const chunk = rows.slice(i, i + 10_000);
      const blocks = await this.redis.hmget(enrKey, ...chunk.map((r) => r.resolver));
      chunk.forEach((r, j) => (r.enrichment = parseEnrichment(blocks[j] ?? undefined)));
    }
    return rows;
  }
}

const alertBase = (alertId: string) => `report:a:${alertId}`;
const zoneBase = (zone: string, bucket: number) => `report:z:${zone}:${bucket}`;
const zoneEnrichment = (zone: string) => `report:zenr:${zone}`;

const UNKNOWN_BLOCK: EnrichmentBlock = {
  asn: null,
  asOrg: null,
  prefix: null,
  country: null,
  resolverKind: 'unknown',
  resolverOperator: null,
};

function parseEnrichment(raw: string | undefined): EnrichmentBlock {
  const parsed = raw ? enrichmentBlockSchema.safeParse(JSON.parse(raw)) : null;
  return parsed?.success ? parsed.data : UNKNOWN_BLOCK;
}
