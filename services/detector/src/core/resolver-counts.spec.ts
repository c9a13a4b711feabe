import { ResolverCounts } from './resolver-counts';

const names = ['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4', '192.0.2.5'];

describe('ResolverCounts', () => {
  it('counts exactly, ranks by count then name, lists in arrival order', () => {
    const c = new ResolverCounts(100);
    for (const id of [3, 1, 3, 4, 1, 3, 0]) c.add(id);
    c.add(2, 2);
    expect(c.size).toBe(5);
    expect(c.top(3, names)).toEqual([
      { key: '192.0.2.4', count: 3, error: 0 },
      { key: '192.0.2.2', count: 2, error: 0 },
      { key: '192.0.2.3', count: 2, error: 0 },
    ]);
    expect(c.top(0, names)).toEqual([]);
    expect(c.list(names).map((h) => h.key)).toEqual([3, 1, 4, 0, 2].map((id) => names[id]));
  });

  it('stops taking new resolvers at its limit, still counts the ones it holds', () => {
    const c = new ResolverCounts(2);
    for (const id of [0, 1, 2, 1, 2]) c.add(id);
    expect(c.list(names)).toEqual([
      { key: '192.0.2.1', count: 1, error: 0 },
      { key: '192.0.2.2', count: 2, error: 0 },
    ]);
  });

  it('grows past its first ids, clears, and keeps counts and order when re-identified', () => {
    const c = new ResolverCounts(100);
    c.add(500, 4);
    c.add(7);
    const wide = [...names];
    wide[500] = 'wide';
    wide[7] = 'seven';
    const renamed = new Map([
      ['wide', 1],
      ['seven', 0],
    ]);
    c.reidentify(wide, (n) => renamed.get(n)!);
    expect(c.list(['seven', 'wide'])).toEqual([
      { key: 'wide', count: 4, error: 0 },
      { key: 'seven', count: 1, error: 0 },
    ]);
    c.clear();
    expect(c.size).toBe(0);
    c.add(1);
    expect(c.list(['seven', 'wide'])).toEqual([{ key: 'wide', count: 1, error: 0 }]);
  });
});
