/**
 * nsd.conf for a test or benchmark NSD 4: loopback on `port`, foreground-friendly (no chroot, no
 * user switch, every file under `dir`), no remote control. `server` adds lines to the server
 * section; `sections` adds whole sections (dnstap…) before the zones.
 */
export function nsdConfig(o: {
  dir: string;
  port: number;
  /** `extra`: more lines for the zone's clause (e.g. `provide-xfr: 127.0.0.1 key-name`). */
  zones: ReadonlyArray<{ name: string; file: string; extra?: readonly string[] }>;
  server?: readonly string[];
  sections?: string;
}): string {
  const { dir, port } = o;
  return `server:
  ip-address: 127.0.0.1@${port}
  port: ${port}
  username: ""
  chroot: ""
  zonesdir: "${dir}"
  pidfile: "${dir}/nsd.pid"
  database: ""
  xfrdfile: "${dir}/xfrd.state"
  xfrdir: "${dir}"
  zonelistfile: "${dir}/zone.list"
  logfile: "${dir}/nsd.log"
  server-count: 1
${(o.server ?? []).map((l) => `  ${l}\n`).join('')}remote-control:
  control-enable: no
${o.sections ?? ''}${o.zones.map((z) => `zone:\n  name: ${z.name}\n  zonefile: ${z.file}\n${(z.extra ?? []).map((l) => `  ${l}\n`).join('')}`).join('')}`;
}
