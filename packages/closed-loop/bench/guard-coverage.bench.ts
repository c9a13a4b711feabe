/**
 * Zone-guard coverage by history length: what a traffic-only guard (the detector's known names,
 * no zone file) would refuse during an attack, after H of the closed loop's legitimate traffic
 * for the attacked zone — with the vocabulary's 24 h retention, with the old behaviour emulated
 * (retention of one 5-min aging) and, at the rates in GUARD_COVERAGE_BEFORE_RATES, with the
 * detector core of the commit before the retention (bb8c4df^), all on the same events. Event
 * time, no network.
 *
 *   pnpm bench guard-coverage
 *   GUARD_COVERAGE_HISTORIES=90s,1h GUARD_COVERAGE_SEEDS=1 pnpm bench guard-coverage
 *
 * Prints one Markdown section on stdout; progress on stderr.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { machineLine, markdownTable, repoRoot } from '@sluice/testing';
import {
  attackedZoneTraffic,
  measureGuardCoverage,
  type CoverageCore,
  type GuardCoverageOptions,
  type GuardCoverageResult,
  type Tally,
  type VariantCoverage,
} from '../src/guard-coverage';

const log = (s: string) => process.stderr.write(`${s}\n`);

const SETTINGS = {
  SEEDS: 'comma list of seeds, default 1,7',
  HISTORIES: 'comma list of history lengths (90s, 10m, 1h…), default 90s,10m,1h,6h,24h',
  RATES: "comma list of multiples of the zone's closed-loop rate, default 1,10",
  BEFORE: "the commit whose detector core runs as a third variant, default bb8c4df^ ('-': none)",
  BEFORE_RATES: 'the rates (of RATES) at which it runs, default 1',
} as const;
const SPARSE = { label: 'sparse-probe', everyMs: 30 * 60_000 };
const RETENTION_OLD = 300_000;

function raw(k: keyof typeof SETTINGS, dflt: string): string {
  return process.env[`GUARD_COVERAGE_${k}`] || dflt;
}

function setting(k: keyof typeof SETTINGS, dflt: string, parse: (s: string) => number | null) {
  const value = raw(k, dflt);
  return value.split(',').map((s) => {
    const v = parse(s.trim());
    if (v === null) throw new Error(`GUARD_COVERAGE_${k}=${value}: ${SETTINGS[k]}`);
    return v;
  });
}

function duration(s: string): number | null {
  const m = /^(\d+(?:\.\d+)?)(s|m|h)$/.exec(s);
  if (!m) return null;
  return Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 's' | 'm' | 'h'];
}

/**
 * Another commit's detector core, loaded from git into packages/closed-loop/.baseline/ (ignored;
 * '@sluice/contracts' resolves from there to this checkout's, as in the detector's
 * against-commit bench).
 */
async function coreOf(commit: string): Promise<() => CoverageCore> {
  const dir = join(repoRoot, 'packages/closed-loop/.baseline', commit.replace(/[^\w.-]/g, '_'));
  rmSync(dir, { recursive: true, force: true });
  const git = (...args: string[]) =>
    execFileSync('git', ['-C', repoRoot, ...args], { encoding: 'utf8' });
  let listing: string;
  try {
    listing = git('ls-tree', '-r', '--name-only', commit, 'services/detector/src/core/');
  } catch {
    throw new Error(`GUARD_COVERAGE_BEFORE=${commit}: not a commit of this repository`);
  }
  const files = listing.split('\n').filter((f) => f.endsWith('.ts') && !f.endsWith('.spec.ts'));
  if (files.length === 0)
    throw new Error(`GUARD_COVERAGE_BEFORE=${commit}: no detector core there`);
  for (const f of files) {
    const to = join(dir, f.slice('services/detector/src/core/'.length));
    mkdirSync(dirname(to), { recursive: true });
    writeFileSync(to, git('show', `${commit}:${f}`));
  }
  const mod = (await import(join(dir, 'detector-core.ts'))) as {
    DetectorCore: new () => CoverageCore;
  };
  return () => new mod.DetectorCore();
}

const positive = (s: string) => (/^\d+(\.\d+)?$/.test(s) && Number(s) > 0 ? Number(s) : null);
const pct = (t: Tally) => `${((100 * t.refused) / Math.max(1, t.queries)).toFixed(2)} %`;
const after = (v: VariantCoverage) =>
  v.alertAfterMs === null ? 'none' : `${(v.alertAfterMs / 1000).toFixed(1)} s`;
const fmtH = (ms: number) =>
  ms % 3_600_000 === 0
    ? `${ms / 3_600_000} h`
    : ms % 60_000 === 0
      ? `${ms / 60_000} min`
      : `${ms / 1000} s`;

async function main(): Promise<void> {
  const seeds = setting('SEEDS', '1,7', (s) => (/^\d+$/.test(s) ? Number(s) : null));
  const histories = setting('HISTORIES', '90s,10m,1h,6h,24h', duration);
  const rates = setting('RATES', '1,10', positive);
  const before = raw('BEFORE', 'bb8c4df^');
  const beforeRates = before === '-' ? [] : setting('BEFORE_RATES', '1', positive);
  const beforeCore = beforeRates.length > 0 ? await coreOf(before) : null;
  const results: { rate: number; seed: number; r: GuardCoverageResult }[] = [];
  // The attacked zone's legitimate rate in the closed loop (its share of 500 q/s).
  const base = attackedZoneTraffic({ seed: 1, historyMs: 0, variants: {} }).traffic.legitQps;
  for (const rate of rates)
    for (const historyMs of histories)
      for (const seed of seeds) {
        const zoneQps = Math.round(base * rate * 10) / 10;
        log(`== ${fmtH(historyMs)} at ${zoneQps} q/s, seed ${seed}`);
        const t = performance.now();
        const variants: GuardCoverageOptions['variants'] = {
          current: {},
          'one aging': { knownNamesRetentionMs: RETENTION_OLD },
          ...(beforeCore && beforeRates.includes(rate) ? { [before]: { core: beforeCore } } : {}),
        };
        const r = measureGuardCoverage({
          seed,
          historyMs,
          zoneQps,
          sparseNames: [SPARSE],
          variants,
        });
        log(`   ${((performance.now() - t) / 1000).toFixed(0)} s wall`);
        results.push({ rate, seed, r });
      }

  const first = results[0]!.r;
  const out: string[] = [];
  out.push('## Zone guard coverage by history length (`pnpm bench guard-coverage`)');
  out.push('');
  out.push(
    `What a traffic-only zone guard — the detector's known names for the attacked zone, no zone file — would refuse during an attack, after H of history. ` +
      `The closed loop's own traffic model (\`planQueries\` over \`buildZones\`, packages/closed-loop/src/guard-coverage.ts): ${first.zone} with its ${first.zoneNames.toLocaleString('en-US')} names, ` +
      'Zipf over names, 1 % typos, 2 % of names first appearing during the run (their times spread over H + attack as the closed loop spreads them over its run), ' +
      "only this zone's share of the traffic, at the closed loop's rate of the zone and at 10× that rate. " +
      "Responses as the zone's authoritative gives them over dnsdist's dnstap (NOERROR for names in its zone file, NODATA by record type, NXDOMAIN for typos and the flood). " +
      `After H, a Mirai-style flood (\`<12 of a-w0-8>.<zone>\`, ${first.floodMultiplier}× the zone's rate) for ${first.attackMs / 1000} s while the legitimate traffic goes on; DetectorCore (event time, no network) alerts and publishes the known-names message. ` +
      'Refused = legitimate queries of those 60 s whose name is not on the list published with the alert’s `started` ("with updates": the list in force at the query, counting the names the detector confirms during the attack).',
  );
  out.push('');
  out.push(
    `Each row runs its detector cores on the same events: **current** (a known name kept until 24 h unasked, DETECTOR_KNOWN_NAMES_RETENTION_MS default); **one aging** (knownNamesRetentionMs = ${RETENTION_OLD / 1000} s: a known name goes after 1–2 agings unasked, the emulation of the old behaviour)` +
      (beforeCore
        ? `; at ${beforeRates.map((x) => `${x}×`).join(', ')} the closed loop's rate also **${before}**, that commit's detector core itself (a name dropped once its halving count reaches 0: asked once, at the next aging; asked 2^k times, after k+1 agings unasked)`
        : '') +
      `. \`${SPARSE.label}.<zone>\` is a name of the zone asked once every ${SPARSE.everyMs / 60_000} min (from minute ${SPARSE.everyMs / 120_000}): on the start list or not ("–": H too short for it to have been asked).`,
  );
  out.push('');
  for (const rate of rates) {
    const rs = results.filter((x) => x.rate === rate);
    const names = rs[0]!.r.variants.map((v) => v.variant).join(' / ');
    const each = (r: GuardCoverageResult, f: (v: VariantCoverage) => string) =>
      r.variants.map(f).join(' / ');
    out.push(
      `### ${rs[0]!.r.zoneQps} legitimate q/s${rate === 1 ? " (the closed loop's rate)" : ` (${rate}× the closed loop's rate)`}`,
    );
    out.push('');
    out.push(
      markdownTable(
        [
          'H',
          'seed',
          'history queries',
          `list size at start (${names})`,
          `refused, typos excluded (${names})`,
          `refused, typos included (${names})`,
          `refused with updates, typos excluded (${names})`,
          `distinct names refused (${names})`,
          `${SPARSE.label} listed (${names})`,
          'alert after onset',
          'flood names listed',
          `CPU s (${names} / traffic)`,
        ],
        rs.map(({ seed, r }) => {
          const alerts = new Set(r.variants.map(after));
          return [
            fmtH(r.historyMs),
            seed,
            r.historyQueries.toLocaleString('en-US'),
            each(r, (v) => v.listSize.toLocaleString('en-US')),
            each(r, (v) => pct(v.atStart.legit)),
            each(r, (v) => pct(v.atStart.withTypos)),
            each(r, (v) => pct(v.withUpdates.legit)),
            each(r, (v) => String(v.atStart.distinctRefused)),
            each(r, (v) =>
              r.historyMs < SPARSE.everyMs / 2 ? '–' : v.sparseListed.length > 0 ? 'yes' : 'no',
            ),
            alerts.size === 1 ? [...alerts][0]! : each(r, after),
            String(r.variants.reduce((n, v) => n + v.floodListed, 0)),
            `${each(r, (v) => (v.cpuMs / 1000).toFixed(1))} / ${(r.generateCpuMs / 1000).toFixed(1)}`,
          ];
        }),
      ),
    );
    out.push('');
    out.push(
      `Legitimate queries measured per run: ${rs.map(({ seed, r }) => `${fmtH(r.historyMs)} seed ${seed}: ${r.attackLegit.toLocaleString('en-US')}`).join(', ')}.`,
    );
    out.push('');
  }
  out.push(`Machine: ${machineLine()}.`);
  out.push('');
  const set = Object.keys(SETTINGS)
    .filter((k) => process.env[`GUARD_COVERAGE_${k}`])
    .map((k) => `GUARD_COVERAGE_${k}=${process.env[`GUARD_COVERAGE_${k}`]}`);
  out.push(
    `Command: \`${[...set, 'pnpm bench guard-coverage'].join(' ')}\` (packages/closed-loop/bench/guard-coverage.bench.ts).`,
  );
  process.stdout.write(`${out.join('\n')}\n`);
}

main().catch((e: unknown) => {
  log(e instanceof Error ? (e.stack ?? e.message) : String(e));
  process.exit(1);
});
