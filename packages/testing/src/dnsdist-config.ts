import { type DnstapOutput } from './dnstap-sink';

/**
 * dnsdist.conf for a test dnsdist 1.7 in front of one backend on 127.0.0.1:`backendPort`
 * (`dnsdist --supervised --disable-syslog -C <file>`): listens on 127.0.0.1:`port`, loopback
 * ACL, no console, no security poll (it would query the internet). The backend is
 * health-checked with SOA `checkZone`.
 *
 * dnstap: `DnstapLogAction` logs each client query as CLIENT_QUERY before any other rule, and
 * `DnstapLogResponseAction` each response to the client as CLIENT_RESPONSE, with the client's
 * address, port and message id (so the ingest pairs them). Unix socket
 * (`newFrameStreamUnixLogger`) or TCP (`newFrameStreamTcpLogger`), bidirectional on both.
 */
export function dnsdistFrontConfig(o: {
  port: number;
  backendPort: number;
  checkZone: string;
  dnstap?: DnstapOutput;
  lua?: readonly string[];
}): string {
  const lines = [
    `setLocal("127.0.0.1:${o.port}")`,
    'setACL({"127.0.0.0/8"})',
    'setSecurityPollSuffix("")',
    `newServer({address="127.0.0.1:${o.backendPort}", checkName="${o.checkZone}.", checkType="SOA", checkInterval=1})`,
  ];
  if (o.dnstap) {
    const s = o.dnstap.sink;
    const id = JSON.stringify(o.dnstap.identity);
    lines.push(
      'unix' in s
        ? `sluiceTap = newFrameStreamUnixLogger(${JSON.stringify(s.unix)})`
        : `sluiceTap = newFrameStreamTcpLogger("${s.tcp.host}:${s.tcp.port}")`,
      `addAction(AllRule(), DnstapLogAction(${id}, sluiceTap))`,
      `addResponseAction(AllRule(), DnstapLogResponseAction(${id}, sluiceTap))`,
    );
  }
  return `${[...lines, ...(o.lua ?? [])].join('\n')}\n`;
}
