import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { type BlocklistEntry } from '@sluice/contracts';
import { RpzXfrServer } from '../../src/rpz/rpz-xfr.server';

const run = promisify(execFile);
jest.setTimeout(60_000);

const secret = Buffer.alloc(32, 9).toString('base64');
const entries = (n: number, offset = 0): BlocklistEntry[] =>
  Array.from({ length: n }, (_, i) => {
    const j = i + offset;
    return {
      v: 1,
      id: `r:${j}`,
      scope: { kind: 'resolver', resolver: `10.${(j >> 16) & 255}.${(j >> 8) & 255}.${j & 255}` },
      action: 'drop',
      reason: 'test',
      score: 90,
      createdAt: 0,
      expiresAt: Date.now() + 60_000,
      shadow: false,
    } satisfies BlocklistEntry;
  });

/** The RPZ server checked by dig, which verifies TSIG on every message of a transfer. */
describe('RPZ server against dig (multi-message TSIG AXFR, IXFR)', () => {
  let server: RpzXfrServer;
  let port: number;
  const dig = async (...args: string[]) =>
    (
      await run('dig', [
        '-p',
        String(port),
        '@127.0.0.1',
        '-y',
        `hmac-sha256:sluice-xfr:${secret}`,
        ...args,
      ])
    ).stdout;

  beforeAll(async () => {
    server = new RpzXfrServer({
      host: '127.0.0.1',
      port: 0,
      origin: 'rpz.sluice',
      initialSerial: 1000,
      keys: [{ name: 'sluice-xfr', secret }],
      requireTsig: true,
      notify: [],
      allow: ['127.0.0.0/8'],
    });
    port = (await server.start()).port;
  });

  afterAll(() => server.stop());

  it('serves a 3,000-record AXFR over several signed messages', async () => {
    await server.refresh(entries(3000));
    const out = await dig('rpz.sluice', 'AXFR');
    expect(out).not.toMatch(/failure|BADSIG|BADKEY|tsig verify/i);
    const m = /XFR size: (\d+) records \(messages (\d+),/.exec(out);
    expect(Number(m?.[1])).toBe(3000 + 3);
    expect(Number(m?.[2])).toBeGreaterThan(1);
    expect(out).toContain('32.1.0.0.10.rpz-client-ip.rpz.sluice. 60 IN CNAME rpz-drop.');
  });

  it('answers IXFR with the difference and refuses unsigned transfers', async () => {
    const before = server.zones.get('rpz.sluice')!.serial;
    await server.refresh(entries(3000, 1)); // drops r:0, adds r:3000
    const out = await dig('rpz.sluice', `IXFR=${before}`, '+tcp');
    expect(out).not.toMatch(/failure|BADSIG|tsig verify/i);
    const lines = out.split('\n').filter((l) => /\sIN\s+(SOA|CNAME)\s/.test(l));
    expect(lines.map((l) => l.split(/\s+/)[0])).toEqual([
      'rpz.sluice.',
      'rpz.sluice.',
      '32.0.0.0.10.rpz-client-ip.rpz.sluice.',
      'rpz.sluice.',
      '32.184.11.0.10.rpz-client-ip.rpz.sluice.',
      'rpz.sluice.',
    ]);
    const unsigned = (await run('dig', ['-p', String(port), '@127.0.0.1', 'rpz.sluice', 'AXFR']))
      .stdout;
    expect(unsigned).toMatch(/Transfer failed|NOTAUTH/);
    expect(server.served.notauth).toBeGreaterThanOrEqual(1);
  });
});
