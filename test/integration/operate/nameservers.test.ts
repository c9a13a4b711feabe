import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { repoRoot, run } from './operate-helpers';

const dir = join(repoRoot, 'infra', 'nameservers');

/**
 * The dnstap snippets docs/operations.md quotes, each checked by its nameserver's own config
 * checker (Debian 12: nsd, bind9, knot + knot-module-dnstap, unbound, dnsdist; .ci/run installs
 * them). Each checker must also reject the snippet with one option misspelt, which proves it
 * read the file and checks option names rather than accepting anything.
 */
const snippets: {
  server: string;
  file: string;
  check: (file: string) => [string, string[]];
  typo: [string, string];
  sink: string;
}[] = [
  {
    server: 'NSD',
    file: 'nsd/sluice-dnstap.conf',
    check: (f) => ['nsd-checkconf', [f]],
    typo: ['dnstap-log-auth-query-messages', 'dnstap-log-auth-querys'],
    sink: 'dnstap-socket-path: "/run/sluice/dnstap.sock"',
  },
  {
    server: 'BIND',
    file: 'bind/named.conf.options',
    check: (f) => ['named-checkconf', [f]],
    typo: ['dnstap-output', 'dnstap-outptu'],
    sink: 'dnstap-output unix "/run/sluice/dnstap.sock"',
  },
  {
    server: 'Knot',
    file: 'knot/knot.conf',
    check: (f) => ['knotc', ['-c', f, 'conf-check']],
    typo: ['log-responses', 'log-response'],
    sink: 'sink: "unix:/run/sluice/dnstap.sock"',
  },
  {
    server: 'Unbound',
    file: 'unbound/sluice-dnstap.conf',
    check: (f) => ['unbound-checkconf', [f]],
    typo: ['dnstap-log-client-query-messages', 'dnstap-log-client-querys'],
    sink: 'dnstap-ip: 192.0.2.10@6000',
  },
  {
    server: 'dnsdist',
    file: 'dnsdist/sluice-dnstap.lua',
    check: (f) => ['dnsdist', ['--check-config', '-C', f]],
    typo: ['DnstapLogResponseAction(', 'DnstapLogResponsAction('],
    sink: 'newFrameStreamTcpLogger("192.0.2.10:6000")',
  },
];

describe('infra/nameservers: dnstap to the ingest', () => {
  let tmp: string;
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'sluice-ns-'));
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it.each(snippets)('$server: $file passes its own checker and points at the ingest', async (s) => {
    const file = join(dir, s.file);
    const text = readFileSync(file, 'utf8');
    // Unix-socket senders use the socket the manifests and compose give the ingest
    // (INGEST_DNSTAP_SOCKET); TCP senders its INGEST_DNSTAP_TCP port.
    expect(text).toContain(s.sink);
    const [cmd, args] = s.check(file);
    await run(cmd, args);

    expect(text).toContain(s.typo[0]);
    const bad = join(tmp, basename(s.file));
    writeFileSync(bad, text.replace(s.typo[0], s.typo[1]));
    const [badCmd, badArgs] = s.check(bad);
    await expect(run(badCmd, badArgs)).rejects.toThrow();
  });
});
