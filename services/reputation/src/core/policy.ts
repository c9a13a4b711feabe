import { type BlockAction, type BlocklistEntry, type BlockScope } from '@sluice/contracts';
import {
  inZone,
  networkContains,
  networksOverlap,
  normaliseName,
  parseNetwork,
  type Network,
} from '@sluice/dns';
import { entryId } from './scope';
import {
  scoreOf,
  showsLegitimate,
  type Score,
  type ScoringConfig,
  type SubjectKind,
  type SubjectState,
} from './scoring';

export interface PolicyConfig extends ScoringConfig {
  thresholds: Record<SubjectKind, number>;
  actions: Record<SubjectKind, BlockAction>;
  entryTtlMs: number;
  /** Entry kinds published as shadow (dry-run): reviewed, never enforced. */
  shadow: ReadonlySet<SubjectKind | 'zone'>;
  /** Outright (every-zone) prefix and ASN blocks: opt-in, they punish a network's customers. */
  outrightNetworks: boolean;
  /** Outright (every-zone) resolver blocks: opt-in, they punish a resolver's users. */
  outrightResolvers: boolean;
  /**
   * Non-attack queries (decayed) that show a subject carries users (REPUTATION_LEGIT_MIN_QUERIES,
   * and at least 5 % of its total): such a subject is never blocked outright.
   */
  legitMinQueries: number;
  /** Without zone guards a `guard` action means nothing: such entries are skipped. */
  guardsEnabled: boolean;
  maxEntries: number;
  allowNetworks: readonly string[];
  allowAsns: readonly number[];
  allowZones: readonly string[];
}

/** Who a subject is, as enrichment told us at the time of the record. */
export interface SubjectContext {
  resolver: string;
  zone: string;
  prefix: string | null;
  asn: number | null;
  asOrg: string | null;
  resolverKind: string;
  resolverOperator: string | null;
  alertId: string | null;
}

export interface Evaluation {
  kind: SubjectKind;
  state: SubjectState;
  context: SubjectContext;
}

export interface Decision {
  entry: BlocklistEntry | null;
  /** Why no entry: below threshold, allowlisted, protected… (for metrics and explain). */
  skipped: string | null;
  score: Score;
}

/** Turns scores into blocklist entries. Pure: the caller supplies `now` and the existing entry. */
export class BlockPolicy {
  private readonly allowNetworks: Network[];
  private readonly allowAsns: Set<number>;
  private readonly allowZones: string[];

  constructor(readonly cfg: PolicyConfig) {
    this.allowNetworks = cfg.allowNetworks.map(parseNetwork);
    this.allowAsns = new Set(cfg.allowAsns);
    this.allowZones = cfg.allowZones.map(normaliseName);
  }

  /** Allowlisted zones (and their subdomains) are never scored: their traffic is wanted as is. */
  isZoneAllowed(zone: string): boolean {
    const z = normaliseName(zone);
    return this.allowZones.some((a) => inZone(z, a));
  }

  /** Public resolvers and allowlisted networks can only ever lose their traffic to the attacked zone. */
  isResolverProtected(ctx: SubjectContext): boolean {
    if (ctx.resolverKind === 'public' || ctx.resolverKind === 'mirai-default') return true;
    if (ctx.asn !== null && this.allowAsns.has(ctx.asn)) return true;
    // Asked per record and per decision: no address parse when nothing is allowlisted.
    if (this.allowNetworks.length === 0) return false;
    const net = safeNetwork(ctx.resolver);
    return net !== null && this.allowNetworks.some((a) => networkContains(a, net));
  }

  private isPrefixProtected(prefix: string): boolean {
    const net = safeNetwork(prefix);
    return net === null || this.allowNetworks.some((a) => networksOverlap(a, net));
  }

  scopeOf(kind: SubjectKind, ctx: SubjectContext): BlockScope | null {
    const zone = normaliseName(ctx.zone);
    switch (kind) {
      case 'resolver-zone':
        return { kind, resolver: ctx.resolver, zone };
      case 'resolver':
        return { kind, resolver: ctx.resolver };
      case 'prefix':
        return ctx.prefix === null ? null : { kind, prefix: ctx.prefix };
      case 'asn':
        return ctx.asn === null ? null : { kind, asn: ctx.asn };
      case 'prefix-zone':
        return ctx.prefix === null ? null : { kind, prefix: ctx.prefix, zone };
      case 'asn-zone':
        return ctx.asn === null ? null : { kind, asn: ctx.asn, zone };
    }
  }

  decide(ev: Evaluation, now: number, existing: BlocklistEntry | null): Decision {
    const score = scoreOf(ev.kind, ev.state, now, this.cfg);
    const skip = (why: string): Decision => ({ entry: null, skipped: why, score });
    const ctx = ev.context;
    if (this.isZoneAllowed(ctx.zone)) return skip('zone-allowlisted');
    if (score.score < this.cfg.thresholds[ev.kind]) return skip('below-threshold');
    const scope = this.scopeOf(ev.kind, ctx);
    if (scope === null) return skip('no-enrichment');
    let action = this.cfg.actions[ev.kind];
    // protectedInside: a public/allowlisted resolver, or one that also carried legitimate
    // traffic, was seen in the subject. Such clients never lose a whole zone (they get the
    // zone guard instead) and their networks are never blocked outright.
    // An outright block also needs the subject's own decayed sums to show no legitimate traffic:
    // a big ISP resolver behind a flood sends a few users' queries per record (below the per-record
    // mark) but many over the flood, and an outright block takes every zone from its users.
    switch (ev.kind) {
      case 'resolver-zone':
        if (ev.state.protectedInside || this.isResolverProtected(ctx)) action = 'guard';
        break;
      case 'prefix-zone':
      case 'asn-zone':
        if (ev.state.protectedInside) action = 'guard';
        break;
      case 'resolver':
        if (!this.cfg.outrightResolvers) return skip('outright-disabled');
        if (this.isResolverProtected(ctx)) return skip('protected-resolver');
        if (ev.state.protectedInside || this.carriesUsers(score)) return skip('legitimate-traffic');
        break;
      case 'prefix':
        if (!this.cfg.outrightNetworks) return skip('outright-disabled');
        if (ev.state.protectedInside || this.isPrefixProtected(ctx.prefix ?? ''))
          return skip('protected-network');
        if (ctx.asn !== null && this.allowAsns.has(ctx.asn)) return skip('protected-network');
        if (this.carriesUsers(score)) return skip('legitimate-traffic');
        break;
      case 'asn':
        if (!this.cfg.outrightNetworks) return skip('outright-disabled');
        if (ev.state.protectedInside || (ctx.asn !== null && this.allowAsns.has(ctx.asn)))
          return skip('protected-network');
        if (this.carriesUsers(score)) return skip('legitimate-traffic');
        break;
    }
    if (action === 'guard' && !this.cfg.guardsEnabled) return skip('guard-disabled');
    const entry: BlocklistEntry = {
      v: 1,
      id: entryId(scope),
      scope,
      action,
      reason: this.reason(ev, score),
      score: score.score,
      createdAt: existing?.createdAt ?? now,
      expiresAt: Math.max(existing?.expiresAt ?? 0, now + this.cfg.entryTtlMs),
      shadow: this.cfg.shadow.has(ev.kind),
    };
    return { entry, skipped: null, score };
  }

  /** The decayed sums hold enough non-attack queries to be users' (see showsLegitimate). */
  private carriesUsers(s: Score): boolean {
    return showsLegitimate(s.attack, s.total, this.cfg.legitMinQueries);
  }

  private reason(ev: Evaluation, s: Score): string {
    const c = ev.context;
    const pct = `${Math.round(s.ratio * 100)}% of ${Math.round(s.total)} decayed queries attack-like`;
    const net = [c.asn !== null ? `AS${c.asn}` : null, c.asOrg, c.resolverOperator]
      .filter((x) => x !== null)
      .join(' ');
    const alert = c.alertId !== null ? `; alert ${c.alertId}` : '';
    switch (ev.kind) {
      case 'resolver-zone':
        return `${c.resolver} → ${normaliseName(c.zone)}: ${pct}${alert}${net ? `; ${net}` : ''}`;
      case 'resolver':
        return `${c.resolver}: ${pct} across ${ev.state.members} attacked zones${alert}`;
      case 'prefix':
        return `${c.prefix ?? '?'}: ${ev.state.members} offending resolvers, ${pct}${alert}`;
      case 'asn':
        return `AS${c.asn ?? '?'}${c.asOrg ? ` ${c.asOrg}` : ''}: ${ev.state.members} offending resolvers, ${pct}${alert}`;
      case 'prefix-zone':
        return `${c.prefix ?? '?'} → ${normaliseName(c.zone)}: ${ev.state.members} offending resolvers, ${pct}${alert}`;
      case 'asn-zone':
        return `AS${c.asn ?? '?'}${c.asOrg ? ` ${c.asOrg}` : ''} → ${normaliseName(c.zone)}: ${ev.state.members} offending resolvers, ${pct}${alert}`;
    }
  }
}

/** Ids to remove so at most `max` entries remain, lowest scores first (ties: soonest expiry). */
export function overCap(entries: readonly BlocklistEntry[], max: number): string[] {
  if (entries.length <= max) return [];
  return [...entries]
    .sort((a, b) => a.score - b.score || a.expiresAt - b.expiresAt || a.id.localeCompare(b.id))
    .slice(0, entries.length - max)
    .map((e) => e.id);
}

export { entryId };

function safeNetwork(text: string): Network | null {
  try {
    return parseNetwork(text);
  } catch {
    return null;
  }
}

/**
 * Whether a decided entry must be written: new, changed in substance, or its expiry moved by at
 * least `refreshStepMs`. Without the step every batch would re-publish every live entry.
 */
export function needsWrite(
  existing: BlocklistEntry | null,
  next: BlocklistEntry,
  refreshStepMs: number,
): boolean {
  if (existing === null) return true;
  return (
    existing.action !== next.action ||
    existing.shadow !== next.shadow ||
    (existing.networks ?? []).join() !== (next.networks ?? []).join() ||
    Math.abs(existing.score - next.score) >= 10 ||
    next.expiresAt - existing.expiresAt >= refreshStepMs
  );
}
