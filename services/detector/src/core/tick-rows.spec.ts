import { decodeQueryColumns, encodeQueryBatch, type QueryEvent } from '@sluice/contracts';
import { simulate } from '@sluice/traffic-sim';
import { hash2 } from './hash';
import { TickRows, TickRowsPool } from './tick-rows';

/** Queries for the given names, made from one simulated query. */
const [template] = simulate({
  seed: 1,
  startTime: 1_700_000_000_000,
  durationMs: 1000,
  zones: 1,
  benignQps: 10,
});
const event = (qname: string, i: number): QueryEvent => ({
  ...template!,
  ts: template!.ts + i,
  resolver: `127.0.0.${(i % 200) + 1}`,
  zone: 'example.com',
  qname,
});

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

describe('TickRows hashes', () => {
  // Names of every kind a row holds: relative (copied as bytes), the apex, odd ones (held as
  // text), escaped and non-ASCII bytes, and a long one.
  const names = [
    'www.example.com',
    'kq3vz8ma0wbx.example.com',
    'example.com',
    'a.b.c.d.example.com',
    'EXAMPLE.com',
    'other.net',
    'caf\u00e9.example.com',
    'x\\.y.example.com',
    `${'l'.repeat(63)}.${'m'.repeat(63)}.example.com`,
  ];

  /** hash2 of each row's subname, as the per-query pass would compute it from the bytes. */
  const expected = (rows: TickRows) =>
    Array.from({ length: rows.n }, (_, i) => {
      const q = rows.qname(i);
      const sub = q.endsWith('.example.com') ? q.slice(0, -'.example.com'.length) : '';
      const odd = rows.oddQname(i) !== undefined;
      const h = hash2(odd ? rows.arena.toString('utf8', rows.subStart[i], rows.subEnd[i]) : sub);
      return [h.h1, h.h2 | 0];
    });
  const held = (rows: TickRows) =>
    Array.from({ length: rows.n }, (_, i) => [rows.h1[i], rows.h2[i]]);

  it('holds hash2 of each subname, whichever way the row came in', () => {
    const fromColumns = new TickRows('example.com', 2);
    const columns = decodeQueryColumns(
      encodeQueryBatch({ v: 1, source: 'spec', zone: 'example.com', events: names.map(event) }),
    );
    for (let i = 0; i < columns.count; i++) fromColumns.pushColumns(columns, i);
    const fromEvents = new TickRows('example.com', 2);
    names.forEach((q, i) => fromEvents.pushEvent(event(q, i)));
    const fromJSON = new TickRows('example.com', 2);
    for (const row of fromEvents.toJSON()) fromJSON.pushJSON(row);

    expect(fromColumns.n).toBe(names.length);
    expect(held(fromColumns)).toEqual(expected(fromColumns));
    expect(held(fromEvents)).toEqual(expected(fromEvents));
    expect(held(fromColumns)).toEqual(held(fromEvents));
    expect(held(fromJSON)).toEqual(held(fromEvents));
    // Distinct names, distinct hashes: the rows did not all hold one value.
    expect(new Set(held(fromColumns).map(([h1]) => h1)).size).toBeGreaterThan(5);
  });
});
