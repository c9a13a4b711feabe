import { type QueryColumns, type QueryEvent } from '@sluice/contracts';
import { withDefaults, type DetectorSettings } from './settings';
import { ZoneDetector, type ZoneOutput, type ZoneSnapshot } from './zone-detector';

export type DetectorOutput = ZoneOutput;

export interface PartitionSnapshot {
  v: 1;
  maxTs: number | null;
  zones: ZoneSnapshot[];
}

class PartitionState {
  maxTs = -Infinity;
  /** Outputs of ticks closed during ingest (before an eviction), returned by the next advance. */
  carry: ZoneOutput = { alerts: [], zoneStats: [], offenders: [], knownNames: [] };
  readonly zones = new Map<string, ZoneDetector>();
}

export interface DetectorCounters {
  events: number;
  late: number;
  zones: number;
}

/**
 * Every zone of every partition this instance owns. Input is a partition's events in offset
 * order; outputs appear when the watermark closes ticks. A zone's watermark is its newest
 * event minus the allowed lateness, or its partition's newest event minus idleAdvanceMs when
 * the zone falls silent. An event older than its zone's watermark is late: counted, and folded
 * into the tick that holds the watermark (the oldest one certainly still open) — not dropped, so
 * a short lateness costs a query's tick, never the query. (A query held for its response, or sent
 * by a site whose clock lags, still counts towards the flood it belongs to.)
 * Because lateness is decided per event and ticks are processed from buffered events in
 * arrival order, the outputs depend only on each partition's event sequence — not on batch
 * sizes, replay speed, or which instance owns the partition.
 */
export class DetectorCore {
  readonly settings: DetectorSettings;
  private readonly partitions = new Map<number, PartitionState>();
  readonly counters: DetectorCounters = { events: 0, late: 0, zones: 0 };
  private batches = 0;

  constructor(settings: Partial<DetectorSettings> = {}) {
    this.settings = withDefaults(settings);
  }

  private partition(p: number): PartitionState {
    let s = this.partitions.get(p);
    if (!s) this.partitions.set(p, (s = new PartitionState()));
    return s;
  }

  private zoneWatermark(z: ZoneDetector, p: PartitionState): number {
    return Math.max(
      z.maxTs - this.settings.allowedLatenessMs,
      p.maxTs - this.settings.idleAdvanceMs,
    );
  }

  /** Buffer a partition's events (in offset order). Returns how many were late (folded). */
  ingest(partition: number, events: readonly QueryEvent[]): number {
    const p = this.partition(partition);
    let late = 0;
    for (const e of events) {
      const z = this.admit(p, e.zone, e.ts);
      const watermark = this.zoneWatermark(z, p);
      if (e.ts < watermark) {
        late++;
        z.buffer(e, watermark);
      } else z.buffer(e, e.ts);
    }
    this.counters.events += events.length;
    this.counters.late += late;
    return late;
  }

  /**
   * `ingest` for a decoded batch's columns (the consumer's path: no QueryEvent per query, names
   * copied as bytes). Same rules, same outputs.
   */
  ingestColumns(partition: number, c: QueryColumns): number {
    const p = this.partition(partition);
    let late = 0;
    const zones = c.rowZones;
    // A batch is one zone's (rowZones is rare): the zone's detector is looked up once, and again
    // only when a row's zone differs or the cached one may have gone idle long enough to evict.
    let lastZone: string | null = null;
    let last: ZoneDetector | null = null;
    const { evictIdleMs, allowedLatenessMs, idleAdvanceMs } = this.settings;
    // Names this batch for the zones' resolver-id caches (its dictionary is looked up once).
    const batch = (this.batches = (this.batches + 1) | 0);
    for (let i = 0; i < c.count; i++) {
      const ts = c.ts[i]!;
      const zone = zones?.[i] ?? c.zone;
      let z: ZoneDetector;
      if (last !== null && zone === lastZone && last.maxTs >= Math.max(p.maxTs, ts) - evictIdleMs) {
        if (ts > p.maxTs) p.maxTs = ts;
        z = last;
      } else {
        z = last = this.admit(p, zone, ts);
        lastZone = zone;
      }
      // zoneWatermark, inline: times are not small integers, and a number crossing a call is
      // boxed — per query, that was garbage. Only the rare late row passes one.
      const watermark = Math.max(z.maxTs - allowedLatenessMs, p.maxTs - idleAdvanceMs);
      if (ts < watermark) {
        late++;
        z.bufferColumnsAt(c, i, watermark, batch);
      } else z.bufferColumns(c, i, batch);
    }
    this.counters.events += c.count;
    this.counters.late += late;
    return late;
  }

  /** The zone detector that takes an event at `ts` (the caller checks its lateness). */
  private admit(p: PartitionState, zone: string, ts: number): ZoneDetector {
    // Move the partition clock first, so a zone that returns after more than evictIdleMs of
    // silence is forgotten (and relearns) rather than resumed with a stale baseline.
    if (ts > p.maxTs) p.maxTs = ts;
    let z = p.zones.get(zone);
    if (z && this.evictable(z, p)) z = undefined;
    if (!z) {
      p.zones.set(zone, (z = new ZoneDetector(zone, this.settings)));
      this.counters.zones++;
    }
    // The zone's own clock moves in buffer(): an event newer than it is never late.
    return z;
  }

  /**
   * Long-silent zone: close what its watermark allows (outputs carried to the next advance) and,
   * unless an attack is still open, forget it. Decided from event times only, so whether this
   * happens at ingest or at advance does not change any output.
   */
  private evictable(z: ZoneDetector, p: PartitionState): boolean {
    if (z.maxTs >= p.maxTs - this.settings.evictIdleMs) return false;
    z.closeUpTo(this.zoneWatermark(z, p), p.carry);
    if (z.isActive) return false;
    p.zones.delete(z.zone);
    this.counters.zones--;
    return true;
  }

  /** Close every tick the watermarks have passed; returns what that produced. */
  advance(partition: number): DetectorOutput {
    const p = this.partitions.get(partition);
    if (!p) return { alerts: [], zoneStats: [], offenders: [], knownNames: [] };
    const out = p.carry;
    p.carry = { alerts: [], zoneStats: [], offenders: [], knownNames: [] };
    for (const z of [...p.zones.values()]) {
      z.closeUpTo(this.zoneWatermark(z, p), out);
      this.evictable(z, p);
    }
    return out;
  }

  /** ingest + advance. */
  process(partition: number, events: readonly QueryEvent[]): DetectorOutput {
    this.ingest(partition, events);
    return this.advance(partition);
  }

  /**
   * End of input (a finished replay): close everything buffered, as if the clock had moved
   * past the last event by the lateness and the quiet period needed to end attacks.
   */
  drain(partition: number, extraMs = 0): DetectorOutput {
    const p = this.partitions.get(partition);
    if (!p) return { alerts: [], zoneStats: [], offenders: [], knownNames: [] };
    const out = p.carry;
    p.carry = { alerts: [], zoneStats: [], offenders: [], knownNames: [] };
    for (const z of p.zones.values()) z.closeUpTo(z.maxTs + this.settings.tickMs + extraMs, out);
    return out;
  }

  activeAlerts(): { zone: string; alertId: string }[] {
    const out: { zone: string; alertId: string }[] = [];
    for (const p of this.partitions.values())
      for (const z of p.zones.values())
        if (z.alertId) out.push({ zone: z.zone, alertId: z.alertId });
    return out;
  }

  partitionsHeld(): number[] {
    return [...this.partitions.keys()];
  }

  snapshot(partition: number): PartitionSnapshot {
    const p = this.partitions.get(partition);
    return {
      v: 1,
      maxTs: p && Number.isFinite(p.maxTs) ? p.maxTs : null,
      zones: p ? [...p.zones.values()].map((z) => z.toJSON()) : [],
    };
  }

  restore(partition: number, snap: PartitionSnapshot): void {
    const p = new PartitionState();
    p.maxTs = snap.maxTs ?? -Infinity;
    for (const z of snap.zones) p.zones.set(z.zone, ZoneDetector.fromJSON(this.settings, z));
    this.partitions.set(partition, p);
  }

  drop(partition: number): void {
    this.partitions.delete(partition);
  }

  /** Sketch bytes held (filters + HyperLogLogs), for benchmarks. */
  sketchBytes(): number {
    let b = 0;
    for (const p of this.partitions.values()) for (const z of p.zones.values()) b += z.sketchBytes;
    return b;
  }
}
