import { type DnstapOutput } from './dnstap-sink';

/**
 * named.conf for a test BIND 9.18 authoritative server: loopback on `port`, no recursion, no
 * rndc, every file under `dir` (run `named -g -c <file>`). Zone files are relative to `dir`.
 *
 * dnstap (unix socket only — BIND has no TCP output): `auth` alone is not enough. BIND types a
 * response by the query's RD bit, not by its own role: the answer to an RD=0 query is an
 * AUTH_RESPONSE, the answer to an RD=1 query a CLIENT_RESPONSE (queries stay AUTH_QUERY while
 * recursion is off; with recursion on, RD=1 queries become CLIENT_QUERY). `auth; client;`
 * therefore gives every query its response.
 */
export function namedConfig(o: {
  dir: string;
  port: number;
  zones: ReadonlyArray<{ name: string; file: string }>;
  dnstap?: DnstapOutput & { sink: { unix: string } };
  options?: readonly string[];
}): string {
  const { dir } = o;
  const dnstap = o.dnstap
    ? [
        'dnstap { auth; client; };',
        `dnstap-output unix ${JSON.stringify(o.dnstap.sink.unix)};`,
        `dnstap-identity ${JSON.stringify(o.dnstap.identity)};`,
      ]
    : [];
  const options = [
    `directory "${dir}";`,
    `pid-file "${dir}/named.pid";`,
    `session-keyfile "${dir}/session.key";`,
    `managed-keys-directory "${dir}";`,
    `listen-on port ${o.port} { 127.0.0.1; };`,
    'listen-on-v6 { none; };',
    'recursion no;',
    'dnssec-validation no;',
    'notify no;',
    ...dnstap,
    ...(o.options ?? []),
  ];
  return `options {
${options.map((l) => `  ${l}\n`).join('')}};
controls { };
${o.zones.map((z) => `zone "${z.name}" { type primary; file "${z.file}"; };\n`).join('')}`;
}
