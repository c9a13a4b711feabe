/**
 * An alert's top resolvers: the per-query add of the zone detector's pass, keyed by name (a
 * SpaceSaving<string>, as before 2026-12-01's second session) and by resolver id (ResolverTop),
 * on the same sequence of senders: floods carried by 40, 500 and 5,000 resolvers, a 64-counter
 * top (the default DETECTOR_TOP_K). Markdown on stdout.
 */
import { machineLine, markdownTable } from '@sluice/testing';
import { ResolverIds } from '../src/core/resolver-ids';
import { ResolverTop } from '../src/core/resolver-top';
import { SpaceSaving } from '../src/core/space-saving';

const ADDS = 2_000_000;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const K = 64;

function senders(resolvers: number): Int32Array {
  const seq = new Int32Array(ADDS);
  let x = 1;
  for (let i = 0; i < ADDS; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    seq[i] = (x >>> 8) % resolvers;
  }
  return seq;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

const rows: (string | number)[][] = [];
for (const resolvers of [40, 500, 5000]) {
  const names = Array.from({ length: resolvers }, (_, i) => `10.${i >> 8}.${i & 255}.1`);
  const ids = new ResolverIds();
  const idOf = names.map((n) => ids.id(n));
  const seq = senders(resolvers);
  const byName: number[] = [];
  const byId: number[] = [];
  let same = true;
  // Alternating rounds; each side's median (ns per add, wall clock).
  for (let round = 0; round < ROUNDS + 1; round++) {
    let t = process.hrtime.bigint();
    const a = new SpaceSaving(K);
    for (let i = 0; i < ADDS; i++) a.add(names[seq[i]!]!);
    const ta = Number(process.hrtime.bigint() - t) / ADDS;
    t = process.hrtime.bigint();
    const b = ResolverTop.empty(K, ids);
    for (let i = 0; i < ADDS; i++) b.addId(idOf[seq[i]!]!);
    const tb = Number(process.hrtime.bigint() - t) / ADDS;
    same &&= JSON.stringify(a.toJSON()) === JSON.stringify(b.toJSON());
    if (round === 0) continue; // warm-up
    byName.push(ta);
    byId.push(tb);
  }
  const mName = median(byName);
  const mId = median(byId);
  rows.push([
    resolvers.toLocaleString('en-US'),
    `${mName.toFixed(1)} ns`,
    `${mId.toFixed(1)} ns`,
    `${(mName / mId).toFixed(2)}×`,
    same ? 'yes' : '**no**',
  ]);
}

process.stdout.write(
  [
    '## Detector: an alert’s top resolvers, by name and by resolver id',
    '',
    machineLine(),
    '',
    'Command: `pnpm bench alert-top` (`node --require @swc-node/register services/detector/bench/alert-top.bench.ts`)',
    '',
    `${ADDS.toLocaleString('en-US')} adds per round of the same pseudo-random senders to a ${K}-counter space-saving top, keyed by name (SpaceSaving<string>) and by the zone's resolver id (ResolverTop), alternating; median of ${ROUNDS} rounds after one warm-up. Past ${K} resolvers most adds replace a counter (a Map delete and set by name, an array write by id).`,
    '',
    markdownTable(
      ['resolvers in the flood', 'by name', 'by id', 'by name ÷ by id', 'same counters'],
      rows,
    ),
    '',
  ].join('\n'),
);
