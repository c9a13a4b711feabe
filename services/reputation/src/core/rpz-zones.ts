import { type BlocklistEntry } from '@sluice/contracts';
import { inZone, normaliseName } from '@sluice/dns';
import { rpzRecordsByZone, type RpzRecord } from './rpz';

export interface ZoneDiff {
  from: number;
  to: number;
  removed: RpzRecord[];
  added: RpzRecord[];
}

export interface PolicyZoneView {
  name: string;
  serial: number;
  records: RpzRecord[];
}

interface ZoneState {
  serial: number;
  records: Map<string, string>;
  history: ZoneDiff[];
}

/** RFC 1982 serial arithmetic: is a newer than b? */
export function serialGt(a: number, b: number): boolean {
  return a !== b && (a - b) >>> 0 < 2 ** 31;
}

/**
 * The policy zones Sluice serves: `<origin>` and `<zone>.<origin>` per attacked zone, each with a
 * serial and a bounded history of diffs for IXFR. Unknown zones under the origin are served empty
 * so operators can configure the zones they protect before any attack. History lives in memory:
 * after a restart clients with an older serial get a full transfer (IXFR falls back to AXFR form).
 */
export class RpzZoneSet {
  private readonly zones = new Map<string, ZoneState>();
  private serial: number;
  /** The serial of a zone that never had content (it is not stored: see peek()). */
  private readonly emptySerial: number;

  constructor(
    readonly origin: string,
    initialSerial: number,
    private readonly historyLimit = 50,
  ) {
    this.origin = normaliseName(origin);
    this.serial = initialSerial >>> 0;
    this.emptySerial = this.serial;
  }

  get currentSerial(): number {
    return this.serial;
  }

  /** True for the origin and any name below it that could be a per-zone policy zone. */
  serves(name: string): boolean {
    return inZone(normaliseName(name), this.origin);
  }

  get(name: string): PolicyZoneView | null {
    const head = this.head(name);
    if (head === null) return null;
    const z = this.peek(head.name);
    return {
      ...head,
      records: [...z.records].map(([rname, target]) => ({ name: rname, target })),
    };
  }

  /** Name and serial only: what a SOA query or an up-to-date IXFR needs, without copying records. */
  head(name: string): { name: string; serial: number } | null {
    const n = normaliseName(name);
    if (!this.serves(n)) return null;
    return { name: n, serial: this.peek(n).serial };
  }

  /** Diffs from `serial` to the current version, or null when history does not reach back. */
  diffsSince(name: string, serial: number): ZoneDiff[] | null {
    const z = this.peek(normaliseName(name));
    if (serial === z.serial) return [];
    const i = z.history.findIndex((d) => d.from === serial);
    return i < 0 ? null : z.history.slice(i);
  }

  /** Replaces all content with the policy records of `entries`; returns the zones that changed. */
  update(entries: readonly BlocklistEntry[], now = Date.now()): string[] {
    const byZone = rpzRecordsByZone(entries, this.origin);
    const names = new Set<string>([this.origin, ...this.zones.keys(), ...byZone.keys()]);
    const changed: string[] = [];
    const next = Math.max((this.serial + 1) >>> 0, Math.floor(now / 1000)) >>> 0;
    for (const name of names) {
      const z = this.state(name);
      const want = new Map((byZone.get(name) ?? []).map((r) => [r.name, r.target]));
      const removed: RpzRecord[] = [];
      const added: RpzRecord[] = [];
      for (const [n, t] of z.records) if (want.get(n) !== t) removed.push({ name: n, target: t });
      for (const [n, t] of want) if (z.records.get(n) !== t) added.push({ name: n, target: t });
      if (removed.length === 0 && added.length === 0) continue;
      z.history.push({ from: z.serial, to: next, removed, added });
      if (z.history.length > this.historyLimit) z.history.shift();
      z.serial = next;
      z.records = want;
      changed.push(name);
    }
    if (changed.length > 0) this.serial = next;
    return changed;
  }

  /**
   * A zone as read by a query: an unknown zone under the origin reads as empty at the set's first
   * serial, and is not stored — storing it let any client add a zone per SOA query for a made-up
   * name (found by the rpz-xfr-server fuzz target), each one kept and walked by every update().
   */
  private peek(name: string): ZoneState {
    return this.zones.get(name) ?? { serial: this.emptySerial, records: new Map(), history: [] };
  }

  private state(name: string): ZoneState {
    let z = this.zones.get(name);
    // Before its first content a zone was served empty at emptySerial: its history starts there.
    if (!z)
      this.zones.set(name, (z = { serial: this.emptySerial, records: new Map(), history: [] }));
    return z;
  }
}
