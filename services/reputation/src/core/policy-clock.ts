// The pipeline's policy time: when blocks start and lapse, per zone, on the wall clock or on the
// zone's own event clock (replays).

/**
 * `wall`: live enforcement, blocks lapse on the wall clock. `event`: every zone's clock is the
 * newest event time seen for that zone (replays, simulations). `auto`: wall, except for a zone
 * whose records are older than `autoEventLagMs` — a replay of an old capture — which runs on its
 * own event clock (logged once), so it yields the entries a live run would have.
 */
export type ClockMode = 'wall' | 'event' | 'auto';

/**
 * Policy time for a zone's entries (or for outright entries, zone null). Scores decay in event
 * time always; blocks are created and expire in policy time (see ClockMode). A zone's event
 * clock depends only on that zone's records, so two replays of one capture agree whatever the
 * partitions' interleaving.
 */
export class PolicyClock {
  private watermark = 0;
  /** Newest event time seen per zone (records and alerts): each zone's own event clock. */
  private readonly zoneClock = new Map<string, number>();
  private readonly eventZones = new Set<string>();

  constructor(
    private readonly mode: ClockMode,
    private readonly autoEventLagMs: number,
    private readonly onClock?: (zone: string, mode: 'event' | 'wall', lagMs: number) => void,
  ) {}

  now(zone: string | null = null): number {
    const event = zone === null ? this.watermark : (this.zoneClock.get(zone) ?? this.watermark);
    switch (this.mode) {
      case 'event':
        return event;
      case 'wall':
        // Never earlier than the records themselves (a sender's clock ahead of ours).
        return Math.max(Date.now(), event);
      case 'auto':
        return zone !== null && this.eventZones.has(zone) ? event : Math.max(Date.now(), event);
    }
  }

  /** A record or alert of `zone` at event time `ts`. */
  advance(zone: string, ts: number): void {
    if (ts > this.watermark) this.watermark = ts;
    if (ts <= (this.zoneClock.get(zone) ?? -Infinity)) return;
    this.zoneClock.set(zone, ts);
    if (this.mode !== 'auto') return;
    const lag = Date.now() - ts;
    const replaying = lag > this.autoEventLagMs;
    if (replaying === this.eventZones.has(zone)) return;
    if (replaying) this.eventZones.add(zone);
    else this.eventZones.delete(zone);
    this.onClock?.(zone, replaying ? 'event' : 'wall', lag);
  }

  /** Zones with an event clock of their own. */
  zones(): IterableIterator<string> {
    return this.zoneClock.keys();
  }
}
