import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { type QueryEvent } from '@sluice/contracts';
import { simulate, type ScenarioSpec } from '@sluice/traffic-sim';
import { DetectorCore, type PartitionSnapshot } from './detector-core';
import { type ZoneSnapshotV3 } from './zone-checkpoint';

const T0 = 1_700_000_000_000;
/** The scenario the fixture was cut from (at 75 s), written by the 2026-11-29 detector. */
const spec: ScenarioSpec = {
  seed: 12,
  startTime: T0,
  durationMs: 160_000,
  zones: ['acme.com', 'other.net'],
  benignQps: 60,
  withResponses: true,
  streams: [
    {
      kind: 'mirai',
      zone: 'acme.com',
      startMs: 50_000,
      durationMs: 60_000,
      qps: 300,
      resolvers: 40,
    },
  ],
};
const CUT = T0 + 75_000;

function stored(name = 'checkpoint-2026-11-29.json.gz'): PartitionSnapshot {
  const file = join(__dirname, '../../test/fixtures', name);
  return JSON.parse(gunzipSync(readFileSync(file)).toString('utf8')) as PartitionSnapshot;
}

describe('zone checkpoints', () => {
  it('loads a checkpoint written by the 2026-11-29 detector (version 1) and carries its attack on', () => {
    const old = stored();
    expect(old.zones.map((z) => z.v)).toEqual([undefined, undefined]);
    const core = new DetectorCore({ seenCapacity: 20_000 });
    core.restore(0, old);
    expect(core.activeAlerts()).toEqual([{ zone: 'acme.com', alertId: `acme.com@${T0 + 50_000}` }]);
    const rest = [...simulate(spec)].filter((e: QueryEvent) => e.ts >= CUT);
    const out = core.process(0, rest);
    const acme = out.alerts.filter((a) => a.zone === 'acme.com');
    // The same attack: no new start, updates under the stored id, and it ends after the flood.
    expect(acme.some((a) => a.phase === 'started')).toBe(false);
    expect(new Set(acme.map((a) => a.alertId))).toEqual(new Set([`acme.com@${T0 + 50_000}`]));
    const ended = acme.find((a) => a.phase === 'ended');
    expect(ended?.endedAt).toBeGreaterThanOrEqual(T0 + 110_000);
    expect(ended?.fingerprint.generator).toBe('mirai');
    expect(out.alerts.filter((a) => a.zone === 'other.net')).toEqual([]);
  });

  it('loads a version 2 checkpoint (2026-11-30, queries waiting as QueryEvents) into the same state', () => {
    // Written by the 2026-11-30 detector: the v1 fixture restored, then 5 s more of the scenario
    // (so ~700 queries wait for the watermark). The current detector, given the same input, must
    // hold exactly what the upgraded version 2 checkpoint holds.
    const v2 = stored('checkpoint-2026-11-30-v2.json.gz');
    expect(v2.zones.map((z) => z.v)).toEqual([2, 2]);
    // The lateness of its day (1 s): it decides which queries still wait.
    const loaded = new DetectorCore({ seenCapacity: 20_000, allowedLatenessMs: 1000 });
    loaded.restore(0, v2);
    const replayed = new DetectorCore({ seenCapacity: 20_000, allowedLatenessMs: 1000 });
    replayed.restore(0, stored());
    replayed.process(
      0,
      [...simulate(spec)].filter((e) => e.ts >= CUT && e.ts < CUT + 5_000),
    );
    const snapshot = loaded.snapshot(0);
    expect(
      snapshot.zones.map((z) => z.pending.reduce((n, [, rows]) => n + rows.length, 0)),
    ).toEqual([682, 49]);
    // Version 2 has no "asked since the last aging" bit (retention came later): a loaded name
    // counts as unasked since then, at worst one aging early towards its 24 h retention.
    // Nor the surge's flatness counts (Tick counters 16, 17): its ring's ticks read them as 0,
    // and a horizon holding such a tick does not judge flatness — relearned within 10 ticks.
    // And its second zone is young: the fresh-name mean now waits for the zone's names to
    // establish (surgeEstablishTicks) before it learns, so it differs from the older writer's.
    // And its stats window's top resolvers were 64 space-saving counters, now exact counts.
    const withoutAsked = (p: PartitionSnapshot) => {
      for (const z of p.zones) {
        (z as ZoneSnapshotV3).windows.statsTop = [];
        for (const e of (z as ZoneSnapshotV3).names.vocabulary ?? []) e[4] &= ~16;
        const v3 = z as ZoneSnapshotV3;
        for (const t of [...v3.ring, ...v3.windows.statsTicks]) t.counts.length = 16;
        if (v3.ticksClosed <= 60 + 30) v3.baseline.meanFreshD = 0;
        // Nor the generator an alert's last message said (2026-12-02): its next is drawn afresh.
        if (v3.active) delete v3.active.fp.said;
      }
      return p;
    };
    // And the zone's model now learns at each tick's end, not between the tick's queries: the
    // surprise summed over the ticks closed since (scoreSum, nsScore, the fingerprint's bits per
    // character) differs in its last digits, the model at every tick's end does not.
    const scoreSums = (p: PartitionSnapshot) => {
      const sums: number[] = [];
      for (const z of p.zones) {
        const v3 = z as ZoneSnapshotV3;
        for (const t of [...v3.ring, ...v3.windows.statsTicks]) {
          sums.push(t.counts[4]!, t.counts[9]!, t.fp.bpcSum);
          t.counts[4] = t.counts[9] = t.fp.bpcSum = 0;
        }
      }
      return sums;
    };
    const [was, now] = [withoutAsked(snapshot), withoutAsked(replayed.snapshot(0))];
    const [sumsWas, sumsNow] = [scoreSums(was), scoreSums(now)];
    expect(sumsNow).toHaveLength(sumsWas.length);
    sumsNow.forEach((x, i) =>
      expect(Math.abs(x - sumsWas[i]!)).toBeLessThanOrEqual(0.02 * sumsWas[i]!),
    );
    expect(was).toEqual(now);
  });

  it('writes version 3 and reads it back to the same state', () => {
    const core = new DetectorCore({ seenCapacity: 20_000 });
    core.restore(0, stored('checkpoint-2026-11-30-v2.json.gz'));
    const v3 = core.snapshot(0);
    expect(v3.zones.map((z) => z.v)).toEqual([3, 3]);
    const again = new DetectorCore({ seenCapacity: 20_000 });
    again.restore(0, JSON.parse(JSON.stringify(v3)) as PartitionSnapshot);
    expect(again.snapshot(0)).toEqual(v3);
  });
});
