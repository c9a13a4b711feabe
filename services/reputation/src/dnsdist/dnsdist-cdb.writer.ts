import { rename, writeFile } from 'node:fs/promises';
import { type BlocklistEntry } from '@sluice/contracts';
import { dnsdistCdb, dnsdistKv } from '../core/dnsdist-kv';
import { type BlocklistSink } from '../reputation.pipeline';

/**
 * Keeps a CDB file that dnsdist's newCDBKVStore(path, refresh) re-reads when its mtime changes.
 * Written to a temp file and renamed, so dnsdist never reads a half-written database. Chosen over
 * the console because it survives dnsdist restarts, needs no shared secret on our side, and a
 * lost update heals at the next write (the file is always the whole list).
 */
export class DnsdistCdbWriter implements BlocklistSink {
  readonly name = 'dnsdist-cdb';
  writes = 0;
  private lastSecond = 0;

  constructor(
    private readonly path: string,
    private readonly prefixLengths: { v4: number[]; v6: number[] },
  ) {}

  async refresh(entries: readonly BlocklistEntry[]): Promise<void> {
    // dnsdist reloads only when st_mtime (whole seconds) is greater than the last one it loaded:
    // a second write within the same second would go unnoticed. So write at most once a second.
    const wait = (this.lastSecond + 1) * 1000 - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait + 5));
    const file = dnsdistCdb(dnsdistKv(entries, this.prefixLengths));
    const tmp = `${this.path}.tmp-${process.pid}`;
    await writeFile(tmp, file);
    await rename(tmp, this.path);
    this.lastSecond = Math.floor(Date.now() / 1000);
    this.writes++;
  }
}
