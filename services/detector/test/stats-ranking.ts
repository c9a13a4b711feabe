import { type QueryEvent } from '@sluice/contracts';

/**
 * A stats window that is hard to rank (detector-core.spec, sharded-detector.spec): a second
 * before it, 3000 other resolvers, so the window's close finds the id table big enough to compact
 * (with the slack lowered); in it, 500 resolvers once each, then the busiest last, two of them
 * tying (broken by name). A 64-counter space-saving top kept upper bounds here. `query` makes
 * the n-th query of a resolver at ts.
 */
export function statsRankingCase(
  t0: number,
  query: (ts: number, resolver: string, n: number) => QueryEvent,
) {
  const before: QueryEvent[] = [];
  for (let i = 0; i < 3000; i++)
    before.push(query(t0 - 1000 + i / 3, `192.0.${i >> 8}.${i & 255}`, i));
  const events: QueryEvent[] = [];
  for (let i = 0; i < 500; i++) events.push(query(t0 + i, `198.51.${i >> 8}.${i & 255}`, i));
  for (let i = 0; i < 12; i++) {
    const busy = i < 2 ? 30 : 20 - i;
    for (let k = 0; k < busy; k++)
      events.push(query(t0 + 600 + i * 30 + k, `203.0.113.${20 - i}`, k));
  }
  const expected = [
    { resolver: '203.0.113.19', count: 30 },
    { resolver: '203.0.113.20', count: 30 },
    ...[18, 17, 16, 15, 14, 13, 12, 11].map((n, i) => ({
      resolver: `203.0.113.${n}`,
      count: 18 - i,
    })),
  ];
  return { before, events, expected };
}
