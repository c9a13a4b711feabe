import { utf8 } from './label-score';
import { type Tick } from './tick';
import { type TickRows } from './tick-rows';

/** Is `zone` allowlisted (itself, or under an allowlisted name)? */
export function zoneAllowlisted(allowlist: readonly string[], zone: string): boolean {
  return allowlist.some((a) => zone === a || zone.endsWith(`.${a}`));
}

/**
 * The allowlist as one zone's per-query pass reads it (NameScoring, and each hot-zone shard): the
 * zone itself, or the allowlisted subtrees under it, matched on the subname's bytes.
 */
export class ZoneAllowlist {
  readonly zone: boolean;
  private readonly subtrees: string[];
  /** The allowlisted subtrees' labels left of the zone, as bytes (subnames are bytes). */
  private readonly subtreeLabels: Uint8Array[];

  constructor(allowlist: readonly string[], zone: string) {
    this.zone = zoneAllowlisted(allowlist, zone);
    this.subtrees = allowlist.filter((a) => a.endsWith(`.${zone}`));
    this.subtreeLabels = this.subtrees.map((a) => utf8(a.slice(0, a.length - zone.length - 1)));
  }

  /** Is row i's name in an allowlisted subtree (or the zone allowlisted)? */
  has(rows: TickRows, i: number): boolean {
    if (this.zone) return true;
    if (this.subtrees.length === 0) return false;
    const odd = rows.oddQname(i);
    if (odd !== undefined) {
      for (const sub of this.subtrees) if (odd === sub || odd.endsWith(`.${sub}`)) return true;
      return false;
    }
    // sub.zone is in subtree a.zone when sub is a or ends with ".a".
    const b = rows.arena;
    const start = rows.subStart[i]!;
    const end = rows.subEnd[i]!;
    for (const a of this.subtreeLabels) {
      const from = end - a.length;
      if (from < start || (from > start && b[from - 1] !== 0x2e)) continue;
      let same = true;
      for (let k = 0; k < a.length && same; k++) same = b[from + k] === a[k];
      if (same) return true;
    }
    return false;
  }
}

/** A scored (not allowlisted) query's answer into `t`: failures by kind; rcode < 0 is no answer. */
export function countAnswer(t: Tick, rcode: number, ancount: number): void {
  if (rcode < 0) return;
  t.rcs++;
  if (rcode === 3) t.fails++;
  else if (rcode === 0) {
    if (ancount === 0) {
      t.fails++;
      t.nodata++;
    }
  } else if (rcode === 2) {
    t.fails++;
    t.servfail++;
  } else if (rcode === 5) {
    t.fails++;
    t.refused++;
  }
}
