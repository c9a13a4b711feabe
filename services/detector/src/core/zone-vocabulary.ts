/**
 * The names a zone's own traffic has established: what a zone guard answers while the zone is
 * under attack. A name is *known* once it was asked at least twice, or answered NOERROR, and was
 * never answered NXDOMAIN. Flood names are asked once each (that is what makes them miss every
 * cache), so they never qualify; learning stops while an alert is active, and the list handed to
 * the guard only holds names first seen before the attack's onset.
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

interface NameEntry {
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

  constructor(private readonly s: VocabularySettings) {}

  get size(): number {
    return this.names.size;
  }

  /**
   * One query (and its rcode, when a response was seen); `hash` is any 32-bit hash of the name.
   * `learning` is false during an alert.
   */
  observe(
    hash: number,
    qname: string,
    rcode: number | null,
    tick: number,
    learning: boolean,
  ): void {
    const key = hash >>> 1;
    const e = this.names.get(key);
    if (e !== undefined) {
      if (!learning) return;
      e.hits++;
      if (rcode === 0) e.flags |= ANSWERED;
      else if (rcode === 3) e.flags |= NXDOMAIN;
      return;
    }
    if (!learning || this.names.size >= this.s.capacity) return;
    const flags = rcode === 0 ? ANSWERED : rcode === 3 ? NXDOMAIN : 0;
    this.names.set(key, { name: qname, hits: 1, since: tick, flags });
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
    const picked: Array<[string, number]> = [];
    for (const e of this.names.values()) {
      const name = e.name;
      if (e.since >= before || (e.flags & NXDOMAIN) !== 0) continue;
      if (e.hits >= 2 || (e.flags & ANSWERED) !== 0) picked.push([name, e.hits]);
    }
    picked.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    const names: string[] = [];
    let bytes = 0;
    for (const [name] of picked) {
      if (names.length >= max || bytes + name.length + 3 > maxBytes) break;
      names.push(name);
      bytes += name.length + 3;
    }
    return { names, truncated: names.length < picked.length };
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
