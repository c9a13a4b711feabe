import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { nsdConfig } from '@sluice/testing';
import { dnsdistConfigLua } from '@sluice/reputation';
import { run, spawnDaemon, tail, until, type Daemon } from './procs';
import { zoneFileText, type ZoneSpec } from './zones';

/** One SOA query from 127.0.0.1 with dig; resolves to the status ('NOERROR', 'TIMEOUT'…). */
export async function digStatus(port: number, name: string, type = 'SOA'): Promise<string> {
  try {
    const { stdout } = await run('dig', [
      '@127.0.0.1',
      '-p',
      String(port),
      name,
      type,
      '+tries=1',
      '+time=1',
      '+noall',
      '+comments',
    ]);
    return /status: ([A-Z]+)/.exec(stdout)?.[1] ?? 'NONE';
  } catch {
    return 'TIMEOUT';
  }
}

async function answering(d: Daemon, port: number, zone: string, timeoutMs = 30_000): Promise<void> {
  await until(
    async () => {
      if (d.exited()) throw new Error(`${d.name} exited before answering\n${tail(d)}`);
      return (await digStatus(port, zone)) === 'NOERROR' ? true : undefined;
    },
    timeoutMs,
    () => `${d.name} to answer SOA ${zone} on 127.0.0.1:${port}\n${tail(d)}`,
    250,
  );
}

export function writeZoneFiles(dir: string, zones: readonly ZoneSpec[]): void {
  for (const z of zones) writeFileSync(join(dir, `${z.zone}.zone`), zoneFileText(z));
}

/**
 * NSD 4 authoritative for the zones on 127.0.0.1:port (foreground, no chroot, no dnstap); with
 * `xfr`, it also serves each zone by AXFR to loopback clients signing with that TSIG key.
 */
export async function startNsd(
  dir: string,
  port: number,
  zones: readonly ZoneSpec[],
  xfr?: { keyName: string; secret: string },
): Promise<Daemon> {
  writeZoneFiles(dir, zones);
  const conf = join(dir, 'nsd.conf');
  writeFileSync(
    conf,
    nsdConfig({
      dir,
      port,
      zones: zones.map((z) => ({
        name: z.zone,
        file: `${z.zone}.zone`,
        extra: xfr ? [`provide-xfr: 127.0.0.1 ${xfr.keyName}`] : [],
      })),
      sections: xfr
        ? `key:\n  name: ${xfr.keyName}\n  algorithm: hmac-sha256\n  secret: "${xfr.secret}"\n`
        : undefined,
      server: [
        'verbosity: 1',
        'refuse-any: yes',
        "# dnsdist or Sluice is the mitigation under test: NSD's own response rate limiting stays off.",
        'rrl-ratelimit: 0',
        'rrl-whitelist-ratelimit: 0',
      ],
    }),
  );
  await run('nsd-checkconf', [conf]).catch((e: { stderr?: string; message?: string }) => {
    throw new Error(`nsd-checkconf rejected ${conf}: ${e.stderr ?? e.message ?? ''}`);
  });
  const d = spawnDaemon('nsd', 'nsd', ['-d', '-c', conf]);
  await answering(d, port, zones[0]!.zone);
  return d;
}

export interface DnsdistPeerOptions {
  /** Distinct children a suffix needs before it can be blocked (Defender-style: 50). */
  minChildren: number;
  /** (NXDOMAIN + SERVFAIL) / queries among the children (0.8). */
  failureRatio: number;
  /** Windows, seconds (10 and 60). */
  windows: readonly number[];
  /** How long a block stands once placed, seconds. */
  blockSeconds: number;
}

export const defaultPeer: DnsdistPeerOptions = {
  minChildren: 50,
  failureRatio: 0.8,
  windows: [10, 60],
  blockSeconds: 60,
};

export type DnsdistMode =
  | { kind: 'plain' }
  | { kind: 'sluice'; clientsCdbPath: string; guardCdbPath: string; v4: number[]; v6: number[] }
  | { kind: 'peer'; peer: DnsdistPeerOptions };

/** The Lua that makes Sluice's CDB files enforceable, exactly as the reputation service documents it. */
export function sluiceDnsdistLua(o: {
  clientsCdbPath: string;
  guardCdbPath: string;
  v4: readonly number[];
  v6: readonly number[];
}): string {
  return dnsdistConfigLua(o);
}

/** dnsdist's documented random-subdomain defence: suffix-match dynamic blocks, one group per window. */
export function peerLua(p: DnsdistPeerOptions): string {
  const groups = p.windows
    .map(
      (w, i) => `local dbr${i} = dynBlockRulesGroup()
dbr${i}:setSuffixMatchRule(${w}, "random subdomains (${w}s window)", ${p.blockSeconds}, DNSAction.Refused, defenderVisitor)`,
    )
    .join('\n');
  return `-- dnsdist peer: Defender-style suffix-match rule (no Sluice)
setDynBlocksAction(DNSAction.Refused)
function defenderVisitor(node, self, children)
  if node:numChildren() < ${p.minChildren} or children.queries == 0 then return false end
  return (children.nxdomains + children.servfails) / children.queries >= ${p.failureRatio}
end
${groups}
function maintenance()
${p.windows.map((_, i) => `  dbr${i}:apply()`).join('\n')}
end
`;
}

export interface DnsdistOptions {
  dir: string;
  port: number;
  backendPort: number;
  checkZone: string;
  mode: DnsdistMode;
  /** Frame Streams unix socket of the ingest; dnsdist logs every query (before mitigation) and every backend response. */
  dnstapSocket?: string;
}

/** The complete dnsdist.conf for a mode. */
export function dnsdistConfig(o: DnsdistOptions): string {
  const parts = [
    `setLocal("127.0.0.1:${o.port}")`,
    'setACL({"127.0.0.0/8"})',
    // Enough ring entries for a 60 s window at a few thousand queries/s (the peer's statistics).
    'setRingBuffersSize(400000, 10)',
    `newServer({address="127.0.0.1:${o.backendPort}", checkName="${o.checkZone}.", checkType="SOA", checkInterval=1, maxCheckFailures=3})`,
  ];
  if (o.dnstapSocket) {
    parts.push(
      `sluiceDnstap = newFrameStreamUnixLogger(${JSON.stringify(o.dnstapSocket)})`,
      '-- the sensor sees every query, before any mitigation rule',
      'addAction(AllRule(), DnstapLogAction("dnsdist", sluiceDnstap))',
      'addResponseAction(AllRule(), DnstapLogResponseAction("dnsdist", sluiceDnstap))',
    );
  }
  const m = o.mode;
  switch (m.kind) {
    case 'plain':
      break;
    case 'sluice':
      parts.push(sluiceDnsdistLua(m));
      break;
    case 'peer':
      parts.push(peerLua(m.peer));
      break;
  }
  return `${parts.join('\n')}\n`;
}

export async function startDnsdist(o: DnsdistOptions): Promise<Daemon> {
  const conf = join(o.dir, 'dnsdist.conf');
  writeFileSync(conf, dnsdistConfig(o));
  await run('dnsdist', ['--check-config', '-C', conf]).catch(
    (e: { stdout?: string; stderr?: string; message?: string }) => {
      throw new Error(
        `dnsdist --check-config rejected ${conf}:\n${e.stdout ?? ''}${e.stderr ?? e.message ?? ''}\n${dnsdistConfig(o)}`,
      );
    },
  );
  const d = spawnDaemon('dnsdist', 'dnsdist', ['--supervised', '--disable-syslog', '-C', conf]);
  await answering(d, o.port, o.checkZone);
  return d;
}

export interface BindOptions {
  dir: string;
  port: number;
  zones: readonly ZoneSpec[];
  rpz: {
    port: number;
    origin: string;
    tsigName: string;
    tsigSecret: string;
    /** Policy zones, in order (first match wins in BIND). */
    policyZones: readonly string[];
  };
  dnstapSocket: string;
}

/**
 * BIND 9 authoritative for the zones, secondary for Sluice's policy zones (TSIG AXFR/IXFR +
 * NOTIFY) and applying them to every query (`recursive-only no`), with its own dnstap (auth
 * queries and responses) to the ingest.
 */
export function bindConfig(o: BindOptions): string {
  const d = o.dir;
  const secondaries = o.rpz.policyZones
    .map(
      (z) => `zone "${z}" {
  type secondary;
  primaries port ${o.rpz.port} { 127.0.0.1 key ${o.rpz.tsigName}; };
  file "${join(d, `${z}.db`)}";
  allow-notify { 127.0.0.1; };
};`,
    )
    .join('\n');
  return `key "${o.rpz.tsigName}" { algorithm hmac-sha256; secret "${o.rpz.tsigSecret}"; };
options {
  directory "${d}";
  pid-file "${join(d, 'named.pid')}";
  session-keyfile "${join(d, 'session.key')}";
  managed-keys-directory "${d}";
  listen-on port ${o.port} { 127.0.0.1; };
  listen-on-v6 { none; };
  recursion yes;
  allow-recursion { 127.0.0.0/8; };
  allow-query { any; };
  dnssec-validation no;
  notify no;
  minimal-responses yes;
  // RD=1 queries are answered as CLIENT_RESPONSE when recursion is on: log both.
  dnstap { auth; client; };
  dnstap-output unix "${o.dnstapSocket}";
  dnstap-identity "bind";
  response-policy {
${o.rpz.policyZones.map((z) => `    zone "${z}" min-update-interval 0;`).join('\n')}
  } recursive-only no qname-wait-recurse no;
};
controls { };
${o.zones.map((z) => `zone "${z.zone}" { type primary; file "${join(d, `${z.zone}.zone`)}"; };`).join('\n')}
${secondaries}
`;
}

export async function startBind(o: BindOptions): Promise<Daemon> {
  writeZoneFiles(o.dir, o.zones);
  const conf = join(o.dir, 'named.conf');
  writeFileSync(conf, bindConfig(o));
  await run('named-checkconf', [conf]).catch(
    (e: { stdout?: string; stderr?: string; message?: string }) => {
      throw new Error(
        `named-checkconf rejected ${conf}: ${e.stdout ?? ''}${e.stderr ?? e.message ?? ''}`,
      );
    },
  );
  // -n 2: two worker threads on a 2-core box shared with everything else.
  const d = spawnDaemon('named', 'named', ['-g', '-n', '2', '-c', conf]);
  await answering(d, o.port, o.zones[0]!.zone);
  return d;
}
