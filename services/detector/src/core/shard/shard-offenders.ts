import { type Evidence } from '@sluice/contracts';
import { type DetectorSettings } from '../settings';
import { type TickRows } from '../tick-rows';
import { byString } from './bottom-k';
import { type OffenderRow, type ShardSummary } from './shard-summary';

const EVIDENCE_PER_RESOLVER = 3;
export const byEvidence = (a: Evidence, b: Evidence): number =>
  a.ts - b.ts || byString(a.qname, b.qname);

export interface OffCount {
  attack: number;
  total: number;
  evidence: Evidence[];
}

/** A shard's part of a checkpoint (ShardSnapshot holds these fields as is). */
export interface ShardOffendersJson {
  offStart: number | null;
  offAlertId: string | null;
  off: [string, OffCount][];
  offClosed: { windowStart: number; windowEnd: number; off: [string, OffCount][] } | null;
  offDone: ShardSummary['offenders'];
}

/**
 * A shard's offender window (ZoneWindows' offender half, for its own queries): counts per
 * resolver; a closed window's rows are sent only once the merge stage has said whether an alert
 * owns it, with the summary after that decision.
 */
export class ShardOffenders {
  private off = new Map<string, OffCount>();
  private offStart: number | null = null;
  private offAlertId: string | null = null;
  private offClosed: { windowStart: number; windowEnd: number; off: Map<string, OffCount> } | null =
    null;
  private offDone: ShardSummary['offenders'] = null;
  /**
   * The open window's entries by the row's resolver id (its stage's ResolverIds): a cache of
   * `off`, so a query costs an array read, not a string-keyed lookup. Emptied with the window
   * and whenever the stage rebuilds its id table (`idsReset`).
   */
  private byId: (OffCount | undefined)[] = [];

  constructor(private readonly s: DetectorSettings) {}

  /** The stage's id table was rebuilt: ids no longer name the same resolvers. */
  idsReset(): void {
    this.byId = [];
  }

  /** Row i's query, with each resolver's earliest attack-like queries as evidence. */
  count(rows: TickRows, i: number, resolver: string, attackLike: boolean): void {
    const id = rows.rid[i]!;
    let c = this.byId[id];
    if (c === undefined) {
      c = this.off.get(resolver);
      if (!c) {
        if (this.off.size >= this.s.maxTrackedResolvers) return;
        this.off.set(resolver, (c = { attack: 0, total: 0, evidence: [] }));
      }
      // Grown one by one: an array written far past its end turns into a slow dictionary.
      while (this.byId.length <= id) this.byId.push(undefined);
      this.byId[id] = c;
    }
    c.total++;
    if (!attackLike) return;
    c.attack++;
    const ev = c.evidence;
    const ts = rows.ts[i]!;
    if (ev.length < EVIDENCE_PER_RESOLVER) {
      ev.push({ ts, resolver, qname: rows.qname(i) });
      ev.sort(byEvidence);
    } else if (ts <= ev[ev.length - 1]!.ts) {
      const e = { ts, resolver, qname: rows.qname(i) };
      if (byEvidence(e, ev[ev.length - 1]!) < 0) {
        ev[ev.length - 1] = e;
        ev.sort(byEvidence);
      }
    }
  }

  /** The tick at `start` closed: so does the window if it ends with it. */
  closeTick(start: number): void {
    const s = this.s;
    this.offStart ??= start;
    if ((Math.floor(start / s.tickMs) + 1) % s.offenderWindowTicks === 0) {
      // Sent with the next tick, once the merge stage has said whether an alert owns it.
      this.offClosed = { windowStart: this.offStart, windowEnd: start + s.tickMs, off: this.off };
      this.off = new Map();
      this.byId = [];
      this.offStart = null;
    }
  }

  /** The merge stage's decision: an alert open after any of a window's ticks owns it (as ZoneWindows). */
  decided(alert: { alertId: string } | null): void {
    if (alert) this.offAlertId = alert.alertId;
    if (!this.offClosed) return;
    const c = this.offClosed;
    this.offDone =
      this.offAlertId !== null
        ? {
            windowStart: c.windowStart,
            windowEnd: c.windowEnd,
            rows: [...c.off].map(([r, x]): OffenderRow => [r, x.attack, x.total, x.evidence]),
          }
        : null;
    this.offClosed = null;
    this.offAlertId = alert?.alertId ?? null;
  }

  /** The owned window's rows for the next summary (once). */
  take(): ShardSummary['offenders'] {
    const done = this.offDone;
    this.offDone = null;
    return done;
  }

  toJSON(): ShardOffendersJson {
    const entries = (m: Map<string, OffCount>) =>
      [...m].map(([r, c]): [string, OffCount] => [r, { ...c, evidence: [...c.evidence] }]);
    return {
      offStart: this.offStart,
      offAlertId: this.offAlertId,
      off: entries(this.off),
      offClosed: this.offClosed
        ? {
            windowStart: this.offClosed.windowStart,
            windowEnd: this.offClosed.windowEnd,
            off: entries(this.offClosed.off),
          }
        : null,
      offDone: this.offDone,
    };
  }

  static fromJSON(s: DetectorSettings, j: ShardOffendersJson): ShardOffenders {
    const o = new ShardOffenders(s);
    o.offStart = j.offStart;
    o.offAlertId = j.offAlertId;
    o.off = new Map(j.off);
    o.offClosed = j.offClosed
      ? {
          windowStart: j.offClosed.windowStart,
          windowEnd: j.offClosed.windowEnd,
          off: new Map(j.offClosed.off),
        }
      : null;
    o.offDone = j.offDone;
    return o;
  }
}
