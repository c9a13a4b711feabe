import { type QueryEvent } from '@sluice/contracts';
import { simulate, zoneName, type ScenarioSpec } from '@sluice/traffic-sim';
import { BOOT_WARM_UP_ZONE, bootWarmUp, syntheticTraffic } from './boot-warm-up';
import { DetectorCore } from './detector-core';
import { withDefaults } from './settings';
import { ShardedDetector } from './shard/sharded-detector';

const VICTIM = zoneName(0);
const spec: ScenarioSpec = {
  seed: 7,
  startTime: Date.parse('2026-01-01T00:00:00Z'),
  durationMs: 90_000,
  zones: 3,
  benignQps: 600,
  withResponses: true,
  streams: [{ kind: 'mirai', zone: VICTIM, startMs: 40_000, durationMs: 25_000, qps: 3000 }],
};

/** Everything both detection paths publish for the scenario, from fresh instances. */
function outputs(events: readonly QueryEvent[]) {
  const core = new DetectorCore();
  const fromCore = [core.process(0, events), core.drain(0, 600_000)];
  const sharded = new ShardedDetector({}, { shardsFor: (z) => (z === VICTIM ? 2 : 1) });
  const fromShards = [sharded.process(0, events), sharded.drain(0, 600_000)];
  return JSON.stringify({ fromCore, fromShards });
}

describe('bootWarmUp', () => {
  const events = [...simulate(spec)];
  // Taken before any warm-up ran in this process.
  const cold = outputs(events);

  it('leaves detection unchanged: fresh instances publish the same outputs after it', () => {
    const report = bootWarmUp(withDefaults({}), { shards: true });
    expect(outputs(events)).toBe(cold);
    expect(JSON.parse(cold).fromCore[0].alerts.length).toBeGreaterThan(0);
    expect(report.queries).toBeGreaterThan(100_000);
  }, 60_000);

  it('raises alerts on both paths, so their flood code runs, and is the same on every boot', () => {
    const a = bootWarmUp(withDefaults({}), { shards: true });
    const b = bootWarmUp(withDefaults({}), { shards: true });
    expect(a.alerts.detector).toBeGreaterThan(0);
    expect(a.alerts.shardStage).toBeGreaterThan(0);
    expect({ ...b, cpuMs: 0 }).toEqual({ ...a, cpuMs: 0 });
  }, 60_000);

  it('runs the shard path only when asked', () => {
    expect(bootWarmUp(withDefaults({}), { shards: false }).alerts.shardStage).toBe(0);
  }, 60_000);

  it('leaves the settings it was given untouched', () => {
    const settings = withDefaults({ allowlist: ['rum.example.com'] });
    const before = JSON.stringify(settings);
    bootWarmUp(settings, { shards: true });
    expect(JSON.stringify(settings)).toBe(before);
  }, 60_000);

  // Each shape is a branch of the per-query pass: one the warm-up never ran throws the optimised
  // code back to a slower tier at its first real occurrence (V8 --trace-deopt), and a shard
  // process recompiled its per-query pass at a flood's onset when answers were all NOERROR.
  it('carries the shapes real traffic has, in its benign part and in its flood', () => {
    const seen = new Set<string>();
    for (const e of syntheticTraffic()) {
      // a flood name: 12 characters of Mirai's alphabet (no benign name is one)
      const part = /^[a-w0-8]{12}\./.test(e.qname) ? 'flood' : 'any';
      if (e.rcode === null) seen.add(`${part} unanswered`);
      else if (e.rcode === 0) seen.add(e.ancount === 0 ? 'NODATA' : 'answered');
      else seen.add(`${part} rcode ${e.rcode}`);
      if (e.resolver.includes(':')) seen.add('IPv6 resolver');
      if (e.transport === 'tcp') seen.add('TCP');
      if (e.qname === BOOT_WARM_UP_ZONE) seen.add('apex');
      else if (e.qname.slice(0, -BOOT_WARM_UP_ZONE.length - 1).includes('.')) seen.add('labels');
      if (e.ednsSize === null) seen.add('no EDNS');
    }
    for (const shape of [
      'answered',
      'NODATA',
      'any rcode 3',
      'any rcode 2',
      'any rcode 5',
      'any unanswered',
      'flood unanswered',
      'IPv6 resolver',
      'TCP',
      'apex',
      'labels',
      'no EDNS',
    ])
      expect([...seen]).toContain(shape);
  });
});
