import { type Redis } from '@sluice/redis';
import {
  type Alert,
  type EnrichedOffender,
  type EnrichmentBlock,
  enrichmentBlockSchema,
  type Evidence,
} from '@sluice/contracts';
import { type AlertSummary, type EvictedRows, type ResolverAggregate } from '../core/report-model';
import { RECORD_LUA } from './record.lua';

/**
 * Report inputs in Redis, written as offenders are consumed so a report is a few HGETALLs.
 *
 * Scopes: `report:a:<alertId>` (one attack) and `report:z:<zone>:<bucketStartMs>` (fixed
 * time buckets; a zone + range report merges the buckets it overlaps). Per scope, hashes keyed
 * by resolver (:agg, :enr, :ev) and what was evicted from it (:evicted); one index of every row
 * bounds them all (`maxRows`). record.lua.ts has the layout and the eviction policy. Plus
 * `report:alert:<id>` (summary JSON), `report:zone-alerts:<zone>` (ZSET onset → id) and
 * `report:zone-buckets:<zone>` (ZSET of bucket starts). Every key expires after the retention.
 */
/**
 * Record×scope entries per script call: amortises the call overhead (and names each scope's keys
 * once for all its records), keeps each call short.
 */
const ENTRIES_PER_CALL = 500;

/** Every row of every scope, ranked for eviction (record.lua.ts). */
const INDEX_KEY = 'report:rows';

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
  /** Most resolver rows (resolver × scope) kept in all scopes together; past it the least recently seen go. */
  maxRows: number;
}

export interface RecordResult {
  /** Rows added to or updated (duplicates are not). */
  written: number;
  /** Rows evicted by the cap, in any scope. */
  evicted: number;
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
    if (!('sluiceRecordRows' in redis))
      redis.defineCommand('sluiceRecordRows', { lua: RECORD_LUA });
  }

  get bucketSeconds(): number {
    return this.options.bucketSeconds;
  }

  /**
   * Add enriched offenders to their alert scope and zone bucket; idempotent per window. Rows past
   * `maxRows` are evicted in the same script call as the write.
   */
  async record(offenders: readonly EnrichedOffender[]): Promise<RecordResult> {
    if (offenders.length === 0) return { written: 0, evicted: 0 };
    const pipe = this.redis.pipeline();
    const rec = (pipe as unknown as { sluiceRecordRows: RecordCommand }).sluiceRecordRows.bind(
      pipe,
    );
    const keyPrefix = this.redis.options.keyPrefix ?? '';
    // One call per ENTRIES_PER_CALL: the index, then each distinct scope's three keys; one JSON
    // argument with each record's numbers once and, per (record, scope), the record's index and
    // the scope's; then each record's resolver, block and evidence JSON as their own arguments.
    // Entries run in order (each record's alert scope, then its zone bucket).
    let keys: string[] = [INDEX_KEY];
    let scopeIndex = new Map<string, number>();
    let scopeNames: string[] = [];
    let recArgs: Array<string | number> = [];
    let strings: string[] = [];
    let entryArgs: number[] = [];
    let recs = 0;
    const calls: number[] = [];
    const flush = () => {
      if (entryArgs.length === 0) return;
      calls.push(pipe.length);
      rec(
        keys.length,
        ...keys,
        JSON.stringify([
          this.options.evidencePerResolver,
          this.ttl,
          recArgs,
          entryArgs,
          this.options.maxRows,
          keyPrefix,
          scopeNames,
        ]),
        ...strings,
      );
      keys = [INDEX_KEY];
      scopeIndex = new Map();
      scopeNames = [];
      recArgs = [];
      strings = [];
      entryArgs = [];
      recs = 0;
    };
    const add = (r: number, scope: string) => {
      let b = scopeIndex.get(scope);
      if (b === undefined) {
        scopeNames.push(scope);
        scopeIndex.set(scope, (b = scopeNames.length));
        keys.push(`${scope}:agg`, `${scope}:enr`, `${scope}:ev`);
      }
      entryArgs.push(r, b);
    };
    const buckets = new Set<string>();
    for (const o of offenders) {
      if (entryArgs.length >= ENTRIES_PER_CALL * 2) flush();
      const evidence = evidenceJson(o.evidence, o.resolver, this.options.evidencePerResolver);
      const windowMs = Math.max(1, o.windowEnd - o.windowStart);
      const r = recs++;
      recArgs.push(
        // a string: cjson would read 1.7e12 into a double fine, but this keeps the digits as sent
        String(o.windowStart),
        o.attackQueries,
        o.totalQueries,
        windowMs,
        o.windowStart,
        o.windowEnd,
        o.attackQueries / (windowMs / 1000),
      );
      strings.push(o.resolver, jsonOfBlock(o.enrichment), evidence);
      if (o.alertId !== null) add(r, alertBase(o.alertId));
      const bucket = Math.floor(o.windowStart / this.bucketMs) * this.bucketMs;
      add(r, zoneBase(o.zone, bucket));
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
    const out: RecordResult = { written: 0, evicted: 0 };
    for (const i of calls) {
      const [written, evicted] = results[i]![1] as [number, number];
      out.written += written;
      out.evicted += evicted;
    }
    return out;
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

  async aggregatesForAlert(alertId: string): Promise<ScopeRows> {
    return this.readScopes([alertBase(alertId)], null);
  }

  /** Every resolver of the zone in the buckets overlapping [from, to) — bucket granularity. */
  async aggregatesForZone(zone: string, from: number, to: number): Promise<ScopeRows> {
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
   * One pipelined round trip for all scopes (ascending in time); resolvers are merged across
   * scopes while still raw, and each enrichment block is parsed once per resolver (the newest
   * scope's), not once per bucket. `legacyEnr`: the zone-wide block hash written before blocks
   * were kept per bucket, read for rows that have none.
   */
  private async readScopes(bases: readonly string[], legacyEnr: string | null): Promise<ScopeRows> {
    const evicted: EvictedRows = { rows: 0, attackQueries: 0, totalQueries: 0 };
    if (bases.length === 0) return { rows: [], evicted };
    const pipe = this.redis.pipeline();
    for (const base of bases)
      pipe
        .hgetall(`${base}:agg`)
        .hgetall(`${base}:ev`)
        .hgetall(`${base}:enr`)
        .hgetall(`${base}:evicted`);
    const results = ((await pipe.exec()) ?? []) as Array<
      [Error | null, Record<string, string> | undefined]
    >;
    for (const [err] of results) if (err) throw err;
    const maxEv = this.options.evidencePerResolver;
    const merged = new Map<string, ResolverAggregate>();
    const blocks = new Map<string, string>();
    for (let i = 0; i < bases.length; i++) {
      const agg = results[i * 4]?.[1] ?? {};
      const ev = results[i * 4 + 1]?.[1] ?? {};
      const enr = results[i * 4 + 2]?.[1] ?? {};
      const gone = results[i * 4 + 3]?.[1] ?? {};
      evicted.rows += Number(gone.rows ?? 0);
      evicted.attackQueries += Number(gone.attackQueries ?? 0);
      evicted.totalQueries += Number(gone.totalQueries ?? 0);
      for (const resolver in agg) {
        // the dedupe windows after the seventh field are not read
        const [aq = 0, tq = 0, ms = 0, first = 0, last = 0, peak = 0] = agg[resolver]!.split(
          ',',
          6,
        ).map(Number);
        const block = enr[resolver];
        if (block !== undefined) blocks.set(resolver, block);
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
    const rows = [...merged.values()];
    const missing = legacyEnr === null ? [] : rows.filter((r) => !blocks.has(r.resolver));
    for (let i = 0; i < missing.length; i += 10_000) {
      const chunk = missing.slice(i, i + 10_000);
      const old = await this.redis.hmget(legacyEnr!, ...chunk.map((r) => r.resolver));
      chunk.forEach((r, j) => {
        const b = old[j];
        if (b) blocks.set(r.resolver, b);
      });
    }
    for (const r of rows) r.enrichment = parseEnrichment(blocks.get(r.resolver));
    return { rows, evicted };
  }
}

/** A scope's (or several merged scopes') rows, and what the row cap evicted from them. */
export interface ScopeRows {
  rows: ResolverAggregate[];
  evicted: EvictedRows;
}

const alertBase = (alertId: string) => `report:a:${alertId}`;
const zoneBase = (zone: string, bucket: number) => `report:z:${zone}:${bucket}`;
/**
 * JSON.stringify of the record's evidence about its own resolver, at most `max`, without the
 * resolver field (the hash is keyed by it): one array per record instead of three.
 */
export function evidenceJson(evidence: readonly Evidence[], resolver: string, max: number): string {
  const out: Array<{ ts: number; qname: string }> = [];
  for (const e of evidence) {
    if (out.length >= max) break;
    if (e.resolver === resolver) out.push({ ts: e.ts, qname: e.qname });
  }
  return JSON.stringify(out);
}

/** Written before blocks were kept per bucket; read for such rows until they expire. */
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
