import { createHash } from 'node:crypto';
import { type BlockAction, type BlocklistEntry } from '@sluice/contracts';
import { formatNetwork, parseNetwork } from './ip';
import { normalizeZone } from './policy';
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
  scope: 'Ip' | 'Range' | 'AS' | 'IpZone';
  value: string;
  zone: string | null;
  duration: string;
  until: string;
  scenario: string;
  simulated: boolean;
  score: number;
  /** AS scope: the offending prefixes the block applies to. */
  networks?: string[];
}

export function toDecision(e: BlocklistEntry, now: number): FeedDecision {
  const s = e.scope;
  const [scope, value, zone] =
    s.kind === 'resolver-zone'
      ? (['IpZone', `${s.resolver} ${s.zone}`, s.zone] as const)
      : s.kind === 'resolver'
        ? (['Ip', s.resolver, null] as const)
        : s.kind === 'prefix'
          ? (['Range', s.prefix, null] as const)
          : (['AS', String(s.asn), null] as const);
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
  const value = s.kind === 'asn' ? `AS${s.asn}` : s.kind === 'prefix' ? s.prefix : s.resolver;
  const zone = s.kind === 'resolver-zone' ? s.zone : '-';
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

function dnsdistAction(a: BlockAction): string {
  switch (a) {
    case 'drop':
      return 'DropAction()';
    case 'refused':
      return 'RCodeAction(DNSRCode.REFUSED)';
    case 'nxdomain':
      return 'RCodeAction(DNSRCode.NXDOMAIN)';
    case 'truncate':
      return 'TCAction()';
  }
}

/**
 * A dnsdist Lua snippet: one NetmaskGroup per (zone, action), matched with AND on the qname
 * suffix for (resolver, zone) entries. Load with `dnsdist -C` include or paste into the console.
 * Shadow entries only log. ASN entries apply through their `networks`; without any, a comment.
 */
export function renderDnsdistLua(entries: Iterable<BlocklistEntry>): string {
  const groups = new Map<string, { zone: string | null; action: string; masks: string[] }>();
  const comments: string[] = [];
  for (const e of entries) {
    const s = e.scope;
    const addresses =
      s.kind === 'prefix' ? [s.prefix] : s.kind === 'asn' ? (e.networks ?? []) : [s.resolver];
    if (addresses.length === 0) {
      comments.push(`-- ${e.id} ${e.action}: no addresses known for this entry`);
      continue;
    }
    const zone = s.kind === 'resolver-zone' ? normalizeZone(s.zone) : null;
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
    'local nmg, smn = {}, {}',
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
  return `${out.join('\n')}\n`;
}
