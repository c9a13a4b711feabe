import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type EnrichedOffender } from '@sluice/contracts';
import { createRedis, type Redis } from '@sluice/redis';
import { repoRoot, testRedisConfig, uniqueName } from '@sluice/testing';
import { Enricher } from '../../src/core/enricher';
import { countrySourceOf, MmdbFile } from '../../src/data/mmdb-file';
import { loadPackagedAsnTable, packagedDataPaths } from '../../src/data/packaged-data';
import { ReportRepository } from '../../src/report/report.repository';

const run = promisify(execFile);
const T0 = Date.UTC(2026, 10, 24, 8, 0, 0);

/** `sluice report` (the built CLI, as an operator runs it) over aggregates in real Redis. */
describe('sluice report', () => {
  const cli = join(repoRoot, 'apps/cli/dist/main.js');
  const config = testRedisConfig();
  let redis: Redis;
  const alertId = uniqueName('cli-alert');

  beforeAll(async () => {
    if (!existsSync(cli)) throw new Error(`${cli} is missing: run pnpm build first`);
    redis = createRedis(config);
    await redis.connect();
    const enricher = new Enricher({
      asn: loadPackagedAsnTable(),
      country: countrySourceOf(MmdbFile.open(packagedDataPaths().countryMmdb)),
    });
    const repo = new ReportRepository(redis, {
      bucketSeconds: 60,
      retentionDays: 1,
      evidencePerResolver: 2,
      maxRows: 1_000_000,
    });
    await repo.saveDataSources(enricher.attributions);
    // 10 windows; the four Mirai defaults carry 24% between them, like the seed's sample
    const load: Array<[string, number]> = [
      ['8.8.8.8', 6],
      ['74.82.42.42', 6],
      ['64.6.64.6', 6],
      ['4.2.2.2', 6],
      ['81.2.69.160', 40],
      ['200.160.2.3', 26],
      ['77.88.8.8', 10],
    ];
    const offenders: EnrichedOffender[] = [];
    for (let w = 0; w < 10; w++)
      for (const [ip, q] of load) {
        const ws = T0 + w * 10_000;
        offenders.push({
          v: 1,
          zone: 'cli.example',
          resolver: ip,
          windowStart: ws,
          windowEnd: ws + 10_000,
          attackQueries: q,
          totalQueries: q,
          alertId,
          evidence: [{ ts: ws + 1, resolver: ip, qname: `q${w}bcdefgh0123.cli.example` }],
          enrichment: enricher.enrich(ip),
        });
      }
    await repo.record(offenders);
    await repo.saveAlert({
      v: 1,
      alertId,
      zone: 'cli.example',
      phase: 'ended',
      severity: 'critical',
      onset: T0,
      at: T0 + 100_000,
      endedAt: T0 + 100_000,
      qps: 100,
      baselineQps: 1,
      uniqueRate: 100,
      neverSeenRate: 1,
      randomShare: 1,
      nxdomainShare: 1,
      meanEntropy: 3.5,
      sampleNames: [],
      evidence: [],
      topResolvers: [],
      fingerprint: {
        labelLengths: {},
        alphabet: '',
        labelsPerName: {},
        generator: 'mirai',
        qtypes: {},
      },
    });
  });

  afterAll(async () => {
    const keys = (await redis.keys(`${config.keyPrefix}*`)).map((k) =>
      k.slice(config.keyPrefix.length),
    );
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  });

  const sluice = (...args: string[]) =>
    run('node', [cli, 'report', ...args], {
      env: { ...process.env, REDIS_URL: config.url, REDIS_KEY_PREFIX: config.keyPrefix },
    });

  it('prints the country table as CSV, adding up to 100%', async () => {
    const { stdout } = await sluice('--alert', alertId, '-f', 'csv', '-s', 'countries');
    const rows = stdout.trim().split('\n');
    expect(rows[0]).toBe('country,prefixes,asns,resolvers,attack_queries,share_pct');
    expect(rows.slice(1)).toEqual([
      'GB,1,1,1,400,40.00',
      'BR,1,1,1,260,26.00',
      'US,4,4,4,240,24.00',
      'RU,1,1,1,100,10.00',
    ]);
  });

  it('calls out the Mirai defaults in the ASN tables', async () => {
    const { stdout } = await sluice('--alert', alertId, '-f', 'text', '-s', 'asns');
    expect(stdout).toMatch(
      /Mirai's default resolvers \(8\.8\.8\.8, 74\.82\.42\.42, 64\.6\.64\.6, 4\.2\.2\.2\)\s+4\s+240\s+24\.00/,
    );
    expect(stdout).toMatch(
      /AS15169\s+Google LLC\s+US\s+1\s+1\s+6\.00\s+Mirai default: Google Public DNS/,
    );
    expect(stdout).toContain('IP Geolocation by DB-IP');
  });

  it('reports a zone and time range, as JSON and as an SVG chart', async () => {
    const { stdout } = await sluice(
      '--zone',
      'cli.example',
      '--from',
      new Date(T0).toISOString(),
      '--to',
      String(T0 + 100_000),
      '-f',
      'json',
    );
    const report = JSON.parse(stdout) as {
      totals: { attackQueries: number };
      qps: { p50: number };
    };
    expect(report.totals.attackQueries).toBe(1_000);
    expect(report.qps.p50).toBe(0.6);
    const svg = await sluice('--alert', alertId, '-f', 'svg', '-c', 'countries');
    expect(svg.stdout).toMatch(/^<svg[^>]*>.*GB.*40\.00%.*<\/svg>\n$/s);
  });

  it('lists the alerts of a zone and prints the alert in the header', async () => {
    expect((await sluice('--zone', 'cli.example', '--list-alerts')).stdout).toBe(`${alertId}\n`);
    const { stdout } = await sluice('--alert', alertId, '-s', 'countries');
    expect(stdout).toContain(`Attack report: alert ${alertId} on cli.example`);
    expect(stdout).toContain('severity critical, phase ended, generator mirai');
    expect(stdout).toMatch(/│ GB\s+│ 1\s+│ 1\s+│ 1\s+│ 40\.00\s+│/);
  });

  it("gives one network's abuse desk only its own evidence, as CSV and JSON", async () => {
    const csv = (
      await sluice('--alert', alertId, '-f', 'csv', '-s', 'evidence', '--asn', 'AS15169')
    ).stdout
      .trim()
      .split('\n');
    expect(csv[0]).toBe(
      'asn,org,country,resolver,time_utc,qname,resolver_first_seen_utc,resolver_last_seen_utc,resolver_attack_queries,resolver_total_queries',
    );
    // two samples kept per resolver (REPORT_EVIDENCE_PER_RESOLVER in the repository above)
    expect(csv.slice(1)).toEqual([
      '15169,Google LLC,US,8.8.8.8,2026-11-24T08:00:00.001Z,q0bcdefgh0123.cli.example,2026-11-24T08:00:00.000Z,2026-11-24T08:01:40.000Z,60,60',
      '15169,Google LLC,US,8.8.8.8,2026-11-24T08:00:10.001Z,q1bcdefgh0123.cli.example,2026-11-24T08:00:00.000Z,2026-11-24T08:01:40.000Z,60,60',
    ]);
    const json = JSON.parse(
      (await sluice('--alert', alertId, '-f', 'json', '-s', 'evidence', '--asn', '3356')).stdout,
    ) as {
      evidence: Array<{ asn: number; resolvers: Array<{ resolver: string; samples: unknown[] }> }>;
      alert: { alertId: string };
    };
    expect(json.alert.alertId).toBe(alertId);
    expect(json.evidence).toHaveLength(1);
    expect(json.evidence[0]).toMatchObject({ asn: 3356, resolvers: [{ resolver: '4.2.2.2' }] });
    expect(json.evidence[0]!.resolvers[0]!.samples).toHaveLength(2);
  });

  it('fails with a clear message for an unknown alert', async () => {
    await expect(sluice('--alert', 'no-such-alert')).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining(
        'SLUICE_NOT_FOUND: no report data for alert no-such-alert',
      ) as unknown,
    });
  });
});
