import { ResolverIds } from './resolver-ids';
import { ResolverTop } from './resolver-top';
import { type HeavyHitter, SpaceSaving } from './space-saving';

/** A flood's senders: far more resolvers than counters, a few heavy ones, many ties. */
function senders(n: number, seed: number): string[] {
  let x = seed;
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const heavy = x % 5 === 0;
    out.push(heavy ? `203.0.113.${x % 7}` : `10.${(x >>> 8) % 4}.${(x >>> 12) % 256}.1`);
  }
  return out;
}

describe('ResolverTop', () => {
  it('counts exactly as a space-saving top keyed by name: adds, weights, ties, checkpoints and re-ids', () => {
    const k = 16;
    const byName = new SpaceSaving(k);
    let ids = new ResolverIds();
    let byId = ResolverTop.empty(k, ids);
    const list = senders(20_000, 7);
    byName.add('198.51.100.1', 5);
    byId.addId(ids.id('198.51.100.1'), 5);
    list.forEach((name, i) => {
      byName.add(name);
      byId.addId(ids.id(name));
      if (i === 8000) {
        // A checkpoint and restore, by name, into a fresh id table.
        ids = new ResolverIds();
        ids.id('restored first');
        const stored = JSON.parse(JSON.stringify(byId.toJSON())) as HeavyHitter[];
        byId = ResolverTop.fromJSON(k, stored, ids);
        expect(byId.toJSON()).toEqual(byName.toJSON());
      }
      if (i === 14_000) {
        // A compaction: a new table whose ids differ from the old ones.
        const old = ids.names.slice();
        ids.reset();
        ids.id('unrelated');
        byId.reidentify(old, (name) => ids.id(name));
      }
    });
    expect(byId.toJSON()).toEqual(byName.toJSON());
    expect(byId.top(10)).toEqual(byName.top(10));
    expect(byId.top(k)).toEqual(byName.top(k));
    expect(byName.top(10).some((h) => h.error > 0)).toBe(true);
  });
});
