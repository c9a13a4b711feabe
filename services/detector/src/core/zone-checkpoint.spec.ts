import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { type QueryEvent } from '@sluice/contracts';
import { simulate, type ScenarioSpec } from '@sluice/traffic-sim';
import { DetectorCore, type PartitionSnapshot } from './detector-core';

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

function stored(): PartitionSnapshot {
  const file = join(__dirname, '../../test/fixtures/checkpoint-2026-11-29.json.gz');
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

  it('writes version 2 and reads it back to the same state', () => {
    const core = new DetectorCore({ seenCapacity: 20_000 });
    core.restore(0, stored());
    const v2 = core.snapshot(0);
    expect(v2.zones.map((z) => z.v)).toEqual([2, 2]);
    const again = new DetectorCore({ seenCapacity: 20_000 });
    again.restore(0, JSON.parse(JSON.stringify(v2)) as PartitionSnapshot);
    expect(again.snapshot(0)).toEqual(v2);
  });
});
