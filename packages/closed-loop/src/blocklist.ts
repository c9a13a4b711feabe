import { type BlocklistRecord } from './pipeline';
import { type Resolver } from './traffic';

function v4(address: string): number | null {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(address);
  if (!m) return null;
  return ((+m[1]! << 24) | (+m[2]! << 16) | (+m[3]! << 8) | +m[4]!) >>> 0;
}

/** Whether an IPv4 address lies in an IPv4 address or CIDR (anything else: false). */
export function covers(network: string, address: string): boolean {
  const [base, len] = network.split('/');
  const a = v4(address);
  const b = v4(base ?? '');
  if (a === null || b === null) return false;
  const bits = len === undefined ? 32 : Number(len);
  if (!(bits >= 0 && bits <= 32)) return false;
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return (a & mask) === (b & mask);
}

interface Scope {
  kind?: string;
  resolver?: string;
  prefix?: string;
  asn?: number;
  zone?: string;
}

/** Addresses or networks an entry applies to (ASN entries: their `networks`). */
function networksOf(entry: Record<string, unknown>): string[] {
  const s = (entry.scope ?? {}) as Scope;
  if (s.resolver) return [s.resolver];
  if (s.prefix) return [s.prefix];
  if (Array.isArray(entry.networks)) return entry.networks.map(String);
  return [];
}

export interface BlocklistCheck {
  /** Distinct entry ids ever published, by scope kind (shadow ones counted apart). */
  kinds: Record<string, number>;
  shadowEntries: number;
  /** Seconds from flood onset to the first enforceable entry / the first entry for an attacked zone. */
  firstEntryS: number | null;
  /** Outright (every-zone) entries that cover a resolver which sent legitimate traffic. */
  outrightOverLegit: { id: string; covers: number; example: string }[];
  /** Entries that refuse a whole zone to a public resolver (zone-scoped, action other than guard). */
  publicWholeZone: { id: string; resolver: string; zone: string; action: string }[];
  /** Zone-scoped client entries that refuse (not guard) the whole zone to some client. */
  wholeZoneClientEntries: number;
}

/**
 * Reads the blocklist as published on Kafka and checks it against the traffic's ground truth:
 * no outright block over a network that carried legitimate traffic; no public resolver refused a
 * whole zone. Entries of unknown kinds (new ones) are counted, never misread.
 */
export function checkBlocklist(o: {
  records: readonly BlocklistRecord[];
  resolvers: readonly Resolver[];
  /** Indices of resolvers that sent legitimate queries during the run. */
  legitSenders: ReadonlySet<number>;
  /** performance.now() of the flood onset (null: no flood). */
  onsetAt: number | null;
}): BlocklistCheck {
  const latest = new Map<string, Record<string, unknown>>();
  const firstSeen = new Map<string, number>();
  for (const r of o.records) {
    if (!r.entry) continue;
    latest.set(r.id, r.entry);
    if (!firstSeen.has(r.id)) firstSeen.set(r.id, r.seenAt);
  }
  const kinds: Record<string, number> = {};
  let shadow = 0;
  let first: number | null = null;
  const outrightOverLegit: BlocklistCheck['outrightOverLegit'] = [];
  const publicWholeZone: BlocklistCheck['publicWholeZone'] = [];
  let wholeZone = 0;
  const legit = [...o.legitSenders].map((i) => o.resolvers[i]!);
  for (const [id, e] of latest) {
    const s = (e.scope ?? {}) as Scope;
    const kind = s.kind ?? 'unknown';
    if (e.shadow === true) {
      shadow++;
      kinds[`${kind} (shadow)`] = (kinds[`${kind} (shadow)`] ?? 0) + 1;
    } else {
      kinds[kind] = (kinds[kind] ?? 0) + 1;
      const seen = firstSeen.get(id)!;
      if (first === null || seen < first) first = seen;
    }
    const action = typeof e.action === 'string' ? e.action : '';
    const nets = networksOf(e);
    const zoneScoped = typeof s.zone === 'string' && kind !== 'zone';
    if (kind === 'resolver' || kind === 'prefix' || kind === 'asn') {
      const hit = legit.filter((r) => nets.some((n) => covers(n, r.address)));
      if (hit.length > 0)
        outrightOverLegit.push({ id, covers: hit.length, example: hit[0]!.address });
    } else if (zoneScoped && action !== 'guard') {
      wholeZone++;
      for (const r of o.resolvers) {
        if (r.kind === 'public' && nets.some((n) => covers(n, r.address)))
          publicWholeZone.push({ id, resolver: r.address, zone: s.zone!, action });
      }
    }
  }
  return {
    kinds,
    shadowEntries: shadow,
    firstEntryS: first === null || o.onsetAt === null ? null : (first - o.onsetAt) / 1000,
    outrightOverLegit,
    publicWholeZone,
    wholeZoneClientEntries: wholeZone,
  };
}
