import { type QueryEvent } from '@sluice/contracts';
import { NgramModel, scoreSubname } from './label-score';
import { NameScoring } from './name-scoring';
import { withDefaults } from './settings';
import { Tick } from './tick';
import { TickRows } from './tick-rows';
import { ZoneWindows } from './zone-windows';

const ZONE = 'example.com';
const T0 = 1_700_000_000_000;

const query = (sub: string, ts: number): QueryEvent => ({
  ts,
  resolver: '127.0.0.1',
  resolverPort: 53,
  transport: 'udp',
  zone: ZONE,
  qname: `${sub}.${ZONE}`,
  qtype: 1,
  qclass: 1,
  id: 1,
  rd: true,
  cd: false,
  do: false,
  ednsSize: null,
  rcode: 0,
  ancount: 1,
});

describe('NameScoring', () => {
  it('scores every query of a tick by the model as the tick began, names asked again included', () => {
    // Few names, asked many times a tick, and a model that learns after every tick: a score
    // kept from an earlier tick (an older model) would show in the tick's sum.
    const s = withDefaults({ trainPerTick: 50 });
    const names = new NameScoring(ZONE, s);
    const windows = new ZoneWindows(ZONE, s);
    const vocabulary = ['www', 'api', 'shop-eu', 'k2j9x7qa', 'mail.west', 'cdn7', 'q1w2e3r4t5'];
    let queries = 0;
    for (let k = 0; k < 40; k++) {
      const start = T0 + k * s.tickMs;
      const rows = new TickRows(ZONE);
      const asked: string[] = [];
      for (let i = 0; i < 60; i++) {
        // Each tick a new name joins, so the model keeps changing as the zone's names do.
        const sub = i % 9 === 8 ? `host${k}` : vocabulary[(i * 7 + k) % vocabulary.length]!;
        rows.pushEvent(query(sub, start + i));
        asked.push(sub);
      }
      const model = NgramModel.fromJSON(names.toJSON().model);
      const t = new Tick(start);
      names.scoreTick(t, rows, windows, null);
      names.learn(rows, false);
      let expected = 0;
      for (const sub of asked) expected += scoreSubname(sub, model).score;
      expect(t.scoreSum).toBe(expected);
      queries += t.n;
    }
    expect(queries).toBe(40 * 60);
    // The model did learn: the last tick's is not the first's.
    expect(names.toJSON().model.total).toBeGreaterThan(2000);
  });
});
