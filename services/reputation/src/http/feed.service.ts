import { type BlocklistEntry } from '@sluice/contracts';
import { normaliseName } from '@sluice/dns';
import {
  feedFormats,
  renderDnsdistLua,
  renderRpz,
  renderText,
  textLine,
  toDecision,
  type FeedFormat,
} from '../core/render';
import { type SubjectKind } from '../core/scoring';
import { CursorExpiredError, type BlocklistRepository } from '../redis/blocklist.repository';
import { type ReputationRepository } from '../redis/reputation.repository';
import { scoreOf } from '../core/scoring';
import { type BlockPolicy } from '../core/policy';

export interface FeedResponse {
  status: number;
  contentType: string;
  body: string;
  headers?: Record<string, string>;
}

const json = (status: number, body: unknown, headers?: Record<string, string>): FeedResponse => ({
  status,
  contentType: 'application/json',
  body: JSON.stringify(body),
  headers,
});

const scopeNames: Record<string, string> = { ip: 'Ip', range: 'Range', as: 'AS', ipzone: 'IpZone' };

/**
 * The query string as the feed reads it: one string per name. Express turns `?a=1&a=2` into an
 * array and `?a[b]=1` into an object; the feed called string methods on them (HTTP 500 and an
 * ERROR line per hostile request, found by the http-feed fuzz target). Those get a 400.
 */
export function queryParams(
  q: Record<string, unknown>,
): { params: Record<string, string> } | { error: FeedResponse } {
  const params: Record<string, string> = {};
  for (const [name, value] of Object.entries(q)) {
    if (typeof value !== 'string')
      return {
        error: json(400, {
          message: `query parameter ${JSON.stringify(name)} must be given once, as a plain value`,
        }),
      };
    params[name] = value;
  }
  return { params };
}

/** A blocklist cursor: a Redis stream id (milliseconds-sequence), as X-Sluice-Cursor gives it. */
function isCursor(s: string): boolean {
  const m = /^(\d{1,20})-(\d{1,20})$/.exec(s);
  return m !== null && BigInt(m[1]!) < 2n ** 64n && BigInt(m[2]!) < 2n ** 64n - 1n;
}

/** Origin and serials of the zones the RPZ server serves, so a feed download matches them. */
export interface RpzFeedZones {
  origin: string;
  serialOf(zone: string): number;
}

/**
 * The HTTP feed, transport-free (the API key is checked before a request gets here, by
 * service-kit's HTTP guard; `client` is the id of that key): CrowdSec's bouncer stream (`startup=true` → everything as `new`;
 * then `{new, deleted}` since the cursor — sent by the client, or remembered per API key like
 * CrowdSec's LAPI does), full snapshots in four formats, and score explanations.
 */
export class FeedService {
  constructor(
    private readonly blocklist: BlocklistRepository,
    private readonly reputation: ReputationRepository,
    private readonly policy: BlockPolicy,
    /** The RPZ server's zones while it serves them (null without RPZ). */
    private readonly rpzZones: () => RpzFeedZones | null,
    private readonly now: () => number,
  ) {}

  async stream(
    client: string,
    q: { startup?: string; cursor?: string; format?: string; scopes?: string },
  ): Promise<FeedResponse> {
    const format = q.format ?? 'json';
    if (format !== 'json' && format !== 'text')
      return json(400, {
        message: 'format must be json or text for the stream; use /v1/blocklist for rpz or dnsdist',
      });
    const filter = scopeFilter(q.scopes);
    if (filter instanceof Error) return json(400, { message: filter.message });
    if (q.cursor !== undefined && !isCursor(q.cursor))
      return json(400, {
        message: 'cursor must be the X-Sluice-Cursor of an earlier answer; or ask for startup=true',
      });
    const now = this.now();
    let cursor = q.cursor ?? null;
    const startup = q.startup === 'true' || q.startup === '1';
    if (!startup && cursor === null) cursor = await this.blocklist.clientCursor(client);
    let upserted: BlocklistEntry[];
    let deleted: BlocklistEntry[];
    if (startup || cursor === null) {
      const snap = await this.blocklist.snapshot();
      upserted = snap.entries;
      deleted = [];
      cursor = snap.cursor;
    } else {
      try {
        const d = await this.blocklist.since(cursor);
        ({ upserted, deleted, cursor } = d);
      } catch (e) {
        if (e instanceof CursorExpiredError) return json(410, { message: e.message });
        throw e;
      }
    }
    await this.blocklist.setClientCursor(client, cursor);
    upserted = upserted.filter(filter);
    deleted = deleted.filter(filter);
    const headers = { 'X-Sluice-Cursor': cursor };
    if (format === 'text') {
      const lines = [
        ...upserted.map((e) => `+\t${textLine(e)}`),
        ...deleted.map((e) => `-\t${textLine(e)}`),
      ];
      return {
        status: 200,
        contentType: 'text/plain; charset=utf-8',
        body: lines.length ? `${lines.join('\n')}\n` : '',
        headers,
      };
    }
    return json(
      200,
      {
        new: upserted.map((e) => toDecision(e, now)),
        deleted: deleted.map((e) => toDecision(e, now)),
        cursor,
      },
      headers,
    );
  }

  async snapshot(q: { format?: string; zone?: string }): Promise<FeedResponse> {
    const format = (q.format ?? 'json') as FeedFormat;
    if (!feedFormats.includes(format))
      return json(400, { message: `format must be one of ${feedFormats.join(', ')}` });
    const { cursor, entries } = await this.blocklist.snapshot();
    const headers = { 'X-Sluice-Cursor': cursor };
    const now = this.now();
    switch (format) {
      case 'json':
        return json(200, { cursor, decisions: entries.map((e) => toDecision(e, now)) }, headers);
      case 'text':
        return {
          status: 200,
          contentType: 'text/plain; charset=utf-8',
          body: renderText(entries),
          headers,
        };
      case 'rpz': {
        const rpz = this.rpzZones();
        const origin = rpz?.origin ?? 'rpz.sluice';
        const zoneName = normaliseName(q.zone ?? origin);
        const serial = rpz?.serialOf(zoneName) ?? Math.floor(now / 1000);
        return {
          status: 200,
          contentType: 'text/dns',
          body: renderRpz(entries, { origin, zoneName, serial }),
          headers,
        };
      }
      case 'dnsdist':
        return { status: 200, contentType: 'text/x-lua', body: renderDnsdistLua(entries), headers };
    }
  }

  async explain(kind: string, id: string): Promise<FeedResponse> {
    const kinds: SubjectKind[] = ['resolver-zone', 'resolver', 'prefix', 'asn'];
    if (!kinds.includes(kind as SubjectKind))
      return json(400, { message: `kind must be one of ${kinds.join(', ')}` });
    // Not kept while off (not even stale state from an earlier run with it on is read).
    if ((kind === 'prefix' || kind === 'asn') && !this.policy.cfg.outrightNetworks)
      return json(404, {
        message: `outright network scoring is off (BLOCK_OUTRIGHT_NETWORKS=false): no every-zone reputation is kept for ${kind} ${id}; its per-zone reputation still is, and outright history starts when the setting is switched on`,
        outrightNetworks: false,
      });
    const x = await this.reputation.explain(kind as SubjectKind, id);
    if (x.state === null) return json(404, { message: `no reputation for ${kind} ${id}` });
    const score = scoreOf(x.kind, x.state, this.now(), this.policy.cfg);
    return json(200, { ...x, score, threshold: this.policy.cfg.thresholds[x.kind] });
  }
}

function scopeFilter(scopes: string | undefined): ((e: BlocklistEntry) => boolean) | Error {
  if (!scopes) return () => true;
  const wanted = new Set<string>();
  for (const s of scopes.split(',')) {
    const name = scopeNames[s.trim().toLowerCase()];
    if (!name) return new Error(`unknown scope ${JSON.stringify(s)}: use ip, range, as, ipzone`);
    wanted.add(name);
  }
  return (e) => wanted.has(toDecision(e, 0).scope);
}
