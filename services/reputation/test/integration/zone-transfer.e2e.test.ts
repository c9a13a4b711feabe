import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '@sluice/testing';
import { zoneFileNames } from '../../src/core/zone-file';
import { fetchZoneNames } from '../../src/guard/zone-transfer.client';
import { ZoneNamesSource } from '../../src/guard/zone-names.source';
import { dig, freePort, spawnDaemon, type Spawned } from './nameservers';

/**
 * The zone guard's names from the zone's own primary: a real BIND 9 serving AXFR, open to one zone
 * and TSIG-only for another. The names must equal the zone file's owners.
 */
describe('zone names by AXFR from a real primary (BIND 9)', () => {
  const secret = Buffer.from('sluice-axfr-test-secret-0123456789').toString('base64');
  const key = { name: 'sluice-xfr', secret };
  let dir: string;
  let bind: Spawned;
  let port: number;
  let zoneText: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-axfr-'));
    port = await freePort();
    const hosts = Array.from({ length: 3000 }, (_, i) => `host${i} A 192.0.2.${i % 250}`).join(
      '\n',
    );
    zoneText = `$TTL 60\n@ SOA ns hostmaster 1 60 30 86400 60\n@ NS ns\nns A 127.0.0.1\nwww A 192.0.2.80\napi A 192.0.2.81\n*.wild A 192.0.2.82\ndeep.sub A 192.0.2.83\n${hosts}\n`;
    writeFileSync(join(dir, 'open.test.zone'), zoneText);
    writeFileSync(join(dir, 'signed.test.zone'), zoneText);
    writeFileSync(
      join(dir, 'named.conf'),
      `key "sluice-xfr" { algorithm hmac-sha256; secret "${secret}"; };
options { directory "${dir}"; pid-file "${join(dir, 'named.pid')}"; session-keyfile "${join(dir, 'session.key')}"; managed-keys-directory "${dir}"; listen-on port ${port} { 127.0.0.1; }; listen-on-v6 { none; }; recursion no; dnssec-validation no; notify no; };
controls { };
zone "open.test" { type primary; file "${join(dir, 'open.test.zone')}"; allow-transfer { 127.0.0.1; }; };
zone "signed.test" { type primary; file "${join(dir, 'signed.test.zone')}"; allow-transfer { key sluice-xfr; }; };
`,
    );
    bind = spawnDaemon('named', ['-g', '-c', join(dir, 'named.conf')]);
    await waitFor(
      async () =>
        (await dig({ server: '127.0.0.1', port, source: '127.0.0.1', name: 'www.open.test' }))
          .status === 'NOERROR'
          ? true
          : undefined,
      30_000,
      `BIND to answer (log: ${bind.log().slice(-2000)})`,
    );
  }, 60_000);

  afterAll(async () => {
    await bind?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('transfers every owner name (multi-message answer), the same as the master file gives', async () => {
    const names = await fetchZoneNames(
      { zone: 'open.test', host: '127.0.0.1', port, key: null },
      { timeoutMs: 10_000, maxNames: 100_000 },
    );
    expect(names.length).toBe(3006);
    expect(new Set(names)).toEqual(new Set(zoneFileNames(zoneText, 'open.test')));
    expect(names).toEqual(
      expect.arrayContaining([
        'open.test',
        'www.open.test',
        '*.wild.open.test',
        'deep.sub.open.test',
      ]),
    );
  });

  it('signs the request with TSIG where the primary requires it; says why without', async () => {
    const names = await fetchZoneNames(
      { zone: 'signed.test', host: '127.0.0.1', port, key },
      { timeoutMs: 10_000, maxNames: 100_000 },
    );
    expect(names).toContain('api.signed.test');
    await expect(
      fetchZoneNames(
        { zone: 'signed.test', host: '127.0.0.1', port, key: null },
        { timeoutMs: 10_000, maxNames: 100_000 },
      ),
    ).rejects.toThrow(/AXFR of signed\.test refused by the primary: (REFUSED|NOTAUTH)/);
  });

  it('caps the names kept; a source that does not answer is logged, not fatal', async () => {
    const warnings: string[] = [];
    const source = new ZoneNamesSource(
      [],
      [
        { zone: 'open.test', host: '127.0.0.1', port, keyName: null },
        { zone: 'gone.test', host: '127.0.0.1', port: await freePort(), keyName: null },
      ],
      [],
      100,
      (m) => warnings.push(m),
    );
    await source.refresh();
    expect(source.byZone.get('open.test')?.names).toHaveLength(101);
    expect(source.byZone.get('open.test')?.source).toBe(`axfr:127.0.0.1:${port}`);
    expect(source.byZone.has('gone.test')).toBe(false);
    expect(warnings.join()).toMatch(/AXFR of gone\.test/);
  });
});
