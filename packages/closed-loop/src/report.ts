import { markdownTable } from '@sluice/testing';
import { type Share } from './metrics';
import { type ClosedLoopResult } from './run';

const pct = (s: Share, digits = 2) =>
  s.pct === null
    ? '–'
    : `${s.pct.toFixed(digits)} % (${s.stopped.toLocaleString('en-US')}/${s.n.toLocaleString('en-US')})`;
const secs = (v: number | null) => (v === null ? 'never' : `${v.toFixed(1)} s`);

/** One row per measure, one column per run: the side-by-side table. */
export function comparisonTable(results: readonly ClosedLoopResult[]): string {
  const header = ['', ...results.map((r) => `${r.label} (seed ${String(r.seed)})`)];
  const row = (name: string, f: (r: ClosedLoopResult) => string) => [name, ...results.map(f)];
  const m = (r: ClosedLoopResult) => r.measurements;
  const bl = (r: ClosedLoopResult, f: (b: NonNullable<ClosedLoopResult['blocklist']>) => string) =>
    r.blocklist ? f(r.blocklist) : 'n/a (no blocklist)';
  const rows = [
    row('mitigation latency (onset → first flood query stopped)', (r) =>
      secs(m(r).mitigationLatencyS),
    ),
    row('flood stopped after mitigation started', (r) => pct(m(r).floodStoppedAfterMitigation, 1)),
    row('flood reaching the authoritative after mitigation started', (r) =>
      m(r).floodReachedAfterMitigationPct === null
        ? '–'
        : `${m(r).floodReachedAfterMitigationPct!.toFixed(1)} %`,
    ),
    row('flood stopped, whole attack', (r) => pct(m(r).floodStoppedOverall, 1)),
    row('legit refused/dropped, attacked zone, during the attack', (r) =>
      pct(m(r).legitAttackedZoneDuringAttack),
    ),
    row('legit refused/dropped, attacked zone, whole run', (r) =>
      pct(m(r).legitAttackedZoneOverall),
    ),
    row(
      '… the same without typos (NXDOMAIN anyway), during the attack / whole run',
      (r) =>
        `${pct(m(r).legitAttackedZoneDuringAttackNoTypos)} / ${pct(m(r).legitAttackedZoneOverallNoTypos)}`,
    ),
    row('legit refused/dropped, other zones, during the attack', (r) =>
      pct(m(r).legitOtherZonesDuringAttack),
    ),
    row('legit refused/dropped, overall', (r) => pct(m(r).legitOverall)),
    row('legit lost before onset (load only: timeouts)', (r) => pct(m(r).legitBeforeOnset)),
    row('legit to names new during the run, refused/dropped', (r) => pct(m(r).legitLateNames)),
    row(
      'legit latency p50 / p99',
      (r) =>
        `${m(r).legitLatencyP50Ms?.toFixed(1) ?? '–'} / ${m(r).legitLatencyP99Ms?.toFixed(1) ?? '–'} ms`,
    ),
    row('public resolvers refused (≥ 50 %) on the attacked zone', (r) =>
      m(r).publicZoneRefusals.length === 0
        ? 'none'
        : m(r)
            .publicZoneRefusals.map((p) => `${p.resolver} ${p.stoppedPct.toFixed(0)} %`)
            .join(', '),
    ),
    row('legit resolvers losing ≥ 50 % on unattacked zones', (r) =>
      String(m(r).legitResolversBlockedOutright.length),
    ),
    row('detector alert (onset → `started` on Kafka)', (r) =>
      r.blocklist ? secs(r.alertS) : 'n/a',
    ),
    row('first blocklist entry after onset', (r) => bl(r, (b) => secs(b.firstEntryS))),
    row('blocklist entries by kind', (r) =>
      bl(r, (b) =>
        Object.keys(b.kinds).length === 0
          ? 'none'
          : Object.entries(b.kinds)
              .map(([k, v]) => `${k} ${v}`)
              .join(', '),
      ),
    ),
    row('zone-scoped client entries refusing the whole zone (not guard)', (r) =>
      bl(r, (b) => String(b.wholeZoneClientEntries)),
    ),
    row('check: outright block over a network with legit traffic', (r) =>
      bl(r, (b) =>
        b.outrightOverLegit.length === 0
          ? 'pass (none)'
          : `FAIL: ${b.outrightOverLegit.length} (e.g. ${b.outrightOverLegit[0]!.id}, ${b.outrightOverLegit[0]!.covers} legit resolvers)`,
      ),
    ),
    row('check: public resolver refused a whole zone (blocklist)', (r) =>
      bl(r, (b) =>
        b.publicWholeZone.length === 0
          ? 'pass (none)'
          : `FAIL: ${b.publicWholeZone.length} (e.g. ${b.publicWholeZone[0]!.id} ${b.publicWholeZone[0]!.action})`,
      ),
    ),
    row(
      'queries sent (legit / flood)',
      (r) =>
        `${m(r).legitQueries.toLocaleString('en-US')} / ${m(r).floodQueries.toLocaleString('en-US')}`,
    ),
  ];
  return markdownTable(header, rows);
}

/** Per-second view around onset of one run (flood reaching the authoritative, legit stopped). */
export function timelineTable(r: ClosedLoopResult, fromS = -2, toS = 20): string {
  const rows = r.measurements.timeline
    .filter((t) => t.s >= fromS && t.s <= toS)
    .map((t) => [
      t.s,
      t.flood,
      t.flood > 0 ? `${((100 * t.floodReached) / t.flood).toFixed(0)} %` : '–',
      t.legit,
      t.legitStopped,
    ]);
  return markdownTable(
    ['s after onset', 'flood sent', 'flood reached auth', 'legit (attacked zone)', 'legit stopped'],
    rows,
  );
}
