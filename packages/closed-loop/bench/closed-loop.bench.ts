/**
 * Closed loop on real nameservers: NSD behind dnsdist (dnsdist is the sensor, dnstap into the
 * ingest) with the four Sluice services enforcing through dnsdist's CDB files; the same traffic
 * against dnsdist's own suffix-match dynamic block (no Sluice); and BIND consuming Sluice's RPZ
 * (BIND's dnstap as the sensor). A shadow-mode run first calibrates what load alone costs.
 *
 *   pnpm bench closed-loop
 *   CLOSED_LOOP_SEEDS=1,7 CLOSED_LOOP_VARIANTS=sluice-dnsdist,dnsdist-peer pnpm bench closed-loop
 *   node --require @swc-node/register packages/closed-loop/bench/closed-loop.bench.ts --legit-qps=800
 *
 * Prints one Markdown section on stdout; progress on stderr.
 */
import { machineLine, repoRoot } from '@sluice/testing';
import {
  CLOSED_LOOP_SETTINGS,
  comparisonTable,
  hasBinary,
  planFromEnv,
  runClosedLoop,
  settingsFromArgs,
  timelineTable,
  type ClosedLoopResult,
} from '../src';

const log = (s: string) => process.stderr.write(`${s}\n`);
// Ctrl-C / kill: exit through process.exit so the harness kills every daemon it started.
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => process.exit(130));

async function main(): Promise<void> {
  const flags = settingsFromArgs(process.argv.slice(2));
  const plan = planFromEnv({ ...process.env, ...flags });
  const kafkaBrokers = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  for (const bin of ['nsd', 'dnsdist', 'named', 'dig'])
    if (!(await hasBinary(bin)))
      throw new Error(`${bin} is not installed (Debian: nsd dnsdist bind9 bind9-dnsutils)`);

  const results: ClosedLoopResult[] = [];
  // A run that fails (a daemon that would not start) is reported, not allowed to discard the
  // twenty minutes of runs around it.
  const failed: string[] = [];
  for (const seed of plan.seeds) {
    for (const variant of plan.variants) {
      log(`== closed loop: ${variant}, seed ${String(seed)}`);
      try {
        const r = await runClosedLoop({
          ...plan.base,
          variant,
          seed,
          root: repoRoot,
          kafkaBrokers,
          redisUrl,
          progress: (l) => log(`   ${l}`),
        });
        log(`   done in ${r.wallSeconds.toFixed(0)} s`);
        results.push(r);
      } catch (e) {
        log(e instanceof Error ? (e.stack ?? e.message) : String(e));
        failed.push(`${variant} (seed ${String(seed)})`);
      }
    }
  }
  if (results.length === 0) throw new Error(`every run failed: ${failed.join(', ')}`);

  const first = results[0]!;
  const t = first.traffic;
  const out: string[] = [];
  out.push('## Closed loop: mitigation on real nameservers (`pnpm bench closed-loop`)');
  out.push('');
  out.push(
    `Wall-clock runs on one box: real NSD 4 (or BIND 9.18) authoritative for ${first.zones.length} zones, dnsdist 1.7 in front, ` +
      'the four Sluice services as processes on the real Kafka broker and Redis, and ' +
      `${(first.resolvers.isp + first.resolvers.public + first.resolvers.bot).toLocaleString('en-US')} resolvers, each a UDP socket bound to its own 127.x.y.z ` +
      `(${first.resolvers.isp} ISP resolvers with Zipf-sized volumes, ${first.resolvers.public} public resolvers carrying ${Math.round(t.publicShare * 100)} % of users, ${first.resolvers.bot} bot-only). ` +
      `Legitimate traffic: ${t.legitQps} queries/s, Zipf over zones and names, several qtypes, ${Math.round(t.typoShare * 100)} % typos (NXDOMAIN), names that first appear during the run. ` +
      `Flood on ${first.attackedZones.join(', ')}: ${t.floodMultiplier}× the zone's legitimate rate for ${t.floodMs / 1000} s after ${t.warmupMs / 1000} s of warm-up ` +
      `(${Math.round(t.floodMiraiShare * 100)} % Mirai-style \`<12 of a-w0-8>.<zone>\`, the rest \`<rand>.<existing name>\`), ` +
      `${Math.round(t.floodSharedShare * 100)} % of it through the same resolvers that carry users. Every query's outcome is recorded by the resolver that sent it: ` +
      "answered by the authoritative (NOERROR/NXDOMAIN), REFUSED (dnsdist), rewritten by RPZ, NXDOMAIN from the enforcer (no SOA, or the policy zone's), or no answer within " +
      `${plan.base.timeoutMs} ms (dropped). A legitimate query counts as refused/dropped unless it got the authoritative's answer; a typo answered NXDOMAIN by the enforcer got it.`,
  );
  out.push('');
  out.push(
    '- **Sluice + dnsdist**: dnsdist logs every query (before the mitigation rules) and every backend response by dnstap to the ingest; ' +
      "the reputation service's CDB files, loaded by the Lua from `dnsdistConfigLua()` and reloaded on the service's NOTIFY, are the only mitigation.",
  );
  out.push(
    '- **dnsdist peer**: no Sluice; `DynBlockRulesGroup:setSuffixMatchRule` Defender-style (≥ 50 children, (NXDOMAIN+SERVFAIL)/queries ≥ 0.8, 10 s and 60 s windows, 60 s blocks, REFUSED).',
  );
  out.push(
    "- **Sluice + BIND RPZ**: BIND authoritative, Sluice's policy zones over TSIG AXFR/IXFR with NOTIFY (`recursive-only no`), BIND's dnstap (auth) as the sensor.",
  );
  out.push(
    '- **no mitigation**: Sluice + dnsdist with `BLOCK_SHADOW=true` (the same load, nothing enforced): what this box loses to load alone — the timeout calibration — and what the blocklist would have been.',
  );
  out.push('');
  out.push(
    'Mitigation latency: flood onset (first flood query sent) → first flood query refused/rewritten, or dropped inside a second in which ≥ 20 % of the flood went unanswered. ' +
      '"Stopped after mitigation" counts every flood query sent from that moment to the end of the flood. Blocklist checks read the blocklist topic (every entry ever published) against the ground truth.',
  );
  out.push('');
  for (const seed of plan.seeds) {
    const rs = results.filter((r) => r.seed === seed);
    out.push(`### Seed ${String(seed)}`);
    out.push('');
    out.push(comparisonTable(rs));
    out.push('');
    for (const r of rs.filter((x) => x.variant !== 'baseline')) {
      out.push(`<details><summary>${r.label}: per second around onset</summary>`);
      out.push('');
      out.push(timelineTable(r, -2, 25));
      out.push('');
      out.push(`Outcomes by query class: \`${JSON.stringify(r.measurements.outcomes)}\``);
      out.push('');
      out.push('</details>');
      out.push('');
    }
  }
  out.push(
    `Zones (names, share of legitimate traffic): ${first.zones.map((z) => `${z.zone} ${z.names} (${z.sharePct.toFixed(0)} %)`).join(', ')}.`,
  );
  out.push('');
  if (failed.length > 0) {
    out.push(`**Runs that failed** (see the bench's stderr): ${failed.join(', ')}.`);
    out.push('');
  }
  out.push(`Machine: ${machineLine()}.`);
  out.push('');
  const set = Object.keys(CLOSED_LOOP_SETTINGS)
    .filter((k) => process.env[`CLOSED_LOOP_${k}`] ?? flags[`CLOSED_LOOP_${k}`])
    .map((k) => `CLOSED_LOOP_${k}=${process.env[`CLOSED_LOOP_${k}`] ?? flags[`CLOSED_LOOP_${k}`]}`);
  out.push(
    `Command: \`${[...set, 'pnpm bench closed-loop'].join(' ')}\` (seeds ${plan.seeds.join(', ')}).`,
  );
  process.stdout.write(`${out.join('\n')}\n`);
}

main().catch((e: unknown) => {
  log(e instanceof Error ? (e.stack ?? e.message) : String(e));
  process.exit(1);
});
