import { type QueryEvent } from '@sluice/contracts';
import { type ActiveAlertJson } from './alert-message';
import { type LifecycleJson } from './attack-lifecycle';
import { type NamesJson } from './name-scoring';
import { type SeenFilterJson } from './seen-filter';
import { ROW_EDNS, ROW_RD, type PendingRow } from './tick-rows';
import { type HeavyHitter } from './space-saving';
import { type TickJson } from './tick';
import { type VocabularyJson } from './zone-vocabulary';
import { type OffenderCount, type WindowsJson } from './zone-windows';

/**
 * The checkpoint of one zone (stored gzip'd in Redis inside a partition snapshot): one block per
 * stage, each written and read by the stage that owns it. Older formats are upgraded here and
 * nowhere else; `zone-checkpoint.spec.ts` loads a checkpoint written by the 2026-11-29 detector.
 */
/** The attack lifecycle's fields (closed ticks, baseline, active alert) come from LifecycleJson. */
export interface ZoneSnapshotV3 extends LifecycleJson {
  v: 3;
  zone: string;
  /** Tick buffer: newest event time, next tick to close, queries waiting for the watermark. */
  maxTs: number | null;
  nextTick: number | null;
  pending: [number, PendingRow[]][];
  names: NamesJson;
  windows: WindowsJson;
}

/** Version 2: as version 3, with the waiting queries as whole QueryEvents. */
export interface ZoneSnapshotV2 extends Omit<ZoneSnapshotV3, 'v' | 'pending'> {
  v: 2;
  pending: [number, QueryEvent[]][];
}

/** Version 1: one flat object (absent fields were added later and read as their defaults). */
export interface ZoneSnapshotV1 {
  v?: undefined;
  zone: string;
  maxTs: number | null;
  nextTick: number | null;
  pending: [number, QueryEvent[]][];
  seen: SeenFilterJson;
  model: { counts: number[]; total: number };
  ring: TickJson[];
  ticksClosed: number;
  meanN: number;
  meanNs: number;
  varResid: number;
  varN?: number;
  meanRc?: number;
  meanFail?: number;
  varFail?: number;
  meanFreshD?: number;
  alertSeen?: SeenFilterJson | null;
  candidateSince: number | null;
  coldRun?: number;
  active: ActiveAlertJson | null;
  statsStart: number | null;
  statsTicks: TickJson[];
  statsTop: HeavyHitter[];
  statsHadAlert: string | null;
  offStart: number | null;
  offenders: [string, OffenderCount][];
  offAlertId: string | null;
  recentNew: [number, { tick: number; repeated: boolean }][];
  vocabulary?: VocabularyJson;
  vocabularyVersion?: number;
}

export type ZoneSnapshot = ZoneSnapshotV3 | ZoneSnapshotV2 | ZoneSnapshotV1;

/** What the detector keeps of a buffered QueryEvent (versions 1 and 2 stored them whole). */
function pendingRow(e: QueryEvent): PendingRow {
  return [
    e.ts,
    e.resolver,
    e.qname,
    e.qtype,
    (e.rd ? ROW_RD : 0) | (e.ednsSize !== null ? ROW_EDNS : 0),
    e.rcode ?? -1,
    e.rcode === null ? -1 : (e.ancount ?? -1),
  ];
}

/** Any stored zone checkpoint in the current shape. */
export function upgradeZoneSnapshot(j: ZoneSnapshot): ZoneSnapshotV3 {
  if (j.v === 3) return j;
  const v2 = j.v === 2 ? j : upgradeV1(j);
  return {
    ...v2,
    v: 3,
    pending: v2.pending.map(([tick, events]) => [tick, events.map(pendingRow)]),
  };
}

function upgradeV1(j: ZoneSnapshotV1): ZoneSnapshotV2 {
  return {
    v: 2,
    zone: j.zone,
    maxTs: j.maxTs,
    nextTick: j.nextTick,
    pending: j.pending,
    ring: j.ring,
    ticksClosed: j.ticksClosed,
    candidateSince: j.candidateSince,
    coldRun: j.coldRun ?? 0,
    active: j.active,
    baseline: {
      meanN: j.meanN,
      meanNs: j.meanNs,
      varResid: j.varResid,
      varN: j.varN,
      meanRc: j.meanRc,
      meanFail: j.meanFail,
      varFail: j.varFail,
      meanFreshD: j.meanFreshD,
    },
    names: {
      seen: j.seen,
      model: j.model,
      recentNew: j.recentNew,
      vocabulary: j.vocabulary,
      vocabularyVersion: j.vocabularyVersion,
      alertSeen: j.alertSeen,
    },
    windows: {
      statsStart: j.statsStart,
      statsTicks: j.statsTicks,
      statsTop: j.statsTop,
      statsHadAlert: j.statsHadAlert,
      offStart: j.offStart,
      offenders: j.offenders,
      offAlertId: j.offAlertId,
    },
  };
}
