import { createHash } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { rename, stat, utimes, writeFile } from 'node:fs/promises';
import { type BlocklistEntry } from '@sluice/contracts';
import { dnsdistCdb, dnsdistGuardCdb, dnsdistKv } from '../core/dnsdist-kv';
import { buildNotify } from '../core/xfr';
import { type BlocklistSink } from '../reputation.pipeline';

/**
 * Keeps the two CDB files dnsdist's newCDBKVStore(path, 1) re-reads: per-client entries and zone
 * guards. Each is written to a temp file and renamed, so dnsdist never reads a half-written
 * database. Chosen over the console because it survives dnsdist restarts, needs no shared secret
 * on our side, and a lost update heals at the next write (the file is always the whole list).
 *
 * dnsdist reloads only when a file's mtime, in whole seconds, is greater than the one it loaded
 * last (verified on 1.7.3: a second write within the same second is never picked up). So each
 * write stamps mtime = max(now, previous + 1 s) instead of waiting for the next second.
 *
 * That poll alone lets a new entry wait up to a second (median 0.5 s) while the flood goes on, so
 * after each write a DNS NOTIFY goes to every DNSDIST_NOTIFY address; the generated config answers
 * it by reloading both stores at once. Fire and forget: a lost NOTIFY costs only the poll's delay.
 */
export class DnsdistCdbWriter implements BlocklistSink {
  readonly name = 'dnsdist-cdb';
  writes = 0;
  notifiesSent = 0;
  notifiesAcked = 0;
  private sockets = new Map<'udp4' | 'udp6', Socket>();
  private notifyId = 1;
  private readonly lastMtime = new Map<string, number>();
  /** What the guard file was last built from: client churn must not rebuild a 100k-name store. */
  private lastGuards: string | null = null;

  constructor(
    private readonly clientsPath: string,
    private readonly guardPath: string,
    private readonly prefixLengths: { v4: number[]; v6: number[] },
    private readonly notify: readonly { host: string; port: number }[] = [],
  ) {}

  async refresh(entries: readonly BlocklistEntry[]): Promise<void> {
    const guards = guardSignature(entries);
    if (guards !== this.lastGuards) {
      await this.write(this.guardPath, dnsdistGuardCdb(entries));
      this.lastGuards = guards;
    }
    await this.write(this.clientsPath, dnsdistCdb(dnsdistKv(entries, this.prefixLengths)));
    this.writes++;
    for (const t of this.notify) this.sendNotify(t.host, t.port);
  }

  private sendNotify(host: string, port: number): void {
    const family = isIPv6(host) ? 'udp6' : 'udp4';
    let socket = this.sockets.get(family);
    if (!socket) {
      socket = createSocket(family);
      // Anything with QR set counts as an acknowledgement (only dnsdist answers this socket).
      socket.on('message', (m) => {
        if (m.length >= 3 && (m[2]! & 0x80) !== 0) this.notifiesAcked++;
      });
      // An unreachable dnsdist must not take the service down: the poll still picks the file up.
      socket.on('error', () => undefined);
      // Unreferenced: the sockets never keep a stopping service alive.
      socket.unref();
      this.sockets.set(family, socket);
    }
    const id = this.notifyId++ & 0xffff;
    socket.send(buildNotify('sluice.', 0, id), port, host);
    this.notifiesSent++;
  }

  private async write(path: string, data: Buffer): Promise<void> {
    let last = this.lastMtime.get(path);
    if (last === undefined) {
      // After a restart: continue from the file dnsdist has (its mtime may be ahead of now).
      last = await stat(path).then(
        (s) => Math.floor(s.mtimeMs / 1000),
        () => 0,
      );
    }
    const mtime = Math.max(Math.floor(Date.now() / 1000), last + 1);
    const tmp = `${path}.tmp-${process.pid}`;
    await writeFile(tmp, data);
    await utimes(tmp, mtime, mtime);
    await rename(tmp, path);
    this.lastMtime.set(path, mtime);
  }
}

/** A digest of everything the guard store is built from (enforced zone guards only). */
function guardSignature(entries: readonly BlocklistEntry[]): string {
  const h = createHash('sha1');
  const guards = entries
    .filter((e) => !e.shadow && e.scope.kind === 'zone' && e.guard)
    .sort((a, b) => (a.id < b.id ? -1 : 1));
  for (const e of guards) {
    if (!e.guard) continue;
    h.update(`${e.id}\0${e.action}\0${e.guard.appliesTo}\0`);
    h.update((e.guard.allowedSubtrees ?? []).join('\0'));
    h.update('\0\0');
    h.update(e.guard.knownNames.join('\0'));
    h.update('\0\0\0');
  }
  return h.digest('hex');
}

/** DNSDIST_GUARD_CDB_PATH, or the clients file's name with `-guard` before `.cdb`. */
export function guardCdbPath(clientsPath: string, explicit: string | undefined): string {
  return explicit ?? clientsPath.replace(/(\.cdb)?$/, '-guard.cdb');
}
