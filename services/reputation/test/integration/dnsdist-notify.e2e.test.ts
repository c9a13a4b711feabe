import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BlocklistEntry } from '@sluice/contracts';
import { waitFor } from '@sluice/testing';
import { dnsdistConfigLua } from '../../src/core/dnsdist-kv';
import { DnsdistCdbWriter } from '../../src/dnsdist/dnsdist-cdb.writer';
import { dig, freePort, spawnDaemon, type Spawned } from './nameservers';

/**
 * A real dnsdist (Debian) whose stores are polled only once an hour: a new entry can take effect
 * at once only because the writer's NOTIFY made dnsdist reload. NXDOMAIN spoken for the
 * authoritative carries AA (resolvers take a non-AA one as lame).
 */
describe('dnsdist reloads Sluice stores on NOTIFY (end to end)', () => {
  let dir: string;
  let dnsdist: Spawned;
  let port: number;
  let writer: DnsdistCdbWriter;

  const guard = (zone: string, action: BlocklistEntry['action']): BlocklistEntry => ({
    v: 1,
    id: `zone:${zone}`,
    scope: { kind: 'zone', zone },
    action,
    reason: 'test guard',
    score: 100,
    createdAt: 0,
    expiresAt: Date.now() + 600_000,
    shadow: false,
    guard: {
      alertId: `${zone}@0`,
      appliesTo: 'all',
      knownNames: [`www.${zone}`],
      namesTruncated: false,
      sources: ['traffic'],
      alertEndedAt: null,
    },
  });
  const ask = (name: string) => dig({ server: '127.0.0.1', port, source: '127.0.0.1', name });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-dnsdist-notify-'));
    port = await freePort();
    const backend = await freePort();
    const clients = join(dir, 'sluice.cdb');
    const guards = join(dir, 'sluice-guard.cdb');
    writer = new DnsdistCdbWriter(clients, guards, { v4: [24], v6: [48] }, [
      { host: '127.0.0.1', port },
    ]);
    // dnsdist needs both files at start; empty lists.
    await new DnsdistCdbWriter(clients, guards, { v4: [24], v6: [48] }).refresh([]);
    writeFileSync(
      join(dir, 'dnsdist.conf'),
      `setLocal("127.0.0.1:${port}")
setACL({"127.0.0.0/8"})
newServer({address="127.0.0.1:${backend}"})
${dnsdistConfigLua({ clientsCdbPath: clients, guardCdbPath: guards, v4: [24], v6: [48], pollSeconds: 3600 })}
addAction(AllRule(), RCodeAction(DNSRCode.NOTIMP))`,
    );
    dnsdist = spawnDaemon('dnsdist', [
      '--supervised',
      '--disable-syslog',
      '-C',
      join(dir, 'dnsdist.conf'),
    ]);
    await waitFor(
      async () => ((await ask('x.victim.test')).status === 'NOTIMP' ? true : undefined),
      30_000,
      `dnsdist to answer (dnsdist: ${dnsdist.log().slice(-2000)})`,
    );
  }, 60_000);

  afterAll(async () => {
    await dnsdist?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a guard written after start takes effect without waiting for the hourly poll', async () => {
    expect((await ask('k3j4h5g6f7d8.victim.test')).status).toBe('NOTIMP');
    await writer.refresh([guard('victim.test', 'refused')]);
    await waitFor(
      async () => ((await ask('k3j4h5g6f7d8.victim.test')).status === 'REFUSED' ? true : undefined),
      10_000,
      `the guard after NOTIFY (dnsdist: ${dnsdist.log().slice(-2000)})`,
    );
    // Known names are not the guard's business.
    expect((await ask('www.victim.test')).status).toBe('NOTIMP');
    expect(writer.notifiesSent).toBeGreaterThanOrEqual(1);
    await waitFor(async () => (writer.notifiesAcked >= 1 ? true : undefined), 5_000, 'NOTIFY ack');

    // A second write: the guard now answers NXDOMAIN, with AA.
    await writer.refresh([guard('victim.test', 'nxdomain')]);
    await waitFor(
      async () =>
        (await ask('q9w8e7r6t5y4.victim.test')).status === 'NXDOMAIN' ? true : undefined,
      10_000,
      'the nxdomain guard after the second NOTIFY',
    );
    const { stdout } = await import('node:child_process').then(({ execFileSync }) => ({
      stdout: execFileSync('dig', [
        '@127.0.0.1',
        '-p',
        String(port),
        'q9w8e7r6t5y4.victim.test',
        '+norec',
      ]).toString(),
    }));
    expect(stdout).toMatch(/flags: qr aa/);
  }, 60_000);
});
