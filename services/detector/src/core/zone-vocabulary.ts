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
 * never pushed out by a flood); every `agingTicks` the counts halve, names not asked since are
 * dropped, so the table follows what the zone is asked for now. Memory ≈ capacity × ~150 bytes.
 *
 * Keyed by the name's 31-bit hash (already computed for the seen filter), not the string: a Map
 * with small-integer keys is ~15 % of the detector's per-query cost cheaper than one hashing
 * fresh strings (measured). Two names sharing a key (~1 pair in 50k) merge their counts; the
 * first name seen keeps the entry.
 */
export interface VocabularySettings {
  capacity: number;
  agingTicks: number;
}

const ANSWERED = 1;
const NXDOMAIN = 2;
/** Entered during an alert (on a seen-filter hit). */
const DURING_ALERT = 4;

export interface NameEntry {
  name: string;
  hits: number;
  /** Start of the tick this name entered the table (event time). */
  since: number;
  flags: number;
}

export type VocabularyJson = [
  key: number,
  name: string,
  hits: number,
  since: number,
  flags: number,
][];

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
      (e.hits >= 2 || (e.flags & ANSWERED) !== 0)
    );
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
    if (rcode === 0) e.flags |= ANSWERED;
    else if (rcode === 3) e.flags |= NXDOMAIN;
  }

  /** A name not in the table, outside an alert: taken if there is room. */
  admit(hash: number, qname: string, rcode: number | null, tick: number): void {
    if (this.names.size >= this.s.capacity) return;
    const flags = rcode === 0 ? ANSWERED : rcode === 3 ? NXDOMAIN : 0;
    this.names.set(hash >>> 1, { name: qname, hits: 1, since: tick, flags });
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

  admitDuringAlert(hash: number, qname: string, rcode: number | null, tick: number): void {
    if (this.names.size >= this.s.capacity) return;
    const flags = DURING_ALERT | (rcode === 0 ? ANSWERED : rcode === 3 ? NXDOMAIN : 0);
    this.names.set(hash >>> 1, { name: qname, hits: 1, since: tick, flags });
  }

  countDuringAlert(e: NameEntry, rcode: number | null): void {
    if (rcode === 0) e.flags |= ANSWERED;
    else if (rcode === 3) e.flags |= NXDOMAIN;
    if (++e.hits === 2 && (e.flags & NXDOMAIN) === 0) this.version++;
  }

  /** At an alert's start: names that entered since the onset are the flood's as much as anyone's. */
  forgetSince(onset: number): void {
    for (const [key, e] of this.names)
      if (e.since >= onset && (e.flags & DURING_ALERT) === 0) this.names.delete(key);
  }

  /** Called once per closed tick: ages the table every `agingTicks`. */
  tick(): void {
    if (++this.ticks % this.s.agingTicks !== 0) return;
    for (const [key, e] of this.names) {
      e.hits >>= 1;
      if (e.hits === 0) this.names.delete(key);
    }
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
      const established = e.since < before && (e.hits >= 2 || (e.flags & ANSWERED) !== 0);
      const confirmed = (e.flags & DURING_ALERT) !== 0 && e.hits >= 2;
      if (established || confirmed) picked.push([name, e.hits]);
    }
    return picked.sort(byHitsThenName);
  }

  get bytes(): number {
    return this.names.size * 150;
  }

  toJSON(): VocabularyJson {
    return [...this.names].map(([k, e]) => [k, e.name, e.hits, e.since, e.flags]);
  }

  static fromJSON(s: VocabularySettings, j: VocabularyJson | undefined): ZoneVocabulary {
    const v = new ZoneVocabulary(s);
    for (const [key, name, hits, since, flags] of j ?? [])
      if (v.names.size < s.capacity) v.names.set(key, { name, hits, since, flags });
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
