import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type QueryEvent } from '@sluice/contracts';
import { simulate, writePcapFile, zoneName, zonesOf, type ScenarioSpec } from '@sluice/traffic-sim';
import { ZoneMapper } from '../../src/core/zone-mapper';
import { replayFile, type PacedSink } from '../../src/replay';

/** What `sluice simulate` writes, `sluice replay` must read back: every event, every field. */
describe('replay of a traffic-sim pcap', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-sim-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reproduces the simulated events, queries paired with their responses', async () => {
    const spec: ScenarioSpec = {
      seed: 7,
      startTime: 1_700_000_000_000,
      durationMs: 3000,
      zones: 3,
      benignQps: 300,
      withResponses: true,
      streams: [{ kind: 'mirai', zone: zoneName(0), startMs: 500, durationMs: 2000, qps: 500 }],
    };
    const events = [...simulate(spec)];
    const file = join(dir, 'sim.pcap');
    await writePcapFile(file, events, { withResponses: true });
    const got: QueryEvent[] = [];
    const sink: PacedSink = {
      congested: false,
      whenUncongested: () => Promise.resolve(),
      record: (e) => void got.push(e),
      malformed: () => undefined,
    };
    const summary = await replayFile(file, { sink, zones: new ZoneMapper(zonesOf(spec)) });
    expect(summary.malformedTotal).toBe(0);
    const key = (e: QueryEvent) => `${e.ts}|${e.resolver}|${e.resolverPort}|${e.id}|${e.qname}`;
    const sort = (xs: QueryEvent[]) => [...xs].sort((a, b) => (key(a) < key(b) ? -1 : 1));
    const strip = (e: QueryEvent) => ({ ...e, ts: Math.round(e.ts * 1000) / 1000 });
    expect(sort(got).map(strip)).toEqual(sort(events).map(strip));
  });
});
