import { type QueryEvent } from '@sluice/contracts';
import { withDefaults, type DetectorSettings } from '../settings';
import { type ZoneOutput } from '../zone-output';
import { MergeStage, type MergeSnapshot } from './merge-stage';
import { shardOfQname } from './shard-routing';
import { ShardStage, type ShardSnapshot } from './shard-stage';
import { type MergeDecision, type ShardSummary } from './shard-summary';

export interface ShardedDetectorOptions {
  /** Shards for a zone (1: the two stages, unsplit). */
  shardsFor: (zone: string) => number;
  /**
   * Pass summaries and decisions through JSON, as they travel between processes: proves that
   * nothing the stages exchange is lost on the way.
   */
  serialize?: boolean;
  /** Every summary and decision as it passes (the benchmark records them). */
  onSummary?: (s: ShardSummary) => void;
  onDecision?: (d: MergeDecision) => void;
}

interface ZoneState {
  shards: ShardStage[];
  merge: MergeStage;
}

export interface ShardedPartitionSnapshot {
  v: 1;
  maxTs: number | null;
  zones: { zone: string; shards: ShardSnapshot[]; merge: MergeSnapshot }[];
}

const copy = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;

/**
 * Both stages in one process, with DetectorCore's interface: each zone's queries go to the
 * shard of their name, each shard closes a tick when its own watermark has passed it and the
 * decision on the tick before has come back, the merge stage decides when all K summaries of a
 * tick are in. What the Kafka wiring does across processes, in the same order; the tests and
 * the benchmark drive it. (Zones are not evicted here: a hot zone is not idle.)
 */
export class ShardedDetector {
  readonly settings: DetectorSettings;
  private readonly partitions = new Map<number, { maxTs: number; zones: Map<string, ZoneState> }>();
  late = 0;

  constructor(
    settings: Partial<DetectorSettings>,
    private readonly o: ShardedDetectorOptions,
  ) {
    this.settings = withDefaults(settings);
  }

  private partition(p: number) {
    let s = this.partitions.get(p);
    if (!s) this.partitions.set(p, (s = { maxTs: -Infinity, zones: new Map() }));
    return s;
  }

  private watermark(sh: ShardStage, partitionMaxTs: number): number {
    return Math.max(
      sh.maxTs - this.settings.allowedLatenessMs,
      partitionMaxTs - this.settings.idleAdvanceMs,
    );
  }

  ingest(partition: number, events: readonly QueryEvent[]): number {
    const p = this.partition(partition);
    const s = this.settings;
    let late = 0;
    for (const e of events) {
      if (e.ts > p.maxTs) p.maxTs = e.ts;
      let z = p.zones.get(e.zone);
      if (!z) {
        const k = this.o.shardsFor(e.zone);
        const origin = Math.floor((e.ts - s.allowedLatenessMs) / s.tickMs) * s.tickMs;
        z = {
          shards: Array.from({ length: k }, (_, i) => new ShardStage(e.zone, i, k, s, origin)),
          merge: new MergeStage(e.zone, k, s, origin),
        };
        p.zones.set(e.zone, z);
      }
      const sh = z.shards[shardOfQname(e.qname, e.zone, z.shards.length)]!;
      // Late: counted in the tick that holds the shard's watermark (as DetectorCore does).
      const watermark = this.watermark(sh, p.maxTs);
      if (e.ts < watermark) {
        late++;
        sh.buffer(e, watermark);
      } else sh.buffer(e);
    }
    this.late += late;
    return late;
  }

  advance(partition: number): ZoneOutput {
    const out: ZoneOutput = { alerts: [], zoneStats: [], offenders: [], knownNames: [] };
    const p = this.partitions.get(partition);
    if (!p) return out;
    for (const z of p.zones.values()) this.close(z, (sh) => this.watermark(sh, p.maxTs), out);
    return out;
  }

  process(partition: number, events: readonly QueryEvent[]): ZoneOutput {
    this.ingest(partition, events);
    return this.advance(partition);
  }

  drain(partition: number, extraMs = 0): ZoneOutput {
    const out: ZoneOutput = { alerts: [], zoneStats: [], offenders: [], knownNames: [] };
    const p = this.partitions.get(partition);
    if (!p) return out;
    for (const z of p.zones.values()) {
      const maxTs = Math.max(...z.shards.map((sh) => sh.maxTs));
      this.close(z, () => maxTs + this.settings.tickMs + extraMs, out);
    }
    return out;
  }

  /** Close every tick the shards' watermarks allow, each after the decision on the one before. */
  private close(z: ZoneState, watermark: (sh: ShardStage) => number, out: ZoneOutput): void {
    const tickMs = this.settings.tickMs;
    const ship = <T>(x: T): T => (this.o.serialize ? copy(x) : x);
    for (let progress = true; progress;) {
      progress = false;
      for (const sh of z.shards) {
        if (!sh.ready || sh.nextTick + tickMs > watermark(sh)) continue;
        progress = true;
        const summary: ShardSummary = ship(sh.closeTick());
        this.o.onSummary?.(summary);
        for (const r of z.merge.accept(summary)) {
          append(out, r.out);
          this.o.onDecision?.(r.decision);
          for (const each of z.shards) each.applyDecision(ship<MergeDecision>(r.decision));
        }
      }
    }
  }

  snapshot(partition: number): ShardedPartitionSnapshot {
    const p = this.partitions.get(partition);
    return {
      v: 1,
      maxTs: p && Number.isFinite(p.maxTs) ? p.maxTs : null,
      zones: p
        ? [...p.zones].map(([zone, z]) => ({
            zone,
            shards: z.shards.map((sh) => sh.toJSON()),
            merge: z.merge.toJSON(),
          }))
        : [],
    };
  }

  restore(partition: number, snap: ShardedPartitionSnapshot): void {
    const zones = new Map<string, ZoneState>();
    for (const z of snap.zones)
      zones.set(z.zone, {
        shards: z.shards.map((sh) => ShardStage.fromJSON(this.settings, sh)),
        merge: MergeStage.fromJSON(this.settings, z.merge),
      });
    this.partitions.set(partition, { maxTs: snap.maxTs ?? -Infinity, zones });
  }

  activeAlerts(): { zone: string; alertId: string }[] {
    const out: { zone: string; alertId: string }[] = [];
    for (const p of this.partitions.values())
      for (const [zone, z] of p.zones)
        if (z.merge.alertId) out.push({ zone, alertId: z.merge.alertId });
    return out;
  }
}

function append(to: ZoneOutput, from: ZoneOutput): void {
  to.alerts.push(...from.alerts);
  to.zoneStats.push(...from.zoneStats);
  to.offenders.push(...from.offenders);
  to.knownNames.push(...from.knownNames);
}
