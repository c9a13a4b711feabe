import { type Redis } from '@sluice/redis';
import {
  type Alert,
  type EnrichedOffender,
  type EnrichmentBlock,
  enrichmentBlockSchema,
  type Evidence,
} from '@sluice/contracts';
import { type AlertSummary, type ResolverAggregate } from '../core/report';

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
local n = tonumber(ARGV[1])
local maxEv = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
local written = 0
for r = 0, n - 1 do
  local k = r * 4
  local a = 3 + r * 10
  local resolver = ARGV[a + 1]
  if redis.call('HSETNX', KEYS[k + 4], resolver .. '|' .. ARGV[a + 2], 1) == 1 then
    local aq, tq, ms = tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4]), tonumber(ARGV[a + 5])
    local first, last, peak = tonumber(ARGV[a + 6]), tonumber(ARGV[a + 7]), tonumber(ARGV[a + 8])
    local evCount = 0
    local cur = redis.call('HGET', KEYS[k + 1], resolver)
    if cur then
      local p1, p2, p3, p4, p5, p6, p7 = string.match(cur, '([^,]+),([^,]+),([^,]+),([^,]+),([^,]+),([^,]+),([^,]+)')
      aq = aq + tonumber(p1); tq = tq + tonumber(p2); ms = ms + tonumber(p3)
      first = math.min(first, tonumber(p4)); last = math.max(last, tonumber(p5)); peak = math.max(peak, tonumber(p6))
      evCount = tonumber(p7)
    end
    -- evidence: only touched while the resolver has fewer than maxEv samples
    if evCount < maxEv and ARGV[a + 10] ~= '[]' then
      local ev = cjson.decode(ARGV[a + 10])
      local list = {}
      if evCount > 0 then list = cjson.decode(redis.call('HGET', KEYS[k + 3], resolver)) end
      for i = 1, #ev do
        if #list >= maxEv then break end
        table.insert(list, ev[i])
      end
      evCount = #list
      redis.call('HSET', KEYS[k + 3], resolver, cjson.encode(list))
    end
    redis.call('HSET', KEYS[k + 1], resolver, string.format('%.0f,%.0f,%.0f,%.0f,%.0f,%.6f,%d', aq, tq, ms, first, last, peak, evCount))
    redis.call('HSET', KEYS[k + 2], resolver, ARGV[a + 9])
    written = written + 1
  end
end
-- one EXPIRE per distinct key: a call's 400 keys are usually the same few scopes
local done = {}
for i = 1, #KEYS do
  if not done[KEYS[i]] then
    done[KEYS[i]] = true
    redis.call('EXPIRE', KEYS[i], ttl)
  end
end
return written
`;

/** Records per script call: amortises the call overhead, keeps each call short. */
const RECORDS_PER_CALL = 100;

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
    let keys: string[] = [];
    let args: Array<string | number> = [];
    const flush = () => {
      if (keys.length === 0) return;
      rec(
        keys.length,
        ...keys,
        keys.length / 4,
        this.options.evidencePerResolver,
        this.ttl,
        ...args,
      );
      keys = [];
      args = [];
    };
    const add = (base: string, enrKey: string, o: EnrichedOffender, evidence: string) => {
      const windowMs = Math.max(1, o.windowEnd - o.windowStart);
      keys.push(`${base}:agg`, enrKey, `${base}:ev`, `${base}:seen`);
      args.push(
        o.resolver,
        o.windowStart,
        o.attackQueries,
        o.totalQueries,
        windowMs,
        o.windowStart,
        o.windowEnd,
        o.attackQueries / (windowMs / 1000),
        JSON.stringify(o.enrichment),
        evidence,
      );
      if (keys.length >= RECORDS_PER_CALL * 4) flush();
    };
    const buckets = new Set<string>();
    for (const o of offenders) {
      const evidence = JSON.stringify(
        o.evidence
          .filter((e) => e.resolver === o.resolver)
          .slice(0, this.options.evidencePerResolver)
          .map((e) => ({ ts: e.ts, qname: e.qname })),
      );
      if (o.alertId !== null) add(alertBase(o.alertId), `${alertBase(o.alertId)}:enr`, o, evidence);
      const bucket = Math.floor(o.windowStart / this.bucketMs) * this.bucketMs;
      add(zoneBase(o.zone, bucket), zoneEnrichment(o.zone), o, evidence);
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
