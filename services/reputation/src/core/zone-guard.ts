import {
  type Alert,
  type BlockAction,
  type BlocklistEntry,
  type KnownNames,
  type ZoneGuard,
} from '@sluice/contracts';
import { inZone, normaliseName } from '@sluice/dns';
import { entryId } from './scope';

export interface GuardSettings {
  enabled: boolean;
  /** What names the zone does not have get (refused by default: no negative answer to cache). */
  action: Exclude<BlockAction, 'guard'>;
  /**
   * The same when the zone's own data (master file, AXFR) is configured: the guard then knows
   * every name the zone has, so `nxdomain` is the answer the authoritative would give anyway —
   * a typo costs the user nothing more than it would have.
   */
  actionWithZoneData: Exclude<BlockAction, 'guard'>;
  /** How long the guard outlives its alert's end (event or wall time, as the policy clock runs). */
  holdMs: number;
  /** A guard whose alert sends no update for this long lapses (a dead detector must not pin it). */
  staleMs: number;
  /**
   * Per-resolver scoping is abandoned for `all` when the flood queries it would let through
   * exceed this rate (queries/s) AND this share of the flood. At onset nothing is scoped yet, so
   * any flood above the rate is guarded for every client at once.
   */
  allMinQps: number;
  maxLeakShare: number;
  /** Cap on names in one guard (the entry travels on Kafka and the HTTP feed). */
  maxNames: number;
  shadow: boolean;
  /** Allowlisted zones/subtrees (e.g. RUM beacons): always answered, whatever the name. */
  allowZones: readonly string[];
}

/** The latest word on one zone's attack, as the reputation service keeps it. */
export interface GuardInputs {
  alert: Alert;
  /** Names the detector established before this alert's onset (null until they arrive). */
  names: KnownNames | null;
  /** Names from the zone's own data (zone file / AXFR), configured per zone. */
  zoneData: { source: string; names: readonly string[] } | null;
  /** Latest offender window: flood queries/s not covered by per-resolver entries, and share. */
  leak: { qps: number; share: number } | null;
}

/**
 * The zone guard for one attacked zone, or null when there is none (guards disabled, or the
 * known names have not arrived: a guard without them would refuse the whole zone). Pure: the
 * caller supplies the policy clock and the existing entry (scope never narrows within an alert).
 */
export function decideGuard(
  input: GuardInputs,
  existing: BlocklistEntry | null,
  now: number,
  cfg: GuardSettings,
): BlocklistEntry | null {
  if (!cfg.enabled) return null;
  const { alert } = input;
  const zone = normaliseName(alert.zone);
  const sameAlert = existing?.guard?.alertId === alert.alertId;
  const names = input.names?.alertId === alert.alertId ? input.names : null;
  if (names === null && input.zoneData === null && !sameAlert) return null;

  const ended = alert.phase === 'ended';
  // An ended alert only winds down a guard it already has; it never starts one.
  if (ended && !sameAlert) return null;
  const floodQps = alert.excessQps ?? alert.neverSeenQps ?? alert.qps;
  let appliesTo: ZoneGuard['appliesTo'] = sameAlert ? existing.guard!.appliesTo : 'offenders';
  if (appliesTo === 'offenders') {
    // Nothing is scoped per resolver at onset: the whole flood would leak.
    const leak = input.leak ?? { qps: floodQps, share: 1 };
    if (leak.qps >= cfg.allMinQps && leak.share > cfg.maxLeakShare) appliesTo = 'all';
  }

  const wildcards = new Set<string>(sameAlert ? (existing?.guard?.allowedSubtrees ?? []) : []);
  let knownNames: string[];
  let truncated: boolean;
  let sources: string[];
  if (names !== null || input.zoneData !== null) {
    const merged = new Set<string>([zone]);
    const add = (raw: string) => {
      const n = normaliseName(raw);
      if (!inZone(n, zone)) return;
      // A wildcard answers every name below it: that subtree cannot be guarded by name.
      if (n.startsWith('*.')) {
        wildcards.add(n.slice(2));
        return;
      }
      // The names between it and the zone exist too (empty non-terminals answer NODATA).
      for (let a = n; a !== zone && !merged.has(a); a = a.slice(a.indexOf('.') + 1)) merged.add(a);
    };
    for (const n of input.zoneData?.names ?? []) add(n);
    for (const n of names?.names ?? []) add(n);
    const inside = [...merged];
    knownNames = inside.slice(0, cfg.maxNames);
    truncated = (names?.truncated ?? false) || inside.length > cfg.maxNames;
    sources = [...(names ? ['traffic'] : []), ...(input.zoneData ? [input.zoneData.source] : [])];
  } else {
    knownNames = existing!.guard!.knownNames;
    truncated = existing!.guard!.namesTruncated;
    sources = existing!.guard!.sources;
  }

  const expiresAt = ended
    ? now + cfg.holdMs
    : Math.max(sameAlert ? existing.expiresAt : 0, now + Math.max(cfg.holdMs, cfg.staleMs));
  for (const a of cfg.allowZones.map(normaliseName)) if (inZone(a, zone)) wildcards.add(a);
  const allowedSubtrees = [...wildcards].sort();
  const guard: ZoneGuard = {
    alertId: alert.alertId,
    appliesTo,
    knownNames,
    namesTruncated: truncated,
    sources,
    alertEndedAt: ended ? (alert.endedAt ?? alert.at) : null,
    ...(allowedSubtrees.length ? { allowedSubtrees } : {}),
  };
  const scope = { kind: 'zone' as const, zone };
  const action = sources.some((s) => s !== 'traffic') ? cfg.actionWithZoneData : cfg.action;
  return {
    v: 1,
    id: entryId(scope),
    scope,
    action,
    reason:
      `zone guard for ${zone} (alert ${alert.alertId}${ended ? ', ended' : ''}): ` +
      `${knownNames.length} known names answered${truncated ? ' (list truncated)' : ''}, ` +
      `other names ${action} for ${appliesTo === 'all' ? 'every client' : 'offending resolvers'}`,
    score: 100,
    createdAt: sameAlert ? existing.createdAt : now,
    expiresAt,
    shadow: cfg.shadow,
    guard,
  };
}

/** Whether a guard entry changed enough to be written again (names, scope, phase, expiry step). */
export function guardChanged(a: BlocklistEntry | null, b: BlocklistEntry, stepMs: number): boolean {
  if (a === null || a.guard === undefined || b.guard === undefined) return true;
  const x = a.guard;
  const y = b.guard;
  return (
    x.alertId !== y.alertId ||
    x.appliesTo !== y.appliesTo ||
    x.alertEndedAt !== y.alertEndedAt ||
    x.knownNames.length !== y.knownNames.length ||
    x.knownNames.some((n, i) => y.knownNames[i] !== n) ||
    a.shadow !== b.shadow ||
    a.action !== b.action ||
    Math.abs(b.expiresAt - a.expiresAt) >= stepMs ||
    b.expiresAt < a.expiresAt
  );
}
