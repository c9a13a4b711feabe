import { type BlocklistEntry, type EnrichedOffender } from '@sluice/contracts';
import { cidrOf, normaliseName, parseCidr, parseIp, type ParsedIp } from '@sluice/dns';

/**
 * How much one blocklist entry stopped — or, shadow, would have stopped — as far as Sluice saw it.
 *
 * The source is the detector's offender records (per resolver, zone and window, during attacks:
 * the resolver's queries to the zone and how many asked names the zone had never seen), as the
 * console already receives them enriched. A record counts for an entry when its resolver and zone
 * fall in the entry's scope, for the part of its window inside the entry's life
 * [createdAt, expiresAt) (pro rata: a window the entry began in counts in part):
 * - a client entry (resolver, prefix, ASN, with or without a zone) whose action refuses, drops,
 *   NXDOMAINs or truncates: every query of the record (`totalQueries`);
 * - a client entry with action `guard`, and the zone guard itself: only the never-seen names
 *   (`attackQueries`), because the guard still answers the names the zone has. A guard that
 *   applies to `offenders` counts only clients that have a guard entry for the zone (enforced
 *   ones when the guard is enforced; any when it is shadow: what it would have done).
 * What it is not: outside attack windows the detector names no resolver, so an entry that
 * outlives its attack stops counting; outright (every-zone) entries count only the attacked zones'
 * queries; an enforcer in front of the dnstap source (dnsdist before the nameserver) hides what
 * it refused from Sluice, so there the figure is what still got through.
 */
export interface StopFigures {
  /** Matched queries over the entry's life (as far as the console's history reaches). */
  queries: number;
  /** Matched queries per second over the last `rateSpanMs` of event time. */
  recentQps: number;
  /** Event time of the latest window that matched, or null. */
  lastAt: number | null;
}

interface Counter {
  queries: number;
  lastAt: number;
  /** [windowEnd, queries] of recent windows, oldest first (pruned to the rate span). */
  recent: Array<[number, number]>;
}

interface Indexed {
  entry: BlocklistEntry;
  zone: string | null;
  /** For ASN kinds with `networks`: what address-based enforcers apply. */
  networks: Array<{ family: 4 | 6; first: number | bigint; last: number | bigint }> | null;
}

const SEP = '\u0000';
const MAX_RECENT = 64;

/** Ids by key, with the counts of prefix lengths in use so a record looks up only those. */
class IdIndex {
  readonly map = new Map<string, Set<string>>();
  add(key: string, id: string): void {
    let s = this.map.get(key);
    if (!s) this.map.set(key, (s = new Set()));
    s.add(id);
  }
  delete(key: string, id: string): void {
    const s = this.map.get(key);
    if (!s) return;
    s.delete(id);
    if (s.size === 0) this.map.delete(key);
  }
  get(key: string): Set<string> | undefined {
    return this.map.get(key);
  }
}

export class EntryStops {
  private readonly entries = new Map<string, Indexed>();
  private readonly counters = new Map<string, Counter>();
  private readonly byResolverZone = new IdIndex();
  private readonly byResolver = new IdIndex();
  private readonly byZone = new IdIndex();
  private readonly byAsn = new IdIndex();
  /** Prefix entries by canonical CIDR text (prefix kinds), and how many per family/length. */
  private readonly byPrefix = new IdIndex();
  private readonly prefixLengths = new Map<string, number>();
  private latest = Number.NEGATIVE_INFINITY;

  constructor(readonly rateSpanMs = 60_000) {}

  /** Latest window end seen (event time): "recent" is measured back from it. */
  get clock(): number {
    return this.latest;
  }

  /** Event time moves on without matches too (zone stats): the recent rate falls back to 0. */
  advance(t: number): void {
    if (t > this.latest) this.latest = t;
  }

  /** An upsert. The same id keeps its counts (a refreshed entry is the same entry). */
  set(id: string, entry: BlocklistEntry): void {
    this.unindex(id);
    const s = entry.scope;
    const zone = 'zone' in s ? normaliseName(s.zone) : null;
    let networks: Indexed['networks'] = null;
    switch (s.kind) {
      case 'resolver-zone':
        this.byResolverZone.add(`${canonicalIp(s.resolver)}${SEP}${zone}`, id);
        break;
      case 'resolver':
        this.byResolver.add(canonicalIp(s.resolver), id);
        break;
      case 'zone':
        this.byZone.add(zone!, id);
        break;
      case 'prefix':
      case 'prefix-zone': {
        const key = canonicalCidr(s.prefix);
        if (key === null) break; // not a network: matches nothing, shown with 0
        this.byPrefix.add(key.text, id);
        this.prefixLengths.set(key.lenKey, (this.prefixLengths.get(key.lenKey) ?? 0) + 1);
        break;
      }
      case 'asn':
      case 'asn-zone':
        this.byAsn.add(String(s.asn), id);
        if (entry.networks?.length)
          networks = entry.networks.flatMap((n) => {
            const c = parseCidr(n.includes('/') ? n : `${n}/${n.includes(':') ? 128 : 32}`);
            return c ? [c] : [];
          });
        break;
    }
    this.entries.set(id, { entry, zone, networks });
  }

  /** A tombstone: the entry and its counts go. */
  delete(id: string): void {
    this.unindex(id);
    this.entries.delete(id);
    this.counters.delete(id);
  }

  /**
   * One offender record (already de-duplicated by the caller). Returns the ids whose figures
   * changed.
   */
  apply(o: EnrichedOffender): string[] {
    if (o.windowEnd > this.latest) this.latest = o.windowEnd;
    if (this.entries.size === 0) return [];
    const zone = normaliseName(o.zone);
    const ip = parseIp(o.resolver);
    const resolver = ip ? formatCanonical(ip, o.resolver) : o.resolver;
    const clients: Indexed[] = [];
    const take = (ids: Set<string> | undefined) => {
      if (ids) for (const id of ids) clients.push(this.entries.get(id)!);
    };
    take(this.byResolverZone.get(`${resolver}${SEP}${zone}`));
    take(this.byResolver.get(resolver));
    if (ip)
      for (const lenKey of this.prefixLengths.keys()) {
        const [family, len] = lenKey.split('/');
        if (Number(family) === ip.family) take(this.byPrefix.get(cidrOf(ip, Number(len))));
      }
    const asn = o.enrichment.asn;
    if (asn !== null) take(this.byAsn.get(String(asn)));

    const changed: string[] = [];
    let guardedEnforced = false;
    let guardedAny = false;
    for (const c of clients) {
      if (c.zone !== null && c.zone !== zone) continue;
      if (c.networks && !(ip && c.networks.some((n) => inRange(n, ip)))) continue;
      const guard = c.entry.action === 'guard';
      if (guard) {
        guardedAny = true;
        if (!c.entry.shadow) guardedEnforced = true;
      }
      if (this.count(c, o, guard ? o.attackQueries : o.totalQueries)) changed.push(c.entry.id);
    }
    for (const id of this.byZone.get(zone) ?? []) {
      const g = this.entries.get(id)!;
      const appliesToAll = (g.entry.guard?.appliesTo ?? 'all') === 'all';
      if (!appliesToAll && !(g.entry.shadow ? guardedAny : guardedEnforced)) continue;
      if (this.count(g, o, o.attackQueries)) changed.push(id);
    }
    return changed;
  }

  figures(id: string, now = this.latest): StopFigures {
    const c = this.counters.get(id);
    if (!c) return { queries: 0, recentQps: 0, lastAt: null };
    let recent = 0;
    for (const [end, n] of c.recent) if (end > now - this.rateSpanMs) recent += n;
    return { queries: c.queries, recentQps: recent / (this.rateSpanMs / 1000), lastAt: c.lastAt };
  }

  private count(x: Indexed, o: EnrichedOffender, queries: number): boolean {
    const { createdAt, expiresAt } = x.entry;
    const span = o.windowEnd - o.windowStart;
    const overlap = Math.min(o.windowEnd, expiresAt) - Math.max(o.windowStart, createdAt);
    if (queries <= 0 || overlap <= 0) return false;
    const n = span > 0 ? (queries * Math.min(overlap, span)) / span : queries;
    let c = this.counters.get(x.entry.id);
    if (!c) this.counters.set(x.entry.id, (c = { queries: 0, lastAt: o.windowEnd, recent: [] }));
    c.queries += n;
    c.lastAt = Math.max(c.lastAt, o.windowEnd);
    const last = c.recent[c.recent.length - 1];
    if (last && last[0] === o.windowEnd) last[1] += n;
    else {
      c.recent.push([o.windowEnd, n]);
      if (last && last[0] > o.windowEnd) c.recent.sort((a, b) => a[0] - b[0]);
    }
    const horizon = this.latest - this.rateSpanMs;
    while (c.recent.length && (c.recent[0]![0] <= horizon || c.recent.length > MAX_RECENT))
      c.recent.shift();
    return true;
  }

  private unindex(id: string): void {
    const old = this.entries.get(id);
    if (!old) return;
    const s = old.entry.scope;
    switch (s.kind) {
      case 'resolver-zone':
        this.byResolverZone.delete(`${canonicalIp(s.resolver)}${SEP}${old.zone}`, id);
        break;
      case 'resolver':
        this.byResolver.delete(canonicalIp(s.resolver), id);
        break;
      case 'zone':
        this.byZone.delete(old.zone!, id);
        break;
      case 'prefix':
      case 'prefix-zone': {
        const key = canonicalCidr(s.prefix);
        if (key === null) break;
        this.byPrefix.delete(key.text, id);
        const n = (this.prefixLengths.get(key.lenKey) ?? 1) - 1;
        if (n > 0) this.prefixLengths.set(key.lenKey, n);
        else this.prefixLengths.delete(key.lenKey);
        break;
      }
      case 'asn':
      case 'asn-zone':
        this.byAsn.delete(String(s.asn), id);
        break;
    }
  }
}

/** One spelling per address (IPv6 compressed, IPv4-mapped as IPv4), as cidrOf writes it. */
function canonicalIp(text: string): string {
  const ip = parseIp(text);
  return ip ? formatCanonical(ip, text) : text;
}

function formatCanonical(ip: ParsedIp, text: string): string {
  return cidrOf(ip, ip.family === 4 ? 32 : 128).split('/')[0] ?? text;
}

function canonicalCidr(text: string): { text: string; lenKey: string } | null {
  const slash = text.indexOf('/');
  const ip = parseIp(slash < 0 ? text : text.slice(0, slash));
  if (!ip) return null;
  const len = slash < 0 ? (ip.family === 4 ? 32 : 128) : Number(text.slice(slash + 1));
  if (!Number.isInteger(len) || len < 0 || len > (ip.family === 4 ? 32 : 128)) return null;
  return { text: cidrOf(ip, len), lenKey: `${ip.family}/${len}` };
}

function inRange(
  n: { family: 4 | 6; first: number | bigint; last: number | bigint },
  ip: ParsedIp,
): boolean {
  return n.family === ip.family && ip.value >= n.first && ip.value <= n.last;
}
