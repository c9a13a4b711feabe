/**
 * The console's blocklist with 100,000 entries: CPU per update as the console does it while a
 * browser shows the mitigation table — k entries change (updates, new ones, tombstones), then the
 * pushed summary, then the page the browser asks again (100 rows sorted by score).
 *
 * Same run, same change sequence, alternating rounds: this tree's BlocklistTable against the one
 * of BENCH_CONSOLE_BASELINE (a commit, default 0fb2971: the table before incremental sorting),
 * taken with `git show` into services/console/.local/baseline (git-ignored). CPU time
 * (process.cpuUsage), medians over the rounds.
 *
 *   pnpm bench console-blocklist
 *   node --expose-gc --require @swc-node/register services/console/bench/console-blocklist.bench.ts
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { type BlocklistEntry } from '@sluice/contracts';
import { machineLine, markdownTable, repoRoot } from '@sluice/testing';
import { BlocklistTable, type BlocklistQuery } from '../src/core/blocklist-table';

const ENTRIES = Number(process.env.BENCH_ENTRIES ?? 100_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const BASELINE = process.env.BENCH_CONSOLE_BASELINE ?? '0fb2971';
const log = (s: string) => process.stderr.write(`${s}\n`);
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

interface Table {
  apply(id: string, entry: BlocklistEntry | null): boolean;
  summary(): unknown;
  page(q: BlocklistQuery): { rows: Array<{ id: string }> };
}
type TableClass = new (max: number) => Table;

function loadBaseline(): TableClass {
  const dir = join(repoRoot, 'services', 'console', '.local', 'baseline');
  mkdirSync(dir, { recursive: true });
  const source = execFileSync(
    'git',
    ['show', `${BASELINE}:services/console/src/core/blocklist-table.ts`],
    { cwd: repoRoot, encoding: 'utf8' },
  );
  const file = join(dir, `blocklist-table-${BASELINE}.ts`);
  writeFileSync(file, source);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require(file) as { BlocklistTable: TableClass }).BlocklistTable;
}

function entry(i: number, version: number): BlocklistEntry {
  return {
    v: 1,
    id: `e${i}`,
    scope: {
      kind: 'resolver-zone',
      resolver: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
      zone: `z${i % 500}.example`,
    },
    action: 'refused',
    reason: `attack share ${(i % 100) / 100}`,
    score: ((i * 7919 + version * 104_729) % 99_991) / 10,
    createdAt: 1_700_000_000_000 + i,
    expiresAt: 1_700_003_600_000 + ((i * 31 + version) % 3_600_000),
    shadow: i % 3 === 0,
  };
}

/** The k changes of one update, the same for both tables: half updates, a quarter new, a quarter gone. */
function changes(round: number, k: number): Array<[string, BlocklistEntry | null]> {
  const out: Array<[string, BlocklistEntry | null]> = [];
  for (let j = 0; j < k; j++) {
    const i = (round * 7_919 + j * 104_729) % ENTRIES;
    const fresh = ENTRIES + round * k + j;
    switch (j % 4) {
      case 0:
      case 1:
        out.push([`e${i}`, entry(i, round + 1)]);
        break;
      case 2:
        out.push([`e${fresh}`, entry(fresh, 0)]);
        break;
      default:
        out.push([`e${i}`, null]);
    }
  }
  return out;
}

function cpuMs(fn: () => void): number {
  gc();
  const start = process.cpuUsage();
  fn();
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1_000;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (ms: number) => (ms >= 10 ? ms.toFixed(0) : ms >= 1 ? ms.toFixed(1) : ms.toFixed(2));

function main(): void {
  const variants: Array<{ name: string; Table: TableClass }> = [
    { name: `baseline ${BASELINE}`, Table: loadBaseline() },
    { name: 'this tree', Table: BlocklistTable },
  ];
  const page: BlocklistQuery = { offset: 0, limit: 100, sort: 'score' };
  const load0 = loadavg()[0]!;

  const tables = variants.map((v) => {
    const t = new v.Table(ENTRIES * 2);
    const load = cpuMs(() => {
      for (let i = 0; i < ENTRIES; i++) t.apply(`e${i}`, entry(i, 0));
      t.summary();
      t.page(page);
    });
    log(`${v.name}: loaded ${ENTRIES} entries and drew the first page in ${fmt(load)} ms CPU`);
    return { ...v, t, load };
  });

  const sizes = [1, 100, 1_000];
  const perUpdate = new Map<string, number[]>();
  let round = 0;
  for (let r = 0; r < ROUNDS; r++)
    for (const k of sizes) {
      const batch = changes(round++, k);
      // Alternate which table goes first, so neither always runs on the other's garbage.
      const order = r % 2 === 0 ? tables : [...tables].reverse();
      const firstRows: string[][] = [];
      for (const v of order) {
        const ms = cpuMs(() => {
          for (const [id, e] of batch) v.t.apply(id, e);
          v.t.summary();
          firstRows.push(v.t.page(page).rows.map((x) => x.id));
        });
        const key = `${v.name}|${k}`;
        perUpdate.set(key, [...(perUpdate.get(key) ?? []), ms]);
      }
      if (JSON.stringify(firstRows[0]) !== JSON.stringify(firstRows[1]))
        throw new Error(`the two tables disagree on page 1 after round ${round}`);
    }

  const filtered: BlocklistQuery = { ...page, q: 'z42.example', mode: 'enforced' };
  // First a changed table (the scan), then the same page again with nothing changed in between —
  // what a browser asks each time only the stop figures moved during a flood.
  const filterMs = tables.map((v) =>
    median(
      [1, 2, 3].map((i) => {
        v.t.apply('e1', entry(1, 1_000 + i));
        return cpuMs(() => v.t.page(filtered));
      }),
    ),
  );
  const againMs = tables.map((v) => median([1, 2, 3].map(() => cpuMs(() => v.t.page(filtered)))));
  const load1 = loadavg()[0]!;

  const rows = sizes.map((k) => {
    const [a, b] = tables.map((v) => median(perUpdate.get(`${v.name}|${k}`)!));
    return [
      `${k} change${k === 1 ? '' : 's'} → summary → page 1`,
      fmt(a!),
      fmt(b!),
      `${(a! / b!).toFixed(0)}×`,
    ];
  });
  rows.push([
    `load ${ENTRIES.toLocaleString('en')} entries + first page (once)`,
    fmt(tables[0]!.load),
    fmt(tables[1]!.load),
    `${(tables[0]!.load / tables[1]!.load).toFixed(1)}×`,
  ]);
  rows.push([
    'a filtered page after a change (substring + mode: a full scan in both)',
    fmt(filterMs[0]!),
    fmt(filterMs[1]!),
    `${(filterMs[0]! / filterMs[1]!).toFixed(1)}×`,
  ]);
  rows.push([
    'the same filtered page again, table unchanged (only stop figures moved)',
    fmt(againMs[0]!),
    fmt(againMs[1]!),
    `${(againMs[0]! / againMs[1]!).toFixed(0)}×`,
  ]);

  process.stdout.write(
    [
      '## Console: an update of a 100,000-entry blocklist (`pnpm bench console-blocklist`)',
      '',
      `Machine: ${machineLine()}; load average ${load0.toFixed(1)} → ${load1.toFixed(1)}.`,
      '',
      `CPU milliseconds (process.cpuUsage) per update as the console does it with a browser on the`,
      `mitigation table: k entries change (half updated, a quarter new, a quarter tombstoned), the`,
      `summary pushed to browsers is built, and the page the browser then asks for (100 rows by`,
      `score) is served. Median of ${ROUNDS} rounds per size, both tables fed the same changes in the`,
      `same process, alternating which goes first; the pages are checked equal every round.`,
      `Baseline: the table of commit ${BASELINE} (re-sorted all ${ENTRIES.toLocaleString('en')} rows on the first page after any`,
      `change, and counted the summary over every row); this tree keeps each sort order, places the`,
      `changed rows by binary search (up to 32 moved in place, more in one rebuild of the array) and`,
      `keeps the summary's counts as entries come and go.`,
      '',
      markdownTable(['', `baseline ${BASELINE}`, 'this tree', 'less CPU'], rows),
      '',
      'Command: `pnpm bench console-blocklist` (or `node --expose-gc --require @swc-node/register',
      'services/console/bench/console-blocklist.bench.ts`; `BENCH_CONSOLE_BASELINE=<commit>`,',
      '`BENCH_ENTRIES`, `BENCH_ROUNDS`). The browser side is one page of 100 rows either way',
      '(the Chromium test reports its fetch and draw times).',
      '',
    ].join('\n'),
  );
}

main();
