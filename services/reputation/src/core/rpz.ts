import { type BlockAction, type BlocklistEntry } from '@sluice/contracts';
import { parseNetwork, rpzClientIpLabels } from './ip';
import { normalizeZone } from './policy';

/** One policy record: owner name (absolute, no trailing dot) and CNAME target. */
export interface RpzRecord {
  name: string;
  target: string;
}

/**
 * RPZ has no "refused": BIND 9.18 knows NXDOMAIN (`CNAME .`), NODATA (`CNAME *.`), drop
 * (`rpz-drop.`), TCP-only (`rpz-tcp-only.`, i.e. truncate) and passthru. Refused maps to drop:
 * the closest "no answer" that does not teach the resolver a (cacheable) negative answer.
 */
export function rpzTarget(action: BlockAction): string {
  switch (action) {
    case 'drop':
    case 'refused':
      return 'rpz-drop.';
    case 'nxdomain':
      return '.';
    case 'truncate':
      return 'rpz-tcp-only.';
  }
}

/**
 * Which policy zone an entry lives in. RPZ triggers cannot be AND-ed (client IP *and* qname), so a
 * (resolver, zone) entry goes to the per-zone policy zone `<zone>.<origin>` as a client-IP trigger;
 * the operator attaches that policy zone where the attacked zone is served. Outright blocks
 * (resolver, prefix) go to `<origin>`. ASN entries have no addresses to trigger on and are skipped.
 */
export function policyZoneOf(entry: BlocklistEntry, origin: string): string | null {
  switch (entry.scope.kind) {
    case 'resolver-zone':
      return `${normalizeZone(entry.scope.zone)}.${origin}`;
    case 'resolver':
    case 'prefix':
      return origin;
    case 'asn':
      return null;
  }
}

export function rpzRecordOf(entry: BlocklistEntry, zoneName: string): RpzRecord | null {
  const s = entry.scope;
  const address = s.kind === 'prefix' ? s.prefix : s.kind === 'asn' ? null : s.resolver;
  if (address === null) return null;
  let labels: string;
  try {
    labels = rpzClientIpLabels(parseNetwork(address));
  } catch {
    return null;
  }
  return { name: `${labels}.rpz-client-ip.${zoneName}`, target: rpzTarget(entry.action) };
}

/** The enforced (non-shadow) records of one policy zone, sorted by owner for stable output. */
export function rpzRecords(
  entries: Iterable<BlocklistEntry>,
  origin: string,
  zoneName: string,
): RpzRecord[] {
  const out: RpzRecord[] = [];
  for (const e of entries) {
    if (e.shadow || policyZoneOf(e, origin) !== zoneName) continue;
    const r = rpzRecordOf(e, zoneName);
    if (r) out.push(r);
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** All policy zones' records in one pass (the per-zone filter above is O(zones × entries)). */
export function rpzRecordsByZone(
  entries: Iterable<BlocklistEntry>,
  origin: string,
): Map<string, RpzRecord[]> {
  const out = new Map<string, RpzRecord[]>();
  for (const e of entries) {
    if (e.shadow) continue;
    const zone = policyZoneOf(e, origin);
    if (zone === null) continue;
    const r = rpzRecordOf(e, zone);
    if (!r) continue;
    let list = out.get(zone);
    if (!list) out.set(zone, (list = []));
    list.push(r);
  }
  for (const list of out.values())
    list.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return out;
}
