import { TickRows, TickRowsPool } from './tick-rows';

/** A buffer that held `n` rows (only its count and capacity matter to the pool). */
function used(zone: string, n: number): TickRows {
  const rows = new TickRows(zone, n);
  rows.n = n;
  return rows;
}

describe('TickRowsPool', () => {
  it('hands back the buffers it was given, cleared, before making new ones', () => {
    const pool = new TickRowsPool('example.com');
    const given = [used('example.com', 100), used('example.com', 100), used('example.com', 100)];
    for (const rows of given) pool.give(rows);
    const made = TickRowsPool.made;
    const taken = [pool.take(), pool.take(), pool.take()];
    expect(TickRowsPool.made).toBe(made);
    expect(new Set(taken)).toEqual(new Set(given));
    expect(taken.every((rows) => rows.n === 0)).toBe(true);
    pool.take();
    expect(TickRowsPool.made).toBe(made + 1);
  });

  it("keeps two of a flooded zone's big buffers, more only while they hold ≤ 65,536 rows in all", () => {
    const pool = new TickRowsPool('victim.example');
    for (let i = 0; i < 5; i++) pool.give(used('victim.example', 50_000));
    const made = TickRowsPool.made;
    pool.take();
    pool.take();
    expect(TickRowsPool.made).toBe(made);
    pool.take();
    expect(TickRowsPool.made).toBe(made + 1);
  });

  it('starts new buffers as big as the busiest tick it was given', () => {
    const pool = new TickRowsPool('example.com');
    pool.give(used('example.com', 3000));
    pool.take();
    expect(pool.take().capacity).toBeGreaterThanOrEqual(3000);
  });
});
