import { type DnstapOutput } from './dnstap-sink';

/**
 * unbound.conf for a test Unbound 1.17 used as an authoritative server (`unbound -d -c <file>`):
 * loopback on `port`, one thread, no chroot or user switch, no remote control. Each zone is an
 * `auth-zone` for downstream clients; everything else is refused (`local-zone: "." refuse`,
 * and the served zones `transparent` so the refusal does not shadow them), so Unbound neither
 * recurses nor answers RFC 6761 names from its built-in local zones.
 *
 * dnstap: Unbound logs its answers to clients — auth-zone and local data included — as
 * CLIENT_QUERY / CLIENT_RESPONSE (there is no AUTH_* option), to a unix socket
 * (`dnstap-socket-path`) or TCP (`dnstap-ip`, TLS off), bidirectional Frame Streams on both.
 */
export function unboundConfig(o: {
  dir: string;
  port: number;
  zones: ReadonlyArray<{ name: string; file: string }>;
  dnstap?: DnstapOutput;
}): string {
  const { dir } = o;
  let tap = '';
  if (o.dnstap) {
    const s = o.dnstap.sink;
    const sink =
      'unix' in s
        ? `    dnstap-socket-path: ${JSON.stringify(s.unix)}\n`
        : `    dnstap-ip: ${s.tcp.host}@${s.tcp.port}\n    dnstap-tls: no\n`;
    tap = `dnstap:
    dnstap-enable: yes
${sink}    dnstap-send-identity: yes
    dnstap-identity: ${JSON.stringify(o.dnstap.identity)}
    dnstap-send-version: yes
    dnstap-log-client-query-messages: yes
    dnstap-log-client-response-messages: yes
`;
  }
  return `server:
    interface: 127.0.0.1@${o.port}
    port: ${o.port}
    do-ip6: no
    do-daemonize: no
    username: ""
    chroot: ""
    directory: "${dir}"
    pidfile: "${dir}/unbound.pid"
    use-syslog: no
    logfile: ""
    verbosity: 1
    num-threads: 1
    access-control: 127.0.0.0/8 allow
    module-config: "iterator"
    local-zone: "." refuse
${o.zones.map((z) => `    local-zone: "${z.name}." transparent\n`).join('')}remote-control:
    control-enable: no
${tap}${o.zones
    .map(
      (z) =>
        `auth-zone:\n    name: "${z.name}"\n    zonefile: "${dir}/${z.file}"\n    for-downstream: yes\n    for-upstream: no\n`,
    )
    .join('')}`;
}
