import { type BlockScope, type BlocklistEntry } from '@sluice/contracts';

/** One blocklist entry as the console shows it: flat, no name lists (a guard keeps only counts). */
export interface BlocklistRow {
  id: string;
  kind: BlockScope['kind'];
  /** What is blocked, in words: "198.51.100.7 for example.com", "AS64500", "zone example.com". */
  target: string;
  zone: string | null;
  action: BlocklistEntry['action'];
  reason: string;
  score: number;
  createdAt: number;
  expiresAt: number;
  shadow: boolean;
  networks: number;
  guard: {
    alertId: string;
    appliesTo: 'offenders' | 'all';
    knownNames: number;
    namesTruncated: boolean;
    sources: string[];
    alertEndedAt: number | null;
  } | null;
}

export type BlocklistSort = 'score' | 'expiresAt' | 'createdAt' | 'target';
export const BLOCKLIST_SORTS: readonly BlocklistSort[] = [
  'score',
  'expiresAt',
  'createdAt',
  'target',
];

export interface BlocklistQuery {
  offset: number;
  limit: number;
  sort: BlocklistSort;
  /** Case-insensitive substring of id, target, reason or zone. */
  q?: string;
  mode?: 'all' | 'shadow' | 'enforced';
  kind?: BlockScope['kind'] | 'guards';
}

export interface BlocklistPage {
  version: number;
  total: number;
  matched: number;
  offset: number;
  rows: BlocklistRow[];
}

export interface BlocklistSummary {
  version: number;
  /** Moves when any entry's stop figures moved (not a sort key: the sorted pages stay valid). */
  stopsVersion: number;
  total: number;
  shadow: number;
  enforced: number;
  guards: number;
  byKind: Record<string, number>;
  /** Entries not kept because the view was full (CONSOLE_MAX_BLOCKLIST). */
  overflow: number;
}

export function targetOf(scope: BlockScope): { target: string; zone: string | null } {
  switch (scope.kind) {
    case 'resolver-zone':
      return { target: `${scope.resolver} for ${scope.zone}`, zone: scope.zone };
    case 'resolver':
      return { target: scope.resolver, zone: null };
    case 'prefix':
      return { target: scope.prefix, zone: null };
    case 'asn':
      return { target: `AS${scope.asn}`, zone: null };
    case 'zone':
      return { target: `zone ${scope.zone}`, zone: scope.zone };
    case 'prefix-zone':
      return { target: `${scope.prefix} for ${scope.zone}`, zone: scope.zone };
    case 'asn-zone':
      return { target: `AS${scope.asn} for ${scope.zone}`, zone: scope.zone };
  }
}

export function toRow(e: BlocklistEntry): BlocklistRow {
  const { target, zone } = targetOf(e.scope);
  return {
    id: e.id,
    kind: e.scope.kind,
    target,
    zone,
    action: e.action,
    reason: e.reason,
    score: e.score,
    createdAt: e.createdAt,
    expiresAt: e.expiresAt,
    shadow: e.shadow,
    networks: e.networks?.length ?? 0,
    guard: e.guard
      ? {
          alertId: e.guard.alertId,
          appliesTo: e.guard.appliesTo,
          knownNames: e.guard.knownNames.length,
          namesTruncated: e.guard.namesTruncated,
          sources: e.guard.sources,
          alertEndedAt: e.guard.alertEndedAt,
        }
      : null,
  };
}

const compare: Record<BlocklistSort, (a: BlocklistRow, b: BlocklistRow) => number> = {
  score: (a, b) => b.score - a.score || cmp(a.id, b.id),
  expiresAt: (a, b) => a.expiresAt - b.expiresAt || cmp(a.id, b.id),
  createdAt: (a, b) => b.createdAt - a.createdAt || cmp(a.id, b.id),
  target: (a, b) => cmp(a.target, b.target) || cmp(a.id, b.id),
};
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The compacted blocklist topic as a table: upsert/tombstone by id, paged server-side so a
 * browser only ever holds one page, however many entries there are. The sorted order is cached
 * per version, so paging through 100,000 entries sorts once.
 */
export class BlocklistTable {
  private readonly rows = new Map<string, BlocklistRow>();
  private version = 0;
  private overflow = 0;
  private stopsVersion = 0;
  private sorted: { version: number; sort: BlocklistSort; rows: BlocklistRow[] } | null = null;

  constructor(private readonly maxEntries: number) {}

  get size(): number {
    return this.rows.size;
  }

  get currentVersion(): number {
    return this.version;
  }

  has(id: string): boolean {
    return this.rows.has(id);
  }

  /** Some entry's stop figures changed (they live in EntryStops, beside the rows). */
  touchStops(): void {
    this.stopsVersion++;
  }

  get currentStopsVersion(): number {
    return this.stopsVersion;
  }

  /** Returns whether the view changed. */
  apply(id: string, entry: BlocklistEntry | null): boolean {
    if (entry === null) {
      if (!this.rows.delete(id)) return false;
    } else {
      if (!this.rows.has(id) && this.rows.size >= this.maxEntries) {
        this.overflow++;
        return false;
      }
      this.rows.set(id, toRow(entry));
    }
    this.version++;
    return true;
  }

  summary(): BlocklistSummary {
    let shadow = 0;
    let guards = 0;
    const byKind: Record<string, number> = {};
    for (const r of this.rows.values()) {
      if (r.shadow) shadow++;
      if (r.kind === 'zone') guards++;
      byKind[r.kind] = (byKind[r.kind] ?? 0) + 1;
    }
    return {
      version: this.version,
      stopsVersion: this.stopsVersion,
      total: this.rows.size,
      shadow,
      enforced: this.rows.size - shadow,
      guards,
      byKind,
      overflow: this.overflow,
    };
  }

  page(query: BlocklistQuery): BlocklistPage {
    const all = this.sortedRows(query.sort);
    const q = query.q?.trim().toLowerCase() ?? '';
    const mode = query.mode ?? 'all';
    const kind = query.kind;
    const keep = (r: BlocklistRow) =>
      (mode === 'all' || (mode === 'shadow') === r.shadow) &&
      (kind === undefined || (kind === 'guards' ? r.kind === 'zone' : r.kind === kind)) &&
      (q === '' ||
        r.target.toLowerCase().includes(q) ||
        r.reason.toLowerCase().includes(q) ||
        r.id.toLowerCase().includes(q));
    const filtered = q === '' && mode === 'all' && kind === undefined;
    const offset = Math.max(0, query.offset);
    const limit = Math.max(0, Math.min(query.limit, 1_000));
    if (filtered)
      return {
        version: this.version,
        total: all.length,
        matched: all.length,
        offset,
        rows: all.slice(offset, offset + limit),
      };
    const rows: BlocklistRow[] = [];
    let matched = 0;
    for (const r of all) {
      if (!keep(r)) continue;
      if (matched >= offset && rows.length < limit) rows.push(r);
      matched++;
    }
    return { version: this.version, total: all.length, matched, offset, rows };
  }

  private sortedRows(sort: BlocklistSort): BlocklistRow[] {
    if (this.sorted && this.sorted.version === this.version && this.sorted.sort === sort)
      return this.sorted.rows;
    const rows = [...this.rows.values()].sort(compare[sort]);
    this.sorted = { version: this.version, sort, rows };
    return rows;
  }
}
