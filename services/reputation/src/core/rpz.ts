import { type BlockAction, type BlocklistEntry } from '@sluice/contracts';
import { inZone, normaliseName, parseNetwork, rpzClientIpLabels } from '@sluice/dns';
import { scopeAddresses } from './scope';

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
export function rpzTarget(action: Exclude<BlockAction, 'guard'>): string {
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
 * (resolver, prefix, and ASN through its `networks`) go to `<origin>`.
 */
export function policyZoneOf(entry: BlocklistEntry, origin: string): string | null {
  const s = entry.scope;
  switch (s.kind) {
    case 'zone':
      return `${normaliseName(s.zone)}.${origin}`;
    case 'resolver-zone':
    case 'prefix-zone':
    case 'asn-zone':
      // `guard` clients: RPZ cannot AND a client trigger with a qname, so the zone guard's
      // records (which apply to every client) carry them.
      if (entry.action === 'guard') return null;
      if (s.kind === 'asn-zone' && !entry.networks?.length) return null;
      return `${normaliseName(s.zone)}.${origin}`;
    case 'resolver':
    case 'prefix':
      return origin;
    case 'asn':
      return entry.networks?.length ? origin : null;
  }
}

/**
 * A zone guard as QNAME triggers (verified against BIND 9.18): an exact trigger beats the
 * wildcard, but a wildcard does not reach below a name that has its own trigger — so every
 * known name gets `name passthru` AND `*.name <action>`, and the zone `*.zone <action>` plus an
 * apex passthru. Allowlisted subtrees pass whole. Applies to every client (RPZ's limit).
 */
export function rpzGuardRecords(entry: BlocklistEntry, zoneName: string): RpzRecord[] {
  if (entry.scope.kind !== 'zone' || !entry.guard || entry.action === 'guard') return [];
  const zone = normaliseName(entry.scope.zone);
  const target = rpzTarget(entry.action);
  const passthru = 'rpz-passthru.';
  const at = (n: string) => `${n}.${zoneName}`;
  const subtrees = (entry.guard.allowedSubtrees ?? []).map(normaliseName);
  const out: RpzRecord[] = [];
  for (const sub of subtrees)
    out.push({ name: at(sub), target: passthru }, { name: at(`*.${sub}`), target: passthru });
  out.push({ name: at(zone), target: passthru }, { name: at(`*.${zone}`), target });
  for (const raw of entry.guard.knownNames) {
    const n = normaliseName(raw);
    if (n === zone || !inZone(n, zone) || subtrees.some((s) => inZone(n, s))) continue;
    out.push({ name: at(n), target: passthru }, { name: at(`*.${n}`), target });
  }
  return out;
}

/** Client-IP triggers for one entry (an ASN entry yields one per network it covers). */
export function rpzRecordsOf(entry: BlocklistEntry, zoneName: string): RpzRecord[] {
  if (entry.scope.kind === 'zone') return rpzGuardRecords(entry, zoneName);
  if (entry.action === 'guard') return [];
  const target = rpzTarget(entry.action);
  const out: RpzRecord[] = [];
  for (const address of scopeAddresses(entry)) {
    try {
      const labels = rpzClientIpLabels(parseNetwork(address));
      out.push({ name: `${labels}.rpz-client-ip.${zoneName}`, target });
    } catch {
      // an unparsable address cannot be a trigger; the other outputs still carry the entry
    }
  }
  return out;
}

/** Sorted by owner; one record per owner (several entries can cover the same network: first wins). */
function finish(records: RpzRecord[]): RpzRecord[] {
  records.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return records.filter((r, i) => i === 0 || records[i - 1]!.name !== r.name);
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
    // Not push(...records): a guard has two records per known name, past V8's argument limit.
    for (const r of rpzRecordsOf(e, zoneName)) out.push(r);
  }
  return finish(out);
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
    let list = out.get(zone);
    if (!list) out.set(zone, (list = []));
    for (const r of rpzRecordsOf(e, zone)) list.push(r);
  }
  for (const [zone, list] of out) out.set(zone, finish(list));
  return out;
}
