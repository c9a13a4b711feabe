/**
 * The console view's outputs for a recorded sequence of inputs, this tree's against another
 * commit's: a seeded stream of zone stats, alerts (redelivered, late, ended then updated),
 * offenders (before their alert, redelivered, past the per-attack cap), blocklist changes and
 * health, with every kind of output asked in between (updates, snapshots, attack lists, reports,
 * evidence exports, blocklist pages), small bounds so zones and attacks are evicted. Every output
 * is hashed (sha256); the two sides must agree byte for byte. A refactor's proof of no change:
 *
 *   node --require @swc-node/register services/console/bench/console-view-outputs.ts [commit] [inputs]
 *
 * The other commit's src/core is taken with `git show` into services/console/.local (git-ignored).
 * Default commit 1481a7b: the view before it was split into zone-timelines.ts and attack-board.ts.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Alert, type BlocklistEntry, type EnrichedOffender } from '@sluice/contracts';
import { repoRoot } from '@sluice/testing';
import { ConsoleView } from '../src/core/console-view';

const BASELINE = process.argv[2] ?? '1481a7b';
const INPUTS = Number(process.argv[3] ?? 30_000);
const SEEDS = [1, 2, 3];
type View = Pick<ConsoleView, keyof ConsoleView>;
type ViewClass = new (options: ConstructorParameters<typeof ConsoleView>[0]) => View;

function loadBaseline(): ViewClass {
  const dir = join(repoRoot, 'services', 'console', '.local', `view-${BASELINE}`);
  mkdirSync(dir, { recursive: true });
  const git = (args: string[]) => execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8' });
  const core = 'services/console/src/core/';
  for (const f of git(['ls-tree', '--name-only', BASELINE, core]).split('\n')) {
    if (!f.endsWith('.ts') || f.endsWith('.spec.ts')) continue;
    writeFileSync(join(dir, f.slice(core.length)), git(['show', `${BASELINE}:${f}`]));
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require(join(dir, 'console-view.ts')) as { ConsoleView: ViewClass }).ConsoleView;
}

/** Drives one view through the seed's sequence; the sha256 of everything it answered. */
function record(View: ViewClass, seed: number): { outputs: number; bytes: number; sha256: string } {
  let s = seed;
  const rnd = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
  const int = (n: number) => Math.floor(rnd() * n);
  const pick = <T>(a: readonly T[]): T => a[int(a.length)]!;
  const v = new View({
    maxZones: 6,
    timelinePoints: 12,
    maxAttacks: 5,
    maxResolversPerAttack: 9,
    evidencePerResolver: 3,
    maxBlocklist: 40,
    reportIntervalMs: 700,
  });
  const hash = createHash('sha256');
  let outputs = 0;
  let bytes = 0;
  const out = (tag: string, x: unknown) => {
    const line = `${tag}${JSON.stringify(x ?? null)}\n`;
    hash.update(line);
    outputs++;
    bytes += line.length;
  };
  const zones = [
    ...Array.from({ length: 10 }, (_, i) => `z${i}.example${i % 3}.com`),
    '<b>x</b>.evil.net',
  ];
  const resolvers = Array.from({ length: 30 }, (_, i) =>
    i % 5 === 4 ? `2001:db8:${i}::53` : `198.51.${i % 4}.${i}`,
  );
  const asns = [64500, 64501, 64502, null, 13335];
  const alerts: Array<{ alertId: string; zone: string; onset: number }> = [];
  let t = 1_000_000;
  let now = 5_000_000;

  const zoneStats = (zone: string) => {
    const ws = t - int(8) * 1000 * (rnd() < 0.15 ? 1 : 0) - (rnd() < 0.05 ? 20_000 : 0);
    return {
      v: 1 as const,
      zone,
      windowStart: ws,
      windowEnd: ws + 1000,
      queries: int(5000),
      qps: int(5000),
      baselineQps: rnd() < 0.2 ? null : int(300),
      uniqueSubnames: int(400),
      neverSeenRate: rnd(),
      randomShare: rnd(),
      nxdomainShare: rnd() < 0.1 ? null : rnd(),
      ...(rnd() < 0.5 ? { failureShare: rnd() } : {}),
      topResolvers: [],
      ...(rnd() < 0.3 && alerts.length ? { alertId: pick(alerts).alertId } : {}),
    };
  };
  const alert = (): Alert => {
    let a;
    if (alerts.length === 0 || rnd() < 0.12) {
      a = { alertId: `al-${alerts.length}-${int(1e6)}`, zone: pick(zones), onset: t - int(5000) };
      alerts.push(a);
    } else a = pick(alerts);
    const phase = pick(['started', 'updated', 'updated', 'ended'] as const);
    const at = t - (rnd() < 0.1 ? int(30_000) : 0);
    return {
      v: 1,
      alertId: a.alertId,
      zone: a.zone,
      phase,
      severity: pick(['low', 'medium', 'high', 'critical'] as const),
      onset: a.onset,
      at,
      endedAt: phase === 'ended' ? at : rnd() < 0.1 ? at - 5 : null,
      qps: int(90_000),
      baselineQps: int(100),
      uniqueRate: int(1000),
      neverSeenRate: rnd(),
      randomShare: rnd(),
      nxdomainShare: rnd() < 0.2 ? null : rnd(),
      ...(rnd() < 0.5 ? { failureShare: rnd() } : {}),
      meanEntropy: 3 * rnd(),
      sampleNames:
        rnd() < 0.3 ? [] : Array.from({ length: int(15) }, (_, i) => `n${i}${int(99)}.${a.zone}`),
      evidence: [],
      topResolvers: [],
      ...(rnd() < 0.4 ? { signals: ['never-seen', 'surge'].slice(0, 1 + int(2)) } : {}),
      fingerprint: {
        labelLengths: { '12': 1 },
        alphabet: pick(['abc', 'a-z0-9', '']),
        labelsPerName: { '1': 1 },
        generator: pick(['mirai', 'unknown', 'dga']),
        qtypes: { A: 1 },
      },
    } as Alert;
  };
  const offender = (): EnrichedOffender => {
    const a =
      rnd() < 0.9 && alerts.length
        ? pick(alerts)
        : { alertId: `early-${int(4)}`, zone: pick(zones) };
    const resolver = pick(resolvers);
    const ws = t - int(6) * 1000;
    const asn = pick(asns);
    const aq = int(3000);
    return {
      v: 1,
      zone: a.zone,
      resolver,
      windowStart: ws,
      windowEnd: ws + 1000 + int(2) * 1000,
      attackQueries: aq,
      totalQueries: aq + int(100),
      alertId: rnd() < 0.05 ? null : a.alertId,
      evidence: Array.from({ length: int(5) }, (_, i) => ({
        ts: ws + i,
        resolver: rnd() < 0.8 ? resolver : pick(resolvers),
        qname: `q${int(1e5)}.${a.zone}`,
      })),
      enrichment: {
        asn,
        asOrg: asn === null ? null : `Org ${asn}`,
        prefix: asn === null ? null : `198.51.${asn % 4}.0/24`,
        country: pick(['DE', 'US', null]),
        resolverKind: pick(['isp', 'public', 'unknown']),
        resolverOperator: null,
      },
    } as EnrichedOffender;
  };
  const entry = (): BlocklistEntry => {
    const zone = pick(zones);
    const r = pick(resolvers);
    const prefix = () => `198.51.${int(4)}.0/24`;
    const scope = pick([
      { kind: 'resolver-zone', resolver: r, zone },
      { kind: 'resolver', resolver: r },
      { kind: 'prefix', prefix: prefix() },
      { kind: 'asn', asn: pick([64500, 64501, 64502]) },
      { kind: 'zone', zone },
      { kind: 'prefix-zone', prefix: prefix(), zone },
      { kind: 'asn-zone', asn: pick([64500, 64501]), zone },
    ] as const);
    const e: BlocklistEntry = {
      v: 1,
      id: `e${int(70)}`,
      scope,
      action:
        scope.kind === 'zone'
          ? 'nxdomain'
          : pick(['drop', 'refused', 'nxdomain', 'truncate', 'guard'] as const),
      reason: `score ${int(100)}`,
      score: int(100) / 7,
      createdAt: t - int(20_000),
      expiresAt: t + int(60_000),
      shadow: rnd() < 0.4,
    };
    if (scope.kind === 'asn' || scope.kind === 'asn-zone') e.networks = [prefix()];
    if (scope.kind === 'zone')
      e.guard = {
        alertId: alerts.length ? pick(alerts).alertId : 'x',
        appliesTo: pick(['offenders', 'all'] as const),
        knownNames: [`www.${zone}`],
        namesTruncated: false,
        sources: ['traffic'],
        alertEndedAt: null,
      };
    return e;
  };

  for (let i = 0; i < INPUTS; i++) {
    const r = rnd();
    if (rnd() < 0.3) t += 1000;
    now += int(400);
    if (r < 0.3) v.applyZoneStats(zoneStats(pick(zones)));
    else if (r < 0.42) v.applyAlert(alert());
    else if (r < 0.7) v.applyOffender(offender());
    else if (r < 0.8) {
      const e = entry();
      v.applyBlocklist(e.id, rnd() < 0.15 ? null : e);
    } else if (r < 0.82)
      v.setHealth([
        { stage: pick(['ingest', 'detector']), ready: rnd() < 0.5, checks: {}, metrics: {} },
      ] as never);
    else if (r < 0.92) out('U', v.takeUpdates(now));
    else if (r < 0.93) out('S', v.snapshot(now));
    else if (r < 0.95) out('A', v.attackViews());
    else if (r < 0.965) {
      const id = alerts.length && rnd() < 0.9 ? pick(alerts).alertId : 'nope';
      out('R', v.report(id, now));
    } else if (r < 0.98) {
      const id = alerts.length ? pick(alerts).alertId : 'nope';
      out('E', v.evidence(id, pick(asns), pick(['csv', 'json'] as const), now));
    } else
      out(
        'P',
        v.blocklistPage({
          offset: int(10),
          limit: 1 + int(20),
          sort: pick(['score', 'expiresAt', 'createdAt', 'target'] as const),
          ...(rnd() < 0.3 ? { q: pick(['e1', 'example1', 'AS645']) } : {}),
          ...(rnd() < 0.3 ? { mode: pick(['all', 'shadow', 'enforced'] as const) } : {}),
          ...(rnd() < 0.3 ? { kind: pick(['guards', 'resolver', 'asn'] as const) } : {}),
        }),
      );
  }
  out('S', v.snapshot(now));
  out('U', v.takeUpdates(now + 10_000));
  return { outputs, bytes, sha256: hash.digest('hex') };
}

const Baseline = loadBaseline();
let same = true;
for (const seed of SEEDS) {
  const a = record(Baseline, seed);
  const b = record(ConsoleView, seed);
  same &&= a.sha256 === b.sha256;
  console.log(
    `seed ${seed}, ${INPUTS} inputs: ${b.outputs} outputs, ${b.bytes} bytes; ${BASELINE} ${a.sha256}; this tree ${b.sha256}${a.sha256 === b.sha256 ? '' : '  DIFFERENT'}`,
  );
}
console.log(same ? 'identical outputs' : 'the outputs differ');
process.exitCode = same ? 0 : 1;
