import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '@sluice/testing';
import {
  comparisonTable,
  runClosedLoop,
  timelineTable,
  type ClosedLoopResult,
} from '@sluice/closed-loop';

/**
 * The closed loop, short: real NSD behind a real dnsdist that is both the sensor (dnstap into the
 * ingest) and the enforcer (Sluice's CDB files), the four Sluice services as processes on the real
 * broker and Redis, ~2,000 resolvers on their own 127.x addresses sending legitimate traffic, then
 * random-subdomain floods on two zones, 80 % of them through the resolvers that carry the users. The
 * zone guard transfers the zones from NSD (TSIG AXFR), as the README recommends.
 * Asserts the shape with generous margins; `pnpm bench closed-loop` records the figures.
 */
const missing = ['nsd', 'dnsdist'].filter((bin) => {
  try {
    execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' });
    return false;
  } catch {
    return true;
  }
});
const suite = missing.length === 0 ? describe : describe.skip;
if (missing.length > 0)
  process.stderr.write(
    `closed-loop e2e SKIPPED: ${missing.join(', ')} not installed (Debian: apt-get install nsd dnsdist)\n`,
  );

suite(
  `closed loop on real nameservers${missing.length ? ` (skipped: no ${missing.join(', ')})` : ''}`,
  () => {
    let result: ClosedLoopResult;
    const report = () =>
      `\n${comparisonTable([result])}\n\nper second around onset:\n${timelineTable(result, -2, 30)}\n\noutcomes: ${JSON.stringify(result.measurements.outcomes)}`;
    const check = (ok: boolean, what: string) => {
      if (!ok) throw new Error(`${what}${report()}`);
    };

    beforeAll(async () => {
      for (const svc of ['ingest', 'detector', 'enrichment', 'reputation'])
        if (!existsSync(join(repoRoot, 'services', svc, 'dist', 'main.js')))
          throw new Error(`services/${svc}/dist/main.js is missing: run pnpm build first`);
      result = await runClosedLoop({
        // The recommended deployment: the guard also has each zone's own data (AXFR from NSD),
        // so real names the traffic had not taught it are answered. Traffic-only learning leaves
        // the long tail refused (~9 % of the attacked zone's legitimate queries during the
        // attack in `pnpm bench closed-loop`), which this test's margin would not pass.
        variant: 'sluice-dnsdist-axfr',
        seed: 11,
        root: repoRoot,
        kafkaBrokers: process.env.KAFKA_BROKERS!,
        redisUrl: process.env.REDIS_URL!,
        zoneSizes: [1500, 800, 300, 100],
        timeoutMs: 2000,
        traffic: {
          // Two zones at once, most of the flood through the users' own resolvers: a resolver
          // that offends in two zones is scored for an outright (every-zone) block (opted in
          // below), which must spare the ISP resolvers whose users' queries the flood rides
          // along with. (With the policy testing only each record for users' queries, 9 of them
          // were dropped outright here and the last test failed.)
          attacked: [1, 2],
          legitQps: 400,
          floodMultiplier: 12,
          floodSharedShare: 0.8,
          floodMiraiShare: 0.3,
          ispResolvers: 1600,
          publicResolvers: 8,
          botResolvers: 400,
          // The detector learns a zone's baseline for 30 s (DETECTOR_WARMUP_TICKS).
          warmupMs: 45_000,
          floodMs: 45_000,
          tailMs: 10_000,
        },
        // Off by default; on, its safeguards are what this run tests.
        extraEnv: { reputation: { BLOCK_OUTRIGHT_RESOLVERS: 'true' } },
        progress: (line) => process.stderr.write(`closed-loop: ${line}\n`),
      });
    }, 290_000);

    it('ran the loop: traffic answered before the flood, the detector saw the flood', () => {
      const m = result.measurements;
      check(m.legitQueries > 20_000 && m.floodQueries > 5_000, 'too few queries were sent');
      check(
        (m.legitBeforeOnset.pct ?? 100) <= 1,
        'more than 1 % of legitimate queries were lost before the flood (load alone)',
      );
      check(
        result.alertS !== null && result.alertS <= 20,
        'no `started` alert for the attacked zone within 20 s of onset',
      );
    });

    it('stops most of the flood once mitigation starts', () => {
      const m = result.measurements;
      check(m.mitigationLatencyS !== null, 'no flood query was ever stopped');
      check(
        (m.floodStoppedAfterMitigation.pct ?? 0) >= 70,
        'less than 70 % of the flood was stopped after mitigation started',
      );
    });

    it('keeps answering legitimate users, on the attacked zone and on the others', () => {
      const m = result.measurements;
      check(
        (m.legitAttackedZoneOverall.pct ?? 100) <= 3,
        "more than 3 % of legitimate queries to the attacked zone did not get the authoritative's answer (refused, dropped, rewritten)",
      );
      check(
        (m.legitOtherZones.pct ?? 100) <= 1,
        'more than 1 % of legitimate queries to other zones were refused or dropped',
      );
    });

    it('never refuses a whole zone to a public resolver, never blocks a network with users outright', () => {
      const b = result.blocklist!;
      check(
        b.publicWholeZone.length === 0,
        `blocklist refuses a whole zone to public resolvers: ${JSON.stringify(b.publicWholeZone)}`,
      );
      check(
        result.measurements.publicZoneRefusals.length === 0,
        `public resolvers lost most of the attacked zone: ${JSON.stringify(result.measurements.publicZoneRefusals)}`,
      );
      check(
        b.outrightOverLegit.length === 0,
        `outright blocks over networks with legitimate traffic: ${JSON.stringify(b.outrightOverLegit)}`,
      );
    });
  },
);
