import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  alertSchema,
  encodeMessage,
  enrichedOffenderSchema,
  knownNamesSchema,
} from '@sluice/contracts';
import { type BatchingProducer, type Kafka } from '@sluice/kafka';
import { createTestTopics, testKafka, waitFor } from '@sluice/testing';
import { alertMessage, knownNames, offender } from '../fixtures/offenders';
import { dig, freePort, spawnDaemon, type Spawned } from './nameservers';
import { serviceConfig, serviceTopics, startService, type RunningService } from './service.helpers';

/**
 * A real BIND 9 (Debian) as RPZ secondary of Sluice's policy zones over TSIG-signed AXFR/IXFR
 * with NOTIFY. BIND is authoritative for victim.test and other.test with recursion on, so RPZ
 * applies; 127.0.0.2 plays the offending resolver, 127.0.0.3 a well-behaved one.
 */
describe('BIND 9 as RPZ secondary (end to end)', () => {
  const secret = Buffer.from('sluice-e2e-tsig-secret-0123456789').toString('base64');
  let dir: string;
  let bind: Spawned;
  let bindPort: number;
  let svc: RunningService;
  let kafka: Kafka;
  let producer: BatchingProducer;
  let input: string;
  let alerts: string;
  let names: string;

  const ask = (source: string, name: string) =>
    dig({ server: '127.0.0.1', port: bindPort, source, name });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-bind-'));
    bindPort = await freePort();
    kafka = testKafka('reputation-bind');
    let output: string;
    ({ input, output, producer } = await serviceTopics(kafka, 'rep-bind'));
    [alerts, names] = await createTestTopics(kafka, ['rep-bind-alerts', 'rep-bind-names'], {
      partitions: 1,
    });
    svc = await startService(
      serviceConfig({
        REPUTATION_INPUT_TOPIC: input,
        REPUTATION_OUTPUT_TOPIC: output,
        REPUTATION_ALERTS_TOPIC: alerts,
        REPUTATION_KNOWN_NAMES_TOPIC: names,
        GUARD_ACTION: 'nxdomain',
        GUARD_HOLD_MS: '3000',
        RPZ_NOTIFY: `127.0.0.1:${bindPort}`,
        RPZ_TSIG_KEYS: `sluice-xfr:${secret}`,
        BLOCK_ACTION_RESOLVER_ZONE: 'nxdomain',
        BLOCK_TTL_MS: '8000',
        BLOCK_SWEEP_MS: '250',
      }),
    );
    const rpzPort = svc.runtime.rpzPort;
    const zone = (name: string) =>
      `$TTL 60\n@ SOA ns.${name}. hostmaster.${name}. 1 60 30 86400 60\n@ NS ns.${name}.\nns A 127.0.0.1\nwww A 192.0.2.80\napi A 192.0.2.81\n`;
    for (const z of ['victim.test', 'other.test', 'guarded.test'])
      writeFileSync(join(dir, `${z}.zone`), zone(z));
    const secondary = (name: string) => `zone "${name}" {
  type secondary;
  primaries port ${rpzPort} { 127.0.0.1 key sluice-xfr; };
  file "${join(dir, `${name}.db`)}";
  allow-notify { 127.0.0.1; };
};`;
    writeFileSync(
      join(dir, 'named.conf'),
      `key "sluice-xfr" { algorithm hmac-sha256; secret "${secret}"; };
options {
  directory "${dir}";
  pid-file "${join(dir, 'named.pid')}";
  session-keyfile "${join(dir, 'session.key')}";
  managed-keys-directory "${dir}";
  listen-on port ${bindPort} { 127.0.0.1; };
  listen-on-v6 { none; };
  recursion yes;
  allow-recursion { 127.0.0.0/8; };
  dnssec-validation no;
  notify no;
  response-policy {
    zone "victim.test.rpz.sluice" min-update-interval 0;
    zone "guarded.test.rpz.sluice" min-update-interval 0;
    zone "rpz.sluice" min-update-interval 0;
  } recursive-only no qname-wait-recurse no;
};
controls { };
zone "victim.test" { type primary; file "${join(dir, 'victim.test.zone')}"; };
zone "other.test" { type primary; file "${join(dir, 'other.test.zone')}"; };
zone "guarded.test" { type primary; file "${join(dir, 'guarded.test.zone')}"; };
${secondary('victim.test.rpz.sluice')}
${secondary('guarded.test.rpz.sluice')}
${secondary('rpz.sluice')}
`,
    );
    bind = spawnDaemon('named', ['-g', '-c', join(dir, 'named.conf')]);
    await waitFor(
      async () =>
        (await ask('127.0.0.3', 'www.victim.test')).status === 'NOERROR' ? true : undefined,
      30_000,
      `BIND to answer (log: ${bind.log().slice(-2000)})`,
    );
    // Both policy zones were transferred (TSIG-signed) before the attack.
    await waitFor(
      () => (/zone rpz\.sluice\/IN: transferred serial/.test(bind.log()) ? true : undefined),
      30_000,
      'initial AXFR',
    );
  }, 120_000);

  afterAll(async () => {
    await bind?.stop();
    await svc?.close();
    await producer?.disconnect();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('blocks the offending resolver for the attacked zone only, then reverts after expiry', async () => {
    expect((await ask('127.0.0.2', 'www.victim.test')).answers.join()).toContain('192.0.2.80');
    // The simulated attack: 127.0.0.2 sends mostly random names to victim.test.
    await producer.send(input, [
      {
        key: 'victim.test',
        value: encodeMessage(
          enrichedOffenderSchema,
          offender({
            resolver: '127.0.0.2',
            zone: 'victim.test',
            attack: 5000,
            total: 5100,
            prefix: '127.0.0.0/24',
          }),
        ),
      },
    ]);
    await producer.flush();
    const blocked = await waitFor(
      async () => {
        const r = await ask('127.0.0.2', 'www.victim.test');
        return r.status === 'NXDOMAIN' ? r : undefined;
      },
      30_000,
      `RPZ to apply (BIND log: ${bind.log().slice(-3000)})`,
    );
    expect(blocked.answers).toEqual([]);
    // The same zone from another resolver, and the resolver's other zone traffic is not in this policy zone.
    const bystander = await ask('127.0.0.3', 'www.victim.test');
    expect(bystander.status).toBe('NOERROR');
    expect(bystander.answers.join()).toContain('192.0.2.80');
    expect((await ask('127.0.0.3', 'www.other.test')).status).toBe('NOERROR');
    // BIND learnt of the change by a TSIG-signed NOTIFY and applied it as a client-IP trigger.
    expect(bind.log()).toContain(
      "received notify for zone 'victim.test.rpz.sluice': TSIG 'sluice-xfr'",
    );
    expect(bind.log()).toMatch(
      /rpz CLIENT-IP NXDOMAIN rewrite www\.victim\.test\/A\/IN via 32\.2\.0\.0\.127\.rpz-client-ip/,
    );
    // Expiry (no refreshing evidence): the sweep deletes the entry, NOTIFY → IXFR, BIND reverts.
    const restored = await waitFor(
      async () => {
        const r = await ask('127.0.0.2', 'www.victim.test');
        return r.status === 'NOERROR' ? r : undefined;
      },
      40_000,
      `revert after expiry (BIND log: ${bind.log().slice(-3000)})`,
    );
    expect(restored.answers.join()).toContain('192.0.2.80');
    // The revert came as an incremental transfer (SOA, old SOA, deleted trigger, new SOA, SOA).
    expect(svc.runtime.rpz!.served.ixfr).toBeGreaterThanOrEqual(1);
    expect(bind.log()).toMatch(
      /victim\.test\.rpz\.sluice\/IN' from 127\.0\.0\.1#\d+: Transfer completed: 1 messages, 5 records/,
    );
  }, 120_000);

  it('zone guard as QNAME triggers: known names answered, every other name under the zone rewritten, for every client', async () => {
    const rewrites = () => (bind.log().match(/rpz QNAME NXDOMAIN rewrite/g) ?? []).length;
    expect((await ask('127.0.0.5', 'api.guarded.test')).status).toBe('NOERROR');
    const started = alertMessage({ zone: 'guarded.test', phase: 'started', excessQps: 5000 });
    await producer.send(names, [
      {
        key: started.zone,
        value: encodeMessage(
          knownNamesSchema,
          knownNames(started, ['guarded.test', 'www.guarded.test', 'ns.guarded.test']),
        ),
      },
    ]);
    await producer.send(alerts, [
      { key: started.zone, value: encodeMessage(alertSchema, started) },
    ]);
    await producer.flush();
    // `api` exists in the zone but was not among the known names: rewritten once the guard is in.
    await waitFor(
      async () => {
        const before = rewrites();
        const r = await ask('127.0.0.5', 'api.guarded.test');
        return r.status === 'NXDOMAIN' && rewrites() > before ? true : undefined;
      },
      30_000,
      `the guard in BIND (log: ${bind.log().slice(-3000)})`,
    );
    for (const source of ['127.0.0.5', '127.0.0.6']) {
      const www = await ask(source, 'www.guarded.test');
      expect(www.status).toBe('NOERROR');
      expect(www.answers.join()).toContain('192.0.2.80');
      const apex = await ask(source, 'guarded.test');
      expect(apex.status).toBe('NOERROR');
      const before = rewrites();
      expect((await ask(source, 'k3j4h5g6f7d8.guarded.test')).status).toBe('NXDOMAIN');
      // A wildcard does not reach below a passthru'd name: `*.www` carries its own trigger.
      expect((await ask(source, 'x7c6v5b4n3m2.www.guarded.test')).status).toBe('NXDOMAIN');
      expect(rewrites()).toBe(before + 2);
    }
    expect((await ask('127.0.0.5', 'api.other.test')).status).toBe('NOERROR');
    // The alert ends; after the hold the guard's records go (IXFR) and `api` answers again.
    await producer.send(alerts, [
      {
        key: started.zone,
        value: encodeMessage(alertSchema, {
          ...started,
          phase: 'ended',
          at: Date.now(),
          endedAt: Date.now(),
        }),
      },
    ]);
    await producer.flush();
    await waitFor(
      async () =>
        (await ask('127.0.0.5', 'api.guarded.test')).status === 'NOERROR' ? true : undefined,
      40_000,
      `the guard to lift (log: ${bind.log().slice(-3000)})`,
    );
  }, 120_000);
});
