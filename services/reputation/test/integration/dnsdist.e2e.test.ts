import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  alertSchema,
  encodeMessage,
  enrichedOffenderSchema,
  knownNamesSchema,
  type Alert,
  type EnrichedOffender,
} from '@sluice/contracts';
import { type BatchingProducer, type Kafka } from '@sluice/kafka';
import { createTestTopics, testKafka, waitFor } from '@sluice/testing';
import { dnsdistConfigLua } from '../../src/core/dnsdist-kv';
import { alertMessage, knownNames, offender } from '../fixtures/offenders';
import { dig, freePort, spawnDaemon, type Spawned } from './nameservers';
import { serviceConfig, serviceTopics, startService, type RunningService } from './service.helpers';

/**
 * A real dnsdist (Debian) in front of an authoritative BIND. Sluice keeps two CDB files that
 * dnsdist re-reads: zone guards (key-value lookups and tag rules, no Lua) and per-client entries
 * (client address looked up, the (resolver, zone) action applied in Lua).
 */
describe('dnsdist enforcing Sluice blocks from a CDB file (end to end)', () => {
  let dir: string;
  let auth: Spawned;
  let dnsdist: Spawned;
  let dnsdistPort: number;
  let svc: RunningService;
  let kafka: Kafka;
  let producer: BatchingProducer;
  let input: string;
  let alerts: string;
  let names: string;

  const ask = (source: string, name: string) =>
    dig({ server: '127.0.0.1', port: dnsdistPort, source, name });
  const announce = async (alert: Alert, known: string[] | null) => {
    if (known)
      await producer.send(names, [
        {
          key: alert.zone,
          value: encodeMessage(knownNamesSchema, knownNames(alert, known)),
        },
      ]);
    await producer.send(alerts, [{ key: alert.zone, value: encodeMessage(alertSchema, alert) }]);
    await producer.flush();
  };
  const publish = async (records: EnrichedOffender[]) => {
    await producer.send(
      input,
      records.map((r) => ({ key: r.zone, value: encodeMessage(enrichedOffenderSchema, r) })),
    );
    await producer.flush();
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-dnsdist-'));
    const authPort = await freePort();
    dnsdistPort = await freePort();
    const cdb = join(dir, 'sluice.cdb');
    kafka = testKafka('reputation-dnsdist');
    let output: string;
    ({ input, output, producer } = await serviceTopics(kafka, 'rep-dd'));
    [alerts, names] = await createTestTopics(kafka, ['rep-dd-alerts', 'rep-dd-names'], {
      partitions: 1,
    });
    svc = await startService(
      serviceConfig({
        REPUTATION_INPUT_TOPIC: input,
        REPUTATION_OUTPUT_TOPIC: output,
        REPUTATION_ALERTS_TOPIC: alerts,
        REPUTATION_KNOWN_NAMES_TOPIC: names,
        GUARD_HOLD_MS: '3000',
        ALLOWLIST_ZONES: 'rum.third.test',
        RPZ_ENABLED: 'false',
        DNSDIST_CDB_PATH: cdb,
        BLOCK_ACTION_RESOLVER_ZONE: 'refused',
        BLOCK_ACTION_RESOLVER: 'drop',
        BLOCK_OUTRIGHT_RESOLVERS: 'true',
        BLOCK_TTL_MS: '8000',
        BLOCK_SWEEP_MS: '250',
      }),
    );
    const zones = ['victim.test', 'other.test', 'third.test'];
    for (const z of zones)
      writeFileSync(
        join(dir, `${z}.zone`),
        `$TTL 60\n@ SOA ns.${z}. hostmaster.${z}. 1 60 30 86400 60\n@ NS ns.${z}.\nns A 127.0.0.1\nwww A 192.0.2.80\napi A 192.0.2.81\n*.rum A 192.0.2.82\n`,
      );
    writeFileSync(
      join(dir, 'named.conf'),
      `options { directory "${dir}"; pid-file "${join(dir, 'named.pid')}"; session-keyfile "${join(dir, 'session.key')}"; managed-keys-directory "${dir}"; listen-on port ${authPort} { 127.0.0.1; }; listen-on-v6 { none; }; recursion no; notify no; };
controls { };
${zones.map((z) => `zone "${z}" { type primary; file "${join(dir, `${z}.zone`)}"; };`).join('\n')}
`,
    );
    auth = spawnDaemon('named', ['-g', '-c', join(dir, 'named.conf')]);
    writeFileSync(
      join(dir, 'dnsdist.conf'),
      `setLocal("127.0.0.1:${dnsdistPort}")
setACL({"127.0.0.0/8"})
newServer({address="127.0.0.1:${authPort}", checkName="www.victim.test.", checkInterval=1})
${dnsdistConfigLua({ clientsCdbPath: cdb, guardCdbPath: join(dir, 'sluice-guard.cdb'), v4: [24], v6: [48] })}`,
    );
    dnsdist = spawnDaemon('dnsdist', [
      '--supervised',
      '--disable-syslog',
      '-C',
      join(dir, 'dnsdist.conf'),
    ]);
    await waitFor(
      async () =>
        (await ask('127.0.0.3', 'www.victim.test')).status === 'NOERROR' ? true : undefined,
      30_000,
      `dnsdist to answer (dnsdist: ${dnsdist.log().slice(-2000)} auth: ${auth.log().slice(-1000)})`,
    );
  }, 120_000);

  afterAll(async () => {
    await dnsdist?.stop();
    await auth?.stop();
    await svc?.close();
    await producer?.disconnect();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('refuses a blocked resolver for the attacked zone, drops an outright-blocked one, spares the rest, reverts after expiry', async () => {
    expect((await ask('127.0.0.2', 'www.victim.test')).status).toBe('NOERROR');
    await publish([
      // 127.0.0.2 floods victim.test only → a (resolver, zone) block.
      offender({
        resolver: '127.0.0.2',
        zone: 'victim.test',
        attack: 5000,
        total: 5100,
        prefix: '127.0.0.0/24',
      }),
      // 127.0.0.4 floods two zones → also an outright resolver block (drop).
      offender({
        resolver: '127.0.0.4',
        zone: 'victim.test',
        attack: 5000,
        total: 5000,
        prefix: '127.0.0.0/24',
      }),
      offender({
        resolver: '127.0.0.4',
        zone: 'other.test',
        attack: 5000,
        total: 5000,
        prefix: '127.0.0.0/24',
      }),
    ]);
    await waitFor(
      async () =>
        (await ask('127.0.0.2', 'www.victim.test')).status === 'REFUSED' ? true : undefined,
      30_000,
      `REFUSED (pipeline: ${JSON.stringify(svc.runtime.pipeline.stats)}; dnsdist: ${dnsdist.log().slice(-2000)})`,
    );
    // Other zones from the blocked resolver, and the attacked zone from another resolver, still answer.
    const other = await ask('127.0.0.2', 'www.other.test');
    expect(other.status).toBe('NOERROR');
    expect(other.answers.join()).toContain('192.0.2.80');
    const bystander = await ask('127.0.0.3', 'www.victim.test');
    expect(bystander.status).toBe('NOERROR');
    expect(bystander.answers.join()).toContain('192.0.2.80');
    // The outright block: zone-specific rule first (refused), anything else dropped (no answer).
    // (Its records may reach dnsdist one CDB write later than 127.0.0.2's.)
    await waitFor(
      async () =>
        (await ask('127.0.0.4', 'www.victim.test')).status === 'REFUSED' ? true : undefined,
      30_000,
      `REFUSED for 127.0.0.4 (dnsdist: ${dnsdist.log().slice(-2000)})`,
    );
    expect((await ask('127.0.0.4', 'www.third.test')).timedOut).toBe(true);
    // No new evidence: entries expire, the CDB is rewritten, dnsdist reloads it.
    await waitFor(
      async () =>
        (await ask('127.0.0.2', 'www.victim.test')).status === 'NOERROR' ? true : undefined,
      40_000,
      'revert',
    );
    await waitFor(
      async () =>
        (await ask('127.0.0.4', 'www.third.test')).status === 'NOERROR' ? true : undefined,
      40_000,
      'revert of the outright block',
    );
  }, 120_000);

  it('zone guard: answers the names the zone has, refuses the rest for every client, lifts after the hold', async () => {
    const started = alertMessage({ zone: 'third.test', phase: 'started', excessQps: 2000 });
    // Before the guard: a random name reaches the authoritative (NXDOMAIN).
    expect((await ask('127.0.0.5', 'k3j4h5g6f7d8.third.test')).status).toBe('NXDOMAIN');
    await announce(started, ['third.test', 'www.third.test', 'ns.third.test']);
    await waitFor(
      async () =>
        (await ask('127.0.0.5', 'k3j4h5g6f7d8.third.test')).status === 'REFUSED' ? true : undefined,
      30_000,
      `the guard (pipeline: ${JSON.stringify(svc.runtime.pipeline.stats)}; dnsdist: ${dnsdist.log().slice(-2000)})`,
    );
    // Known names answered for everyone, public-resolver stand-ins included; deeper random
    // labels under a known name refused; other zones untouched; allowlisted subtree passes.
    for (const source of ['127.0.0.5', '127.0.0.6', '127.0.0.7']) {
      const www = await ask(source, 'www.third.test');
      expect(www.status).toBe('NOERROR');
      expect(www.answers.join()).toContain('192.0.2.80');
      expect((await ask(source, 'q0w9e8r7t6y5.third.test')).status).toBe('REFUSED');
    }
    expect((await ask('127.0.0.6', 'x7c6v5b4n3m2.www.third.test')).status).toBe('REFUSED');
    // A real name the traffic never established is refused too (the guard's known cost).
    expect((await ask('127.0.0.6', 'api.third.test')).status).toBe('REFUSED');
    expect((await ask('127.0.0.6', 'www.other.test')).status).toBe('NOERROR');
    expect((await ask('127.0.0.6', 'beacon-8f7e6d.rum.third.test')).status).toBe('NOERROR');
    // The alert ends: the guard holds GUARD_HOLD_MS, then lifts.
    await announce({ ...started, phase: 'ended', at: Date.now(), endedAt: Date.now() }, null);
    await waitFor(
      async () =>
        (await ask('127.0.0.5', 'k3j4h5g6f7d8.third.test')).status === 'NXDOMAIN'
          ? true
          : undefined,
      30_000,
      'the guard to lift after the hold',
    );
  }, 120_000);
});
