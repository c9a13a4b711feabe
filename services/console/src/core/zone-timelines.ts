import { type Alert, type AlertPhase, type Severity, type ZoneStats } from '@sluice/contracts';

/** One detector window of a zone: what the timeline plots. */
export interface TimelinePoint {
  t: number;
  qps: number;
  baseline: number | null;
  neverSeen: number;
  nxdomain: number | null;
  failure: number | null;
  random: number;
  alertId: string | null;
}

export interface PhaseMark {
  t: number;
  phase: AlertPhase;
  alertId: string;
  severity: Severity;
}

export interface ZoneView {
  zone: string;
  points: TimelinePoint[];
  phases: PhaseMark[];
  activeAlertId: string | null;
  /** Event time of the latest window or alert. */
  updatedAt: number;
}

/** What changed in one zone: the whole zone, or what to append to it. */
export type ZoneUpdate =
  | { type: 'zone'; zone: ZoneView }
  | {
      type: 'points';
      zone: string;
      points: TimelinePoint[];
      phases: PhaseMark[];
      activeAlertId: string | null;
    };

interface ZoneState extends ZoneView {
  pending: TimelinePoint[];
  pendingPhases: PhaseMark[];
  /** An out-of-order window or a first push: send the whole zone, not an append. */
  resync: boolean;
}

const MAX_PHASES = 200;

/**
 * Each zone's timeline: its detector windows and the phase marks of its alerts, at most
 * `maxZones` zones of `timelinePoints` windows. Pending points and marks are what the next
 * update appends.
 */
export class ZoneTimelines {
  private readonly zones = new Map<string, ZoneState>();
  private readonly dirty = new Set<string>();

  constructor(
    private readonly maxZones: number,
    private readonly timelinePoints: number,
    /** A zone evicted to stay within `maxZones` (the view reports it as removed). */
    private readonly onEvicted: (zone: string) => void,
  ) {}

  applyStats(s: ZoneStats): void {
    const zone = this.zone(s.zone);
    const point: TimelinePoint = {
      t: s.windowStart,
      qps: s.qps,
      baseline: s.baselineQps,
      neverSeen: s.neverSeenRate,
      nxdomain: s.nxdomainShare,
      failure: s.failureShare ?? null,
      random: s.randomShare,
      alertId: s.alertId ?? null,
    };
    const last = zone.points[zone.points.length - 1];
    if (!last || last.t < point.t) {
      zone.points.push(point);
      zone.pending.push(point);
    } else {
      // Redelivered or late window: replace or insert in order, and resend the zone whole.
      const i = zone.points.findIndex((p) => p.t >= point.t);
      if (zone.points[i]?.t === point.t) zone.points[i] = point;
      else zone.points.splice(i, 0, point);
      zone.resync = true;
    }
    if (zone.points.length > this.timelinePoints)
      zone.points.splice(0, zone.points.length - this.timelinePoints);
    zone.updatedAt = Math.max(zone.updatedAt, s.windowEnd);
    this.dirty.add(zone.zone);
  }

  /**
   * The alert's mark on its zone's timeline, and the zone's active alert. `attackPhase` is the
   * attack's phase after the alert was applied (an attack once ended stays ended).
   */
  applyAlert(a: Alert, attackPhase: AlertPhase | 'pending'): void {
    const zone = this.zone(a.zone);
    const prev = zone.phases.filter((p) => p.alertId === a.alertId).at(-1);
    const mark =
      !zone.phases.some((p) => p.alertId === a.alertId && p.phase === a.phase && p.t === a.at) &&
      (a.phase !== 'updated' || prev?.severity !== a.severity);
    if (mark) {
      const m: PhaseMark = { t: a.at, phase: a.phase, alertId: a.alertId, severity: a.severity };
      zone.phases.push(m);
      zone.phases.sort((x, y) => x.t - y.t);
      if (zone.phases.length > MAX_PHASES) zone.phases.shift();
      zone.pendingPhases.push(m);
    }
    if (a.phase === 'ended') {
      if (zone.activeAlertId === a.alertId) zone.activeAlertId = null;
    } else if (attackPhase !== 'ended') zone.activeAlertId = a.alertId;
    zone.updatedAt = Math.max(zone.updatedAt, a.at);
    this.dirty.add(zone.zone);
  }

  /** One update per zone changed since the last call. */
  takeUpdates(): ZoneUpdate[] {
    const out: ZoneUpdate[] = [];
    for (const name of this.dirty) {
      const z = this.zones.get(name);
      if (!z) continue;
      if (z.resync) out.push({ type: 'zone', zone: zoneView(z) });
      else
        out.push({
          type: 'points',
          zone: z.zone,
          points: z.pending,
          phases: z.pendingPhases,
          activeAlertId: z.activeAlertId,
        });
      z.pending = [];
      z.pendingPhases = [];
      z.resync = false;
    }
    this.dirty.clear();
    return out;
  }

  views(): ZoneView[] {
    return [...this.zones.values()].map(zoneView);
  }

  private zone(name: string): ZoneState {
    let z = this.zones.get(name);
    if (!z) {
      z = {
        zone: name,
        points: [],
        phases: [],
        activeAlertId: null,
        updatedAt: 0,
        pending: [],
        pendingPhases: [],
        resync: true,
      };
      this.zones.set(name, z);
      this.evict(name);
    }
    return z;
  }

  /** Least recently updated zones without an active attack go first. */
  private evict(keep: string): void {
    if (this.zones.size <= this.maxZones) return;
    const quiet = [...this.zones.values()]
      .filter((z) => z.activeAlertId === null && z.zone !== keep)
      .sort((x, y) => x.updatedAt - y.updatedAt);
    for (const z of quiet) {
      if (this.zones.size <= this.maxZones) break;
      this.zones.delete(z.zone);
      this.dirty.delete(z.zone);
      this.onEvicted(z.zone);
    }
  }
}

function zoneView(z: ZoneState): ZoneView {
  return {
    zone: z.zone,
    points: z.points,
    phases: z.phases,
    activeAlertId: z.activeAlertId,
    updatedAt: z.updatedAt,
  };
}
