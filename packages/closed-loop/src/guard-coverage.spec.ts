import { attackedZoneTraffic, measureGuardCoverage, zoneAnswers } from './guard-coverage';

// One hour of a quiet zone's history (20 q/s, the closed loop's traffic model): where a short
// retention shows most — its long tail is asked minutes apart. Event time, ~1 s of CPU.
const HOUR = 3_600_000;
const SPARSE = { label: 'sparse-probe', everyMs: 30 * 60_000 };

describe('guard coverage by history length', () => {
  const run = (seed: number) =>
    measureGuardCoverage({
      seed,
      historyMs: HOUR,
      zoneQps: 20,
      sparseNames: [SPARSE],
      variants: { retained: {}, oneAging: { knownNamesRetentionMs: 300_000 } },
    });

  it.each([1, 7])('keeps the long tail with retention, not without (seed %i)', (seed) => {
    const r = run(seed);
    const [kept, old] = [r.variants[0]!, r.variants[1]!];
    for (const v of [kept, old]) {
      // The flood raised an alert and none of its names made the list.
      expect(v.alertAfterMs).not.toBeNull();
      expect(v.alertAfterMs!).toBeLessThanOrEqual(10_000);
      expect(v.floodListed).toBe(0);
      expect(v.listSize).toBeLessThanOrEqual(r.zoneNames + 1);
    }
    expect(r.attackLegit).toBeGreaterThan(600);
    // Strictly better, with margin: at most half the refusals and at least 10 fewer.
    expect(kept.atStart.legit.refused).toBeLessThan(old.atStart.legit.refused - 10);
    expect(2 * kept.atStart.legit.refused).toBeLessThanOrEqual(old.atStart.legit.refused);
    expect(kept.listSize).toBeGreaterThan(old.listSize);
    // A name asked once every 30 min (last at minute 45) stays known for the guard.
    const sparse = `${SPARSE.label}.${r.zone}`;
    expect(kept.sparseListed).toEqual([sparse]);
    expect(old.sparseListed).toEqual([]);
  });

  it('answers as the zone file says: names NOERROR, record types, empty non-terminals, typos NXDOMAIN', () => {
    const { zone } = attackedZoneTraffic({ seed: 1, historyMs: HOUR, variants: {} });
    const answers = zoneAnswers(zone);
    expect(answers.get('')?.has(6)).toBe(true);
    expect(answers.get('_dmarc')).toEqual(new Set([16]));
    for (const n of zone.names) expect(answers.has(n)).toBe(true);
    const deep = zone.names.find((n) => n.split('.').length === 2 && !n.endsWith('.cdn'));
    expect(deep).toBeDefined();
    expect(answers.get(deep!.split('.')[1]!)?.size ?? -1).toBeGreaterThanOrEqual(0);
    expect(answers.has('no-such-name-here')).toBe(false);
  });
});
