import { createHash } from 'node:crypto';
import { type BlockAction, type BlocklistEntry } from '@sluice/contracts';
import { formatNetwork, parseNetwork } from '@sluice/dns';
import { dnsdistAction } from './dnsdist-kv';
import { scopeAddresses, scopeValue, scopeZone } from './scope';
import { rpzRecords, type RpzRecord } from './rpz';

export const feedFormats = ['json', 'text', 'rpz', 'dnsdist'] as const;
export type FeedFormat = (typeof feedFormats)[number];

/** A CrowdSec-style decision (LAPI `/v1/decisions/stream` item) with Sluice's entry attached. */
export interface FeedDecision {
  /** Numeric like CrowdSec's (bouncer libraries decode it as int64): a stable 48-bit hash of entryId. */
  id: number;
  /** Sluice's entry id (`rz:<resolver>|<zone>`, `r:…`, `p:…`, `a:…`). */
  entryId: string;
  origin: 'sluice';
  type: BlockAction;
  /**
   * CrowdSec's Ip/Range/AS, plus zone-limited kinds: IpZone, RangeZone, AsZone (the block or
   * `guard` applies to queries under `zone` only) and ZoneGuard (value = zone; answer
   * `guard.knownNames`, apply `type` to every other name under the zone, for every client when
   * `guard.appliesTo` is `all`, else for clients that have a `guard` decision for the zone).
   */
  scope: 'Ip' | 'Range' | 'AS' | 'IpZone' | 'RangeZone' | 'AsZone' | 'ZoneGuard';
  value: string;
  zone: string | null;
  duration: string;
  until: string;
  scenario: string;
  simulated: boolean;
  score: number;
  /** AS scopes: the offending prefixes the block applies to. */
  networks?: string[];
  guard?: BlocklistEntry['guard'];
}

const decisionScope = {
  'resolver-zone': 'IpZone',
  resolver: 'Ip',
  prefix: 'Range',
  asn: 'AS',
  'prefix-zone': 'RangeZone',
  'asn-zone': 'AsZone',
  zone: 'ZoneGuard',
} as const satisfies Record<BlocklistEntry['scope']['kind'], FeedDecision['scope']>;

export function toDecision(e: BlocklistEntry, now: number): FeedDecision {
  const s = e.scope;
  const zone = scopeZone(s);
  const subject = s.kind === 'asn' || s.kind === 'asn-zone' ? String(s.asn) : scopeValue(s);
  const scope = decisionScope[s.kind];
  const value = zone === null || s.kind === 'zone' ? subject : `${subject} ${zone}`;
  return {
    id: numericId(e.id),
    entryId: e.id,
    origin: 'sluice',
    type: e.action,
    scope,
    value,
    zone,
    duration: goDuration(e.expiresAt - now),
    until: new Date(e.expiresAt).toISOString(),
    scenario: e.reason,
    simulated: e.shadow,
    score: e.score,
    ...(e.networks ? { networks: e.networks } : {}),
    ...(e.guard ? { guard: e.guard } : {}),
  };
}

export function numericId(entryId: string): number {
  return parseInt(createHash('sha256').update(entryId).digest('hex').slice(0, 12), 16);
}

/** CrowdSec prints durations the Go way ("3h59m58s"); bouncers parse that. */
export function goDuration(ms: number): string {
  let s = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  return `${h ? `${h}h` : ''}${h || m ? `${m}m` : ''}${s}s`;
}

/** One line per entry, tab separated: action, scope kind, value, zone (or '-'), expiry, score, mode. */
export function textLine(e: BlocklistEntry): string {
  const s = e.scope;
  const value =
    s.kind === 'zone' && e.guard
      ? `${e.guard.appliesTo}:${e.guard.knownNames.length}-known-names`
      : scopeValue(s);
  const zone = scopeZone(s) ?? '-';
  return `${e.action}\t${s.kind}\t${value}\t${zone}\t${new Date(e.expiresAt).toISOString()}\t${e.score}\t${e.shadow ? 'shadow' : 'enforce'}`;
}

export function renderText(entries: Iterable<BlocklistEntry>): string {
  const lines: string[] = [];
  for (const e of entries) lines.push(textLine(e));
  return lines.length ? `${lines.join('\n')}\n` : '';
}

export interface RpzZoneOptions {
  origin: string;
  zoneName: string;
  serial: number;
  ttl?: number;
  /** Precomputed records (rpzRecordsByZone) when rendering many zones. */
  records?: readonly RpzRecord[];
}

/** Master-file text of one policy zone (what `named-checkzone` and AXFR clients see). */
export function renderRpz(entries: Iterable<BlocklistEntry>, o: RpzZoneOptions): string {
  const ttl = o.ttl ?? 60;
  const out = [
    `$ORIGIN ${o.zoneName}.`,
    `$TTL ${ttl}`,
    `@ SOA localhost. hostmaster.localhost. ${o.serial} 60 30 86400 ${ttl}`,
    '@ NS localhost.',
  ];
  const suffix = `.${o.zoneName}`;
  for (const r of o.records ?? rpzRecords(entries, o.origin, o.zoneName))
    out.push(`${r.name.slice(0, -suffix.length)} CNAME ${r.target}`);
  return `${out.join('\n')}\n`;
}

/**
 * A dnsdist Lua snippet: one NetmaskGroup per (zone, action), matched with AND on the qname
 * suffix for (resolver, zone) entries. Load with `dnsdist -C` include or paste into the console.
 * Shadow entries only log. ASN entries apply through their `networks`; without any, a comment.
 */
export function renderDnsdistLua(entries: Iterable<BlocklistEntry>): string {
  const groups = new Map<string, { zone: string | null; action: string; masks: string[] }>();
  const comments: string[] = [];
  const guards: BlocklistEntry[] = [];
  const guardedClients = new Map<string, string[]>();
  for (const e of entries) {
    if (e.scope.kind === 'zone') {
      guards.push(e);
      continue;
    }
    // Guard decisions take effect through the zone guard's rules below.
    if (e.action === 'guard') {
      const zone = scopeZone(e.scope);
      if (zone === null || e.shadow) continue;
      let list = guardedClients.get(zone);
      if (!list) guardedClients.set(zone, (list = []));
      for (const a of scopeAddresses(e)) {
        try {
          list.push(formatNetwork(parseNetwork(a)));
        } catch {
          comments.push(`-- unparsable address ${JSON.stringify(a)} ${e.id}`);
        }
      }
      continue;
    }
    const addresses = scopeAddresses(e);
    if (addresses.length === 0) {
      comments.push(`-- ${e.id} ${e.action}: no addresses known for this entry`);
      continue;
    }
    const zone = scopeZone(e.scope);
    const action = e.shadow ? `LogAction("", false)` : dnsdistAction(e.action);
    const key = `${zone ?? '.'}\u0000${action}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { zone, action, masks: [] }));
    for (const mask of addresses) {
      try {
        g.masks.push(formatNetwork(parseNetwork(mask)));
      } catch {
        comments.push(`-- unparsable address ${JSON.stringify(mask)} ${e.id}`);
      }
    }
  }
  // A table, not locals: Lua allows only 200 locals per chunk and there is a group per (zone, action).
  const out = [
    '-- Sluice blocklist for dnsdist (generated)',
    ...comments,
    'local nmg, smn, known, pass = {}, {}, {}, {}',
  ];
  let i = 0;
  for (const g of groups.values()) {
    i++;
    const nmg = `nmg[${i}]`;
    out.push(`${nmg} = newNMG()`);
    for (const m of g.masks) out.push(`${nmg}:addMask(${JSON.stringify(m)})`);
    let rule = `NetmaskGroupRule(${nmg})`;
    if (g.zone !== null) {
      out.push(`smn[${i}] = newSuffixMatchNode()`, `smn[${i}]:add(${JSON.stringify(g.zone)})`);
      rule = `AndRule({${rule}, SuffixMatchNodeRule(smn[${i}])})`;
    }
    out.push(`addAction(${rule}, ${g.action}, {name="sluice-${i}"})`);
  }
  // Zone guards as name sets: for a handful of zones and names; larger lists belong in the CDB
  // store (dnsdistConfigLua), which dnsdist reloads without a configuration change.
  for (const g of guards) {
    if (!g.guard || g.scope.kind !== 'zone' || g.action === 'guard') continue;
    i++;
    const zone = g.scope.zone;
    out.push(`smn[${i}] = newSuffixMatchNode()`, `smn[${i}]:add(${JSON.stringify(zone)})`);
    out.push(`known[${i}] = newDNSNameSet()`);
    for (const n of g.guard.knownNames)
      out.push(`known[${i}]:add(newDNSName(${JSON.stringify(n)}))`);
    const subtrees = (g.guard.allowedSubtrees ?? []).map((x) => JSON.stringify(x));
    if (subtrees.length) {
      out.push(`pass[${i}] = newSuffixMatchNode()`);
      for (const p of subtrees) out.push(`pass[${i}]:add(${p})`);
    }
    const parts = [
      `SuffixMatchNodeRule(smn[${i}])`,
      `NotRule(QNameSetRule(known[${i}]))`,
      ...(subtrees.length ? [`NotRule(SuffixMatchNodeRule(pass[${i}]))`] : []),
    ];
    if (g.guard.appliesTo === 'offenders') {
      const masks = guardedClients.get(zone) ?? [];
      if (masks.length === 0) continue;
      out.push(`nmg[${i}] = newNMG()`);
      for (const m of masks) out.push(`nmg[${i}]:addMask(${JSON.stringify(m)})`);
      parts.push(`NetmaskGroupRule(nmg[${i}])`);
    }
    const action = g.shadow ? `LogAction("", false)` : dnsdistAction(g.action);
    out.push(`addAction(AndRule({${parts.join(', ')}}), ${action}, {name="sluice-guard-${i}"})`);
  }
  return `${out.join('\n')}\n`;
}
