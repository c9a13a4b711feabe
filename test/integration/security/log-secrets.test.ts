import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '@sluice/closed-loop';
import { type Kafka } from '@sluice/kafka';
import { createTestTopics, repoRoot, testKafka, uniqueName, waitFor } from '@sluice/testing';

const run = promisify(execFile);
jest.setTimeout(120_000);

/**
 * Issue 14, Security: no API key and no TSIG secret in any log line. The reputation and
 * enrichment services run as real processes (dist/main.js, LOG_LEVEL=trace) with known secrets;
 * they are used as clients would (feed, report, AXFR with the key), attacked (wrong and
 * near-miss keys, keys in the URL, unsigned and badly signed transfers, a failing zone transfer
 * with the key), stopped, and started with bad settings that contain the secrets. Every byte
 * they write to stdout and stderr is searched for each secret, its base64 and its hex.
 */
const FEED_KEY = `feed-${randomBytes(12).toString('hex')}`;
const REPORT_KEY = `report-${randomBytes(12).toString('hex')}`;
const TSIG_BYTES = randomBytes(32);
const TSIG_SECRET = TSIG_BYTES.toString('base64');

/** Each secret as it could appear: as is, base64, hex, and the TSIG key's raw bytes as hex. */
const forms = (): Array<[string, string]> => {
  const out: Array<[string, string]> = [];
  for (const [name, s] of [
    ['feed key', FEED_KEY],
    ['report key', REPORT_KEY],
    ['TSIG secret', TSIG_SECRET],
  ] as const) {
    out.push([name, s]);
    out.push([`${name} (base64)`, Buffer.from(s).toString('base64')]);
    out.push([`${name} (base64url)`, Buffer.from(s).toString('base64url')]);
    out.push([`${name} (hex)`, Buffer.from(s).toString('hex')]);
  }
  out.push(['TSIG key bytes (hex)', TSIG_BYTES.toString('hex')]);
  out.push(['TSIG key bytes (base64url)', TSIG_BYTES.toString('base64url')]);
  return out;
};

interface Proc {
  proc: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

function start(service: 'reputation' | 'enrichment', env: Record<string, string>): Proc {
  const proc = spawn('node', [join(repoRoot, 'services', service, 'dist', 'main.js')], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString('latin1')));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString('latin1')));
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  return { proc, output: () => out, exited };
}

async function get(url: string, headers: Record<string, string> = {}): Promise<number> {
  return (await fetch(url, { headers })).status;
}

const dig = (port: number, ...args: string[]) =>
  run('dig', ['-p', String(port), '@127.0.0.1', '+tries=1', '+time=3', ...args]).then(
    (r) => r.stdout,
    (e: { stdout?: string }) => e.stdout ?? '',
  );

describe('secrets never reach a log line', () => {
  let kafka: Kafka;
  const procs: Proc[] = [];

  beforeAll(() => {
    kafka = testKafka('log-secrets');
  });

  afterAll(async () => {
    for (const p of procs) if (p.proc.exitCode === null) p.proc.kill('SIGKILL');
  });

  it('in normal use, under attack, at shutdown and on bad settings', async () => {
    const topics = await createTestTopics(
      kafka,
      ['ls-off', 'ls-alerts', 'ls-enr', 'ls-dead', 'ls-block', 'ls-known'],
      { partitions: 1 },
    );
    const [offenders, alerts, enriched, dead, blocklist, known] = topics;
    const common = {
      KAFKA_BROKERS: process.env.KAFKA_BROKERS!,
      REDIS_URL: process.env.REDIS_URL!,
      KAFKA_TOPIC_PARTITIONS: '1',
      HTTP_HOST: '127.0.0.1',
      LOG_LEVEL: 'trace',
    };
    const [repHttp, rpzPort, enrHttp, deadPrimary] = await Promise.all([
      freePort(),
      freePort(),
      freePort(),
      freePort(),
    ]);
    // A secondary that never answers: NOTIFY is retried (signed) while the test runs.
    const secondary = createSocket('udp4');
    await new Promise<void>((r) => secondary.bind(0, '127.0.0.1', r));
    const reputationEnv = {
      ...common,
      HTTP_PORT: String(repHttp),
      REDIS_KEY_PREFIX: `${uniqueName('ls-rep')}:`,
      REPUTATION_GROUP_ID: uniqueName('ls-rep'),
      REPUTATION_INPUT_TOPIC: enriched,
      REPUTATION_OUTPUT_TOPIC: blocklist,
      REPUTATION_DEADLETTER_TOPIC: dead,
      REPUTATION_ALERTS_TOPIC: alerts,
      REPUTATION_KNOWN_NAMES_TOPIC: known,
      FEED_API_KEYS: `other-client-key-0000,${FEED_KEY}`,
      RPZ_PORT: String(rpzPort),
      RPZ_TSIG_KEYS: `sluice-xfr:${TSIG_SECRET}`,
      RPZ_NOTIFY: `127.0.0.1:${secondary.address().port}`,
      // A zone transfer that fails, signed with the key, re-tried every second.
      GUARD_ZONE_AXFR: `victim.test=127.0.0.1:${deadPrimary}@sluice-xfr`,
      GUARD_ZONE_REFRESH_MS: '1000',
    };
    const reputation = start('reputation', reputationEnv);
    const enrichment = start('enrichment', {
      ...common,
      HTTP_PORT: String(enrHttp),
      REDIS_KEY_PREFIX: `${uniqueName('ls-enr')}:`,
      ENRICH_CONSUMER_GROUP: uniqueName('ls-enr'),
      ENRICH_OFFENDERS_TOPIC: offenders,
      ENRICH_ALERTS_TOPIC: alerts,
      ENRICH_OUTPUT_TOPIC: enriched,
      ENRICH_DEADLETTER_TOPIC: dead,
      REPORT_API_KEYS: REPORT_KEY,
    });
    procs.push(reputation, enrichment);
    // A failure shows what the services said.
    const said = () =>
      `--- reputation ---\n${reputation.output().slice(-3000)}\n--- enrichment ---\n${enrichment.output().slice(-3000)}`;
    try {
      const rep = `http://127.0.0.1:${repHttp}`;
      const enr = `http://127.0.0.1:${enrHttp}`;
      await waitFor(
        async () => ((await get(`${rep}/healthz`).catch(() => 0)) === 200 ? true : undefined),
        60_000,
        'reputation /healthz',
      );
      await waitFor(
        async () => ((await get(`${enr}/healthz`).catch(() => 0)) === 200 ? true : undefined),
        60_000,
        'enrichment /healthz',
      );

      // Normal use.
      expect(await get(`${rep}/v1/decisions/stream?startup=true`, { 'X-Api-Key': FEED_KEY })).toBe(
        200,
      );
      expect(await get(`${rep}/v1/blocklist?format=rpz`, { 'X-Api-Key': FEED_KEY })).toBe(200);
      expect(await get(`${enr}/report?alert=nope`, { 'X-Api-Key': REPORT_KEY })).toBe(404);
      expect(await get(`${enr}/report/alerts?zone=victim.test`, { 'X-Api-Key': REPORT_KEY })).toBe(
        200,
      );
      const axfr = await dig(
        rpzPort,
        '-y',
        `hmac-sha256:sluice-xfr:${TSIG_SECRET}`,
        'rpz.sluice',
        'AXFR',
      );
      expect(axfr).toMatch(/XFR size: 3 records/);

      // Wrong and near-miss keys, keys where they do not belong.
      for (const [url, key] of [
        [rep, FEED_KEY],
        [enr, REPORT_KEY],
      ] as const) {
        const path = url === rep ? '/v1/blocklist' : '/report/alerts?zone=victim.test';
        expect(await get(`${url}${path}`, { 'X-Api-Key': `${key}x` })).toBe(403);
        expect(await get(`${url}${path}`, { 'X-Api-Key': key.slice(1) })).toBe(403);
        expect(await get(`${url}${path}`, { Authorization: `Bearer ${key}` })).toBe(401);
        expect(await get(`${url}${path}${path.includes('?') ? '&' : '?'}api_key=${key}`)).toBe(401);
        expect(await get(`${url}/nope/${key}`, { 'X-Api-Key': 'wrong-key-0000000000' })).toBe(403);
      }
      // Unsigned, wrongly signed, unknown key, and a hostile request on the RPZ port.
      await dig(rpzPort, 'rpz.sluice', 'AXFR');
      await dig(
        rpzPort,
        '-y',
        `hmac-sha256:sluice-xfr:${randomBytes(32).toString('base64')}`,
        'rpz.sluice',
        'SOA',
      );
      await dig(rpzPort, '-y', `hmac-sha256:intruder:${TSIG_SECRET}`, 'rpz.sluice', 'SOA');
      const garbage = createSocket('udp4');
      await new Promise<void>((r) =>
        garbage.send(randomBytes(300), rpzPort, '127.0.0.1', () => r()),
      );
      garbage.close();
      // Let the guard's failing AXFR and NOTIFY retries log a few times.
      await waitFor(
        () => (/victim\.test/.test(reputation.output()) ? true : undefined),
        30_000,
        'a guard zone transfer log line',
      );

      reputation.proc.kill('SIGTERM');
      enrichment.proc.kill('SIGTERM');
      await Promise.all([reputation.exited, enrichment.exited]);
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${said()}`);
    } finally {
      secondary.close();
    }

    // Bad settings that carry the secrets: the process stops naming the setting.
    const bad: Array<[string, 'reputation' | 'enrichment', Record<string, string>]> = [
      ['FEED_API_KEYS', 'reputation', { ...reputationEnv, FEED_API_KEYS: `short,${FEED_KEY}` }],
      [
        'RPZ_TSIG_KEYS',
        'reputation',
        { ...reputationEnv, RPZ_TSIG_KEYS: `sluice-xfr:${TSIG_SECRET}!,x:${TSIG_SECRET}` },
      ],
      [
        'GUARD_ZONE_AXFR',
        'reputation',
        { ...reputationEnv, GUARD_ZONE_AXFR: `victim.test=127.0.0.1:53@nokey` },
      ],
      [
        'REPORT_API_KEYS',
        'enrichment',
        { ...common, HTTP_PORT: '0', REPORT_API_KEYS: `${REPORT_KEY} spaced,${REPORT_KEY}` },
      ],
    ];
    const failures: string[] = [];
    for (const [setting, service, env] of bad) {
      const p = start(service, env);
      procs.push(p);
      expect(await p.exited).toBe(1);
      expect(p.output()).toContain(`${setting}:`);
      failures.push(p.output());
    }

    const everything = [reputation.output(), enrichment.output(), ...failures].join('\n');
    // The logs are there (so the search below can fail): requests, transfers, shutdown, errors.
    expect(everything).toMatch(/"level"/);
    expect(everything.split('\n').length).toBeGreaterThan(20);
    const found = forms()
      .filter(([, text]) => everything.includes(text))
      .map(([name]) => name);
    expect(found).toEqual([]);
  });
});
