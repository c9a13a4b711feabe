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

/** One change to the table: the row that left (if any) and the row that came (if any). */
interface Change {
  old: BlocklistRow | undefined;
  row: BlocklistRow | undefined;
}

/** One sort order, kept up to date from the change log instead of re-sorted per update. */
interface SortedRows {
  rows: BlocklistRow[];
  /** Absolute position in the change log this order reflects. */
  at: number;
}

/**
 * The compacted blocklist topic as a table: upsert/tombstone by id, paged server-side so a
 * browser only ever holds one page, however many entries there are.
 *
 * Updates are cheap whatever the size: the summary's counts move with each change, and each sort
 * order a browser asked for is kept and brought up to date from a log of changes when a page is
 * asked (the changed rows placed by binary search) rather than the whole list re-sorted
 * (100,000 entries: docs/benchmarks.md, "Console: an update of a 100,000-entry blocklist").
 */
export class BlocklistTable {
  private readonly rows = new Map<string, BlocklistRow>();
  private version = 0;
  private overflow = 0;
  private stopsVersion = 0;
  private shadow = 0;
  private guards = 0;
  private readonly byKind = new Map<string, number>();
  private readonly sorted = new Map<BlocklistSort, SortedRows>();
  private log: Change[] = [];
  /** Absolute log position of log[0]. */
  private logBase = 0;
  private lastFilter: { version: number; key: string; rows: BlocklistRow[] } | null = null;

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
    const old = this.rows.get(id);
    let row: BlocklistRow | undefined;
    if (entry === null) {
      if (!old) return false;
      this.rows.delete(id);
    } else {
      if (!old && this.rows.size >= this.maxEntries) {
        this.overflow++;
        return false;
      }
      row = toRow(entry);
      this.rows.set(id, row);
    }
    if (old) this.count(old, -1);
    if (row) this.count(row, 1);
    this.version++;
    if (this.sorted.size) this.record({ old, row });
    return true;
  }

  summary(): BlocklistSummary {
    return {
      version: this.version,
      stopsVersion: this.stopsVersion,
      total: this.rows.size,
      shadow: this.shadow,
      enforced: this.rows.size - this.shadow,
      guards: this.guards,
      byKind: Object.fromEntries([...this.byKind].filter(([, n]) => n > 0)),
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
    // A filter scans every row; its result holds until the table changes (stop figures moving
    // during a flood make browsers ask again for the same page: that costs a slice).
    const key = JSON.stringify([query.sort, q, mode, kind ?? null]);
    let hits =
      this.lastFilter?.version === this.version && this.lastFilter.key === key
        ? this.lastFilter.rows
        : null;
    if (!hits) {
      hits = all.filter(keep);
      this.lastFilter = { version: this.version, key, rows: hits };
    }
    return {
      version: this.version,
      total: all.length,
      matched: hits.length,
      offset,
      rows: hits.slice(offset, offset + limit),
    };
  }

  private count(r: BlocklistRow, d: 1 | -1): void {
    if (r.shadow) this.shadow += d;
    if (r.kind === 'zone') this.guards += d;
    this.byKind.set(r.kind, (this.byKind.get(r.kind) ?? 0) + d);
  }

  /**
   * Kept while some sort order still needs it; a log longer than the table is dropped with the
   * orders behind it (re-sorting once is cheaper than replaying it).
   */
  private record(c: Change): void {
    this.log.push(c);
    if (this.log.length <= Math.max(1_024, this.rows.size)) return;
    this.sorted.clear();
    this.logBase += this.log.length;
    this.log = [];
  }

  private sortedRows(sort: BlocklistSort): BlocklistRow[] {
    const end = this.logBase + this.log.length;
    let s = this.sorted.get(sort);
    if (!s) {
      s = { rows: [...this.rows.values()].sort(compare[sort]), at: end };
      this.sorted.set(sort, s);
    } else if (s.at < end) {
      s.rows = applyChanges(s.rows, this.log.slice(s.at - this.logBase), this.rows, compare[sort]);
      s.at = end;
    }
    this.trimLog();
    return s.rows;
  }

  /** Drop the log entries every kept order has taken in. */
  private trimLog(): void {
    let min = this.logBase + this.log.length;
    for (const s of this.sorted.values()) min = Math.min(min, s.at);
    if (min === this.logBase) return;
    this.log = this.log.slice(min - this.logBase);
    this.logBase = min;
  }
}

/** Up to this many rows in and out are moved in place; beyond, the array is rebuilt in one pass. */
const SPLICE_MAX = 32;

/**
 * `rows` (sorted by `cmp`) brought up to date with `changes`: the rows that left go, the rows
 * still current that came go in, in order. Rows are never mutated, so a row that left is found by
 * binary search and identity (ties are broken by id: each row has one place), and the new rows'
 * places likewise: k changes cost k·log n comparisons and k moves (few) or one copy of the
 * array (many), never a sort. May reuse `rows`.
 */
export function applyChanges(
  rows: BlocklistRow[],
  changes: readonly Change[],
  current: ReadonlyMap<string, BlocklistRow>,
  cmp: (a: BlocklistRow, b: BlocklistRow) => number,
): BlocklistRow[] {
  const gone = new Set<BlocklistRow>();
  const came = new Set<BlocklistRow>();
  for (const c of changes) {
    if (c.old) gone.add(c.old);
    if (c.row) came.add(c.row);
  }
  const cut: number[] = [];
  for (const r of gone) {
    const i = lowerBound(rows, r, cmp);
    if (rows[i] === r) cut.push(i);
  }
  cut.sort((a, b) => a - b);
  const added = [...came].filter((r) => current.get(r.id) === r && !gone.has(r)).sort(cmp);
  if (cut.length + added.length <= SPLICE_MAX) {
    // A few changes: moved in place (a native memmove each), no new array for the GC.
    for (let i = cut.length - 1; i >= 0; i--) rows.splice(cut[i]!, 1);
    for (const r of added) rows.splice(lowerBound(rows, r, cmp), 0, r);
    return rows;
  }
  const at = added.map((r) => lowerBound(rows, r, cmp));
  const out = new Array<BlocklistRow>(rows.length - cut.length + added.length);
  let k = 0;
  let c = 0;
  let a = 0;
  for (let p = 0; ;) {
    const nextCut = c < cut.length ? cut[c]! : rows.length;
    const nextAdd = a < at.length ? at[a]! : rows.length;
    const stop = Math.min(nextCut, nextAdd);
    while (p < stop) out[k++] = rows[p++]!;
    if (a < at.length && nextAdd === p) out[k++] = added[a++]!;
    else if (c < cut.length && nextCut === p) {
      c++;
      p++;
    } else break;
  }
  return out;
}

function lowerBound(
  rows: readonly BlocklistRow[],
  r: BlocklistRow,
  cmp: (a: BlocklistRow, b: BlocklistRow) => number,
): number {
  let lo = 0;
  let hi = rows.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cmp(rows[mid]!, r) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
