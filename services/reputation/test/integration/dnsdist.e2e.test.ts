import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeMessage, enrichedOffenderSchema, type EnrichedOffender } from '@sluice/contracts';
import { type BatchingProducer, type Kafka } from '@sluice/kafka';
import { testKafka, waitFor } from '@sluice/testing';
import { dnsdistConfigLua } from '../../src/core/dnsdist-kv';
import { offender } from '../fixtures/offenders';
import { dig, freePort, spawnDaemon, type Spawned } from './nameservers';
import { serviceConfig, serviceTopics, startService, type RunningService } from './service.helpers';

/**
 * A real dnsdist (Debian) in front of an authoritative BIND. Sluice keeps a CDB file that dnsdist
 * re-reads; dnsdist looks the client address up and applies the (resolver, zone) action in Lua.
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

  const ask = (source: string, name: string) =>
    dig({ server: '127.0.0.1', port: dnsdistPort, source, name });
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
    svc = await startService(
      serviceConfig({
        REPUTATION_INPUT_TOPIC: input,
        REPUTATION_OUTPUT_TOPIC: output,
        RPZ_ENABLED: 'false',
        DNSDIST_CDB_PATH: cdb,
        BLOCK_ACTION_RESOLVER_ZONE: 'refused',
        BLOCK_ACTION_RESOLVER: 'drop',
        BLOCK_TTL_MS: '8000',
        BLOCK_SWEEP_MS: '250',
      }),
    );
    const zones = ['victim.test', 'other.test', 'third.test'];
    for (const z of zones)
      writeFileSync(
        join(dir, `${z}.zone`),
        `$TTL 60\n@ SOA ns.${z}. hostmaster.${z}. 1 60 30 86400 60\n@ NS ns.${z}.\nns A 127.0.0.1\nwww A 192.0.2.80\n`,
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
${dnsdistConfigLua(cdb, [24], [48])}`,
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
    expect((await ask('127.0.0.4', 'www.victim.test')).status).toBe('REFUSED');
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
});
