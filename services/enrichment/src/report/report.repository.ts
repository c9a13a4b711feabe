import { type Redis } from '@sluice/redis';
import {
  type Alert,
  type EnrichedOffender,
  type EnrichmentBlock,
  enrichmentBlockSchema,
  type Evidence,
} from '@sluice/contracts';
import { type AlertSummary, mergeAggregates, type ResolverAggregate } from '../core/report';

/**
 * Report inputs in Redis, written as offenders are consumed so a report is a few HGETALLs.
 *
 * Scopes: `report:a:<alertId>` (one attack) and `report:z:<zone>:<bucketStartMs>` (fixed
 * time buckets; a zone + range report merges the buckets it overlaps). Per scope, hashes
 * keyed by resolver IP:
 *   :agg  "attackQueries,totalQueries,activeMs,firstSeen,lastSeen,peakQps" (summed)
 *   :enr  enrichment block JSON (latest)
 *   :ev   evidence samples JSON (first N)
 *   :seen "<resolver>|<windowStart>" → 1, so a redelivered offender is not counted twice
 * Plus `report:alert:<id>` (summary JSON), `report:zone-alerts:<zone>` (ZSET onset → id) and
 * `report:zone-buckets:<zone>` (ZSET of bucket starts). Every key expires after the retention.
 */
const RECORD_LUA = `
local field = ARGV[1] .. '|' .. ARGV[2]
if redis.call('HSETNX', KEYS[4], field, 1) == 0 then return 0 end
local aq, tq, ms = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local first, last, peak = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur then
  local a, b, c, d, e, g = string.match(cur, '([^,]+),([^,]+),([^,]+),([^,]+),([^,]+),([^,]+)')
  aq = aq + tonumber(a); tq = tq + tonumber(b); ms = ms + tonumber(c)
  first = math.min(first, tonumber(d)); last = math.max(last, tonumber(e)); peak = math.max(peak, tonumber(g))
end
redis.call('HSET', KEYS[1], ARGV[1], string.format('%.0f,%.0f,%.0f,%.0f,%.0f,%.6f', aq, tq, ms, first, last, peak))
redis.call('HSET', KEYS[2], ARGV[1], ARGV[9])
local ev = cjson.decode(ARGV[10])
if #ev > 0 then
  local have = redis.call('HGET', KEYS[3], ARGV[1])
  local list = {}
  if have then list = cjson.decode(have) end
  local max = tonumber(ARGV[11])
  if #list < max then
    for i = 1, #ev do
      if #list >= max then break end
      table.insert(list, ev[i])
    end
    redis.call('HSET', KEYS[3], ARGV[1], cjson.encode(list))
  end
end
local ttl = tonumber(ARGV[12])
for i = 1, 4 do redis.call('EXPIRE', KEYS[i], ttl) end
return 1
`;

type RecordCommand = (
  agg: string,
  enr: string,
  ev: string,
  seen: string,
  ...argv: Array<string | number>
) => unknown;

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
      redis.defineCommand('sluiceRecordOffender', { numberOfKeys: 4, lua: RECORD_LUA });
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
    const add = (base: string, o: EnrichedOffender) => {
      const windowMs = Math.max(1, o.windowEnd - o.windowStart);
      const evidence = o.evidence
        .filter((e) => e.resolver === o.resolver)
        .slice(0, this.options.evidencePerResolver)
        .map((e) => ({ ts: e.ts, qname: e.qname }));
      rec(
        `${base}:agg`,
        `${base}:enr`,
        `${base}:ev`,
        `${base}:seen`,
        o.resolver,
        o.windowStart,
        o.attackQueries,
        o.totalQueries,
        windowMs,
        o.windowStart,
        o.windowEnd,
        o.attackQueries / (windowMs / 1000),
        JSON.stringify(o.enrichment),
        JSON.stringify(evidence),
        this.options.evidencePerResolver,
        this.ttl,
      );
    };
    for (const o of offenders) {
      if (o.alertId !== null) add(alertBase(o.alertId), o);
      const bucket = Math.floor(o.windowStart / this.bucketMs) * this.bucketMs;
      add(zoneBase(o.zone, bucket), o);
      pipe.zadd(`report:zone-buckets:${o.zone}`, bucket, String(bucket));
      pipe.expire(`report:zone-buckets:${o.zone}`, this.ttl);
    }
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

  async alert(alertId: string): Promise<AlertSummary | null> {
    const raw = await this.redis.get(`report:alert:${alertId}`);
    return raw ? (JSON.parse(raw) as AlertSummary) : null;
  }

  /** Alerts of a zone with onset in [from, to], newest first. */
  async alertsOfZone(zone: string, from = 0, to = Number.MAX_SAFE_INTEGER): Promise<string[]> {
    return this.redis.zrevrangebyscore(`report:zone-alerts:${zone}`, to, from);
  }

  async aggregatesForAlert(alertId: string): Promise<ResolverAggregate[]> {
    return this.readScope(alertBase(alertId));
  }

  /** Every resolver of the zone in the buckets overlapping [from, to) — bucket granularity. */
  async aggregatesForZone(zone: string, from: number, to: number): Promise<ResolverAggregate[]> {
    const buckets = await this.redis.zrangebyscore(
      `report:zone-buckets:${zone}`,
      from - this.bucketMs + 1,
      `(${to}`,
    );
    const parts: ResolverAggregate[] = [];
    for (const b of buckets) parts.push(...(await this.readScope(zoneBase(zone, Number(b)))));
    return mergeAggregates(parts, this.options.evidencePerResolver);
  }

  private async readScope(base: string): Promise<ResolverAggregate[]> {
    const results = ((await this.redis
      .pipeline()
      .hgetall(`${base}:agg`)
      .hgetall(`${base}:enr`)
      .hgetall(`${base}:ev`)
      .exec()) ?? []) as Array<[Error | null, Record<string, string> | undefined]>;
    for (const [err] of results) if (err) throw err;
    const agg = results[0]?.[1] ?? {};
    const enr = results[1]?.[1] ?? {};
    const ev = results[2]?.[1] ?? {};
    const rows: ResolverAggregate[] = [];
    for (const [resolver, packed] of Object.entries(agg)) {
      const [aq, tq, ms, first, last, peak] = packed.split(',').map(Number);
      const enrichment = parseEnrichment(enr[resolver]);
      const evRaw = ev[resolver];
      rows.push({
        resolver,
        attackQueries: aq ?? 0,
        totalQueries: tq ?? 0,
        activeMs: ms ?? 0,
        firstSeen: first ?? 0,
        lastSeen: last ?? 0,
        peakQps: peak ?? 0,
        enrichment,
        evidence: evRaw
          ? (JSON.parse(evRaw) as Array<{ ts: number; qname: string }>).map((e): Evidence => ({
              ts: e.ts,
              resolver,
              qname: e.qname,
            }))
          : [],
      });
    }
    return rows;
  }
}

const alertBase = (alertId: string) => `report:a:${alertId}`;
const zoneBase = (zone: string, bucket: number) => `report:z:${zone}:${bucket}`;

function parseEnrichment(raw: string | undefined): EnrichmentBlock {
  const parsed = raw ? enrichmentBlockSchema.safeParse(JSON.parse(raw)) : null;
  return parsed?.success
    ? parsed.data
    : {
        asn: null,
        asOrg: null,
        prefix: null,
        country: null,
        resolverKind: 'unknown',
        resolverOperator: null,
      };
}
