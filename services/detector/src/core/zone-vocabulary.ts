/**
 * The names a zone's own traffic has established: what a zone guard answers while the zone is
 * under attack. A name is *known* once it was asked at least twice, or answered NOERROR, and was
 * never answered NXDOMAIN. Flood names are asked once each (that is what makes them miss every
 * cache), so they never qualify. While an alert is active a name is only counted once the seen
 * filter already knows it (its second sighting at least), and a name new during the attack is
 * known from its third sighting: a flood name never comes back, and one that a filter false
 * positive lets in still needs a real repeat. So a long attack does not freeze the guard's list —
 * a name that becomes popular during it is answered within seconds — and never teaches it the
 * flood. Names that entered between the onset and the alert (the flood among them) are forgotten
 * when the alert starts.
 *
 * Bounded: at most `capacity` names per zone. A full table takes no new names (existing ones are
 * never pushed out by a flood). Every `agingTicks` (an aging) the counts halve, so the guard lists
 * what is asked most now first; a known name stays known until it has gone `retentionAgings`
 * agings without a single query (24 h by default): a zone's long tail — names a resolver asks
 * again only when their TTL runs out, hours apart — is what a traffic-only guard misses most.
 * When the table passes 90 % of capacity outside an alert, the names idle longest go first, down
 * to 80 % (never during an alert: the guard's list must not shrink under it). Memory ≈
 * capacity × ~150 bytes.
 *
 * Keyed by the name's 31-bit hash (already computed for the seen filter), not the string: a Map
 * with small-integer keys is ~15 % of the detector's per-query cost cheaper than one hashing
 * fresh strings (measured). Two names sharing a key (~1 pair in 50k) merge their counts; the
 * first name seen keeps the entry.
 */
export interface VocabularySettings {
  capacity: number;
  agingTicks: number;
  /** Agings a name may go unasked before it is forgotten (default 288: 24 h of 5-min agings). */
  retentionAgings?: number;
}

const ANSWERED = 1;
const NXDOMAIN = 2;
/** Entered during an alert (on a seen-filter hit). */
const DURING_ALERT = 4;
/** Asked at least twice (the count halves with age; this does not). */
const REPEATED = 8;
/** Asked since the last aging. */
const ASKED = 16;

export interface NameEntry {
  name: string;
  hits: number;
  /** Start of the tick this name entered the table (event time). */
  since: number;
  flags: number;
  /** Agings in a row without a query. */
  idle: number;
  /** The tick (start) `inTick` counts queries of: the flatness count's, never checkpointed. */
  tick: number;
  inTick: number;
  /**
   * The name's random score under the zone's model as of change `scoredAt` (−1: none), and the
   * second hash of the name scored (NameScoring's cache; never checkpointed).
   */
  score: number;
  scoredAt: number;
  scoredH2: number;
}

export type VocabularyJson = [
  key: number,
  name: string,
  hits: number,
  since: number,
  flags: number,
  idle?: number,
][];

/** Every entry is made here, so all have one shape (the per-query pass reads them all). */
function entry(name: string, hits: number, since: number, flags: number, idle: number): NameEntry {
  return {
    name,
    hits,
    since,
    flags,
    idle,
    tick: -1,
    inTick: 0,
    score: NaN,
    scoredAt: -1,
    scoredH2: 0,
  };
}

export class ZoneVocabulary {
  private readonly names = new Map<number, NameEntry>();
  private ticks = 0;
  /** Grows whenever a name becomes known during an alert: the guard's list needs republishing. */
  version = 0;

  constructor(private readonly s: VocabularySettings) {}

  get size(): number {
    return this.names.size;
  }

  /**
   * The name's entry, if any: the per-query pass looks it up once and hands it to
   * `established` and `observe` (one Map lookup per query, not two).
   */
  lookup(hash: number): NameEntry | undefined {
    return this.names.get(hash >>> 1);
  }

  /**
   * Whether the name was established before `before` (event time): known (asked twice or
   * answered NOERROR, never NXDOMAIN) and in the table since then. Names a surge brings are not.
   */
  static established(e: NameEntry | undefined, before: number): boolean {
    return (
      e !== undefined &&
      e.since < before &&
      (e.flags & (NXDOMAIN | DURING_ALERT)) === 0 &&
      (e.flags & (REPEATED | ANSWERED)) !== 0
    );
  }

  /**
   * One more query for the name in the tick starting at `start`: returns how many came before
   * it in that tick (its coincidences with them).
   */
  static askedInTick(e: NameEntry, start: number): number {
    if (e.tick === start) return e.inTick++;
    e.tick = start;
    e.inTick = 1;
    return 0;
  }

  /** No room for another name. */
  get full(): boolean {
    return this.names.size >= this.s.capacity;
  }

  /**
   * One query (and its rcode, when a response was seen; −1 or null when not); `hash` is any
   * 32-bit hash of the name. `learning` is false during an alert.
   */
  observe(
    hash: number,
    qname: string,
    rcode: number | null,
    tick: number,
    learning: boolean,
    e: NameEntry | undefined = this.lookup(hash),
  ): void {
    if (!learning) return;
    if (e !== undefined) this.count(e, rcode);
    else this.admit(hash, qname, rcode, tick);
  }

  /**
   * A query for a name in the table, outside an alert. (observe's halves, for a caller that holds
   * names as bytes and makes the string only for a name the table takes.)
   */
  count(e: NameEntry, rcode: number | null): void {
    e.hits++;
    e.flags |= REPEATED | ASKED;
    if (rcode === 0) e.flags |= ANSWERED;
    else if (rcode === 3) e.flags |= NXDOMAIN;
  }

  /** A name not in the table, outside an alert: taken if there is room. */
  admit(hash: number, qname: string, rcode: number | null, tick: number): NameEntry | undefined {
    if (this.names.size >= this.s.capacity) return undefined;
    const flags = ASKED | (rcode === 0 ? ANSWERED : rcode === 3 ? NXDOMAIN : 0);
    const e = entry(qname, 1, tick, flags, 0);
    this.names.set(hash >>> 1, e);
    return e;
  }

  /**
   * During an alert: a name the seen filter already knows. Counted (or entered, flagged as new
   * during the alert); a name that reaches two counts becomes known and bumps `version`.
   */
  observeDuringAlert(
    hash: number,
    qname: string,
    rcode: number | null,
    tick: number,
    e: NameEntry | undefined = this.lookup(hash),
  ): void {
    if (e === undefined) this.admitDuringAlert(hash, qname, rcode, tick);
    else this.countDuringAlert(e, rcode);
  }

  admitDuringAlert(
    hash: number,
    qname: string,
    rcode: number | null,
    tick: number,
  ): NameEntry | undefined {
    if (this.names.size >= this.s.capacity) return undefined;
    const flags = DURING_ALERT | ASKED | (rcode === 0 ? ANSWERED : rcode === 3 ? NXDOMAIN : 0);
    const e = entry(qname, 1, tick, flags, 0);
    this.names.set(hash >>> 1, e);
    return e;
  }

  countDuringAlert(e: NameEntry, rcode: number | null): void {
    if (rcode === 0) e.flags |= ANSWERED;
    else if (rcode === 3) e.flags |= NXDOMAIN;
    e.flags |= ASKED;
    if (++e.hits >= 2 && (e.flags & REPEATED) === 0) {
      e.flags |= REPEATED;
      if ((e.flags & NXDOMAIN) === 0) this.version++;
    }
  }

  /** At an alert's start: names that entered since the onset are the flood's as much as anyone's. */
  forgetSince(onset: number): void {
    for (const [key, e] of this.names)
      if (e.since >= onset && (e.flags & DURING_ALERT) === 0) this.names.delete(key);
  }

  /**
   * Called once per closed tick (`learning` false during an alert): ages the table every
   * `agingTicks`. A name asked only once (not known) goes at the first aging without a query.
   */
  tick(learning = true): void {
    if (++this.ticks % this.s.agingTicks !== 0) return;
    const retention = this.s.retentionAgings ?? 288;
    const names = this.names;
    names.forEach((e, key) => {
      e.hits >>= 1;
      if ((e.flags & ASKED) !== 0) e.idle = 0;
      else e.idle++;
      e.flags &= ~ASKED;
      const known = (e.flags & (REPEATED | ANSWERED)) !== 0 && (e.flags & NXDOMAIN) === 0;
      if (e.idle > (known ? retention : 0)) names.delete(key);
    });
    if (learning && this.names.size > 0.9 * this.s.capacity) this.evictIdlest();
  }

  /** Down to 80 % of capacity, the names unasked for longest (then least asked) first. */
  private evictIdlest(): void {
    const drop = this.names.size - Math.floor(0.8 * this.s.capacity);
    const byIdle = [...this.names].sort(([, a], [, b]) => b.idle - a.idle || a.hits - b.hits);
    for (let i = 0; i < drop; i++) this.names.delete(byIdle[i]![0]);
  }

  /**
   * Known names established before `before` (event time), most asked first, at most `max` names
   * and `maxBytes` of name text. `truncated` says whether more qualified.
   */
  known(before: number, max: number, maxBytes: number): { names: string[]; truncated: boolean } {
    const picked = this.candidates(before);
    const names = firstKnown(picked, max, maxBytes).map(([name]) => name);
    return { names, truncated: names.length < picked.length };
  }

  /** Every name `known` may list, with its hits, best first (a hot zone's shards merge these). */
  candidates(before: number): [name: string, hits: number][] {
    const picked: [string, number][] = [];
    for (const e of this.names.values()) {
      const name = e.name;
      if ((e.flags & NXDOMAIN) !== 0) continue;
      const established = e.since < before && (e.flags & (REPEATED | ANSWERED)) !== 0;
      const confirmed = (e.flags & DURING_ALERT) !== 0 && (e.flags & REPEATED) !== 0;
      if (established || confirmed) picked.push([name, e.hits]);
    }
    return picked.sort(byHitsThenName);
  }

  get bytes(): number {
    return this.names.size * 150;
  }

  toJSON(): VocabularyJson {
    return [...this.names].map(([k, e]) => [k, e.name, e.hits, e.since, e.flags, e.idle]);
  }

  static fromJSON(s: VocabularySettings, j: VocabularyJson | undefined): ZoneVocabulary {
    const v = new ZoneVocabulary(s);
    for (const [key, name, hits, since, stored, idle] of j ?? []) {
      if (v.names.size >= s.capacity) break;
      // Checkpoints before retention: a name was known while its count was ≥ 2.
      const flags = idle === undefined && hits >= 2 ? stored | REPEATED : stored;
      v.names.set(key, entry(name, hits, since, flags, idle ?? 0));
    }
    return v;
  }
}

/** Most asked first, then by name: the order `known` lists names in. */
export function byHitsThenName(a: [string, number], b: [string, number]): number {
  return b[1] - a[1] || (a[0] < b[0] ? -1 : 1);
}

/**
 * The leading names of a best-first list within `max` names and `maxBytes` of name text. A
 * prefix rule: the first names of a merged list are among the first names of each part.
 */
export function firstKnown<T extends [string, number]>(
  picked: readonly T[],
  max: number,
  maxBytes: number,
): T[] {
  const out: T[] = [];
  let bytes = 0;
  for (const p of picked) {
    if (out.length >= max || bytes + p[0].length + 3 > maxBytes) break;
    out.push(p);
    bytes += p[0].length + 3;
  }
  return out;
}
