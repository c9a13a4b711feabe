import { type DnstapOutput } from './dnstap-sink';

/**
 * knot.conf for a test Knot DNS 3.2 (`knotd -c <file>`, foreground): loopback on `port`,
 * runtime files, journal and timers under `dir`, zone files relative to `dir`.
 *
 * dnstap comes from mod-dnstap (Debian: package knot-module-dnstap), loaded as a global module
 * so queries for zones Knot does not serve (REFUSED) are logged too. Its sink is a file path
 * unless prefixed with `unix:` (a plain socket path makes Knot try to open a file there and log
 * nothing); Knot 3.2 has no TCP sink. It writes AUTH_QUERY / AUTH_RESPONSE.
 */
export function knotConfig(o: {
  dir: string;
  port: number;
  zones: ReadonlyArray<{ name: string; file: string }>;
  dnstap?: DnstapOutput & { sink: { unix: string } };
}): string {
  const { dir } = o;
  const tap = o.dnstap
    ? `mod-dnstap:
  - id: sluice
    sink: ${JSON.stringify(`unix:${o.dnstap.sink.unix}`)}
    identity: ${JSON.stringify(o.dnstap.identity)}
    log-queries: on
    log-responses: on
`
    : '';
  return `server:
    rundir: "${dir}"
    listen: 127.0.0.1@${o.port}
log:
  - target: stderr
    any: info
database:
    storage: "${dir}"
${tap}template:
  - id: default
    storage: "${dir}"
${o.dnstap ? '    global-module: mod-dnstap/sluice\n' : ''}zone:
${o.zones.map((z) => `  - domain: ${z.name}\n    file: "${z.file}"\n`).join('')}`;
}
