import { type Stats, unwatchFile, watchFile } from 'node:fs';
import { Enricher, type EnricherSources } from '../core/enricher';
import { asnSourceOf, countrySourceOf, MmdbFile } from './mmdb-file';
import { loadPackagedAsnTable, packagedDataPaths } from './packaged-data';

export interface DataOptions {
  asnMmdb: string | null;
  countryMmdb: string | null;
  cacheSize: number;
}

export type ReloadEvent =
  | { file: string; role: 'asn' | 'country'; ok: true; databaseType: string }
  | { file: string; role: 'asn' | 'country'; ok: false; error: Error };

/**
 * Owns the enricher and its data files. Boot loads synchronously and throws (naming the
 * file) on anything missing or corrupt; later a changed operator file is re-opened and
 * swapped in, and a bad replacement is reported while the previous data keeps serving.
 */
export class EnrichmentData {
  readonly enricher: Enricher;
  private readonly watched: string[] = [];

  private constructor(
    sources: EnricherSources,
    private readonly options: DataOptions,
  ) {
    this.enricher = new Enricher(sources, options.cacheSize);
  }

  static load(options: DataOptions): EnrichmentData {
    const asn = options.asnMmdb
      ? asnSourceOf(MmdbFile.open(options.asnMmdb))
      : loadPackagedAsnTable();
    const country = countrySourceOf(
      MmdbFile.open(options.countryMmdb ?? packagedDataPaths().countryMmdb),
    );
    return new EnrichmentData({ asn, country }, options);
  }

  /** Poll the operator's files (fs.watch misses files replaced by rename, the usual update). */
  watch(intervalMs: number, onReload: (event: ReloadEvent) => void): void {
    const files: Array<[string, 'asn' | 'country']> = [];
    if (this.options.asnMmdb) files.push([this.options.asnMmdb, 'asn']);
    if (this.options.countryMmdb) files.push([this.options.countryMmdb, 'country']);
    for (const [file, role] of files) {
      watchFile(file, { interval: intervalMs, persistent: false }, (curr: Stats, prev: Stats) => {
        if (curr.mtimeMs === prev.mtimeMs && curr.size === prev.size) return;
        onReload(this.reload(file, role));
      });
      this.watched.push(file);
    }
  }

  reload(file: string, role: 'asn' | 'country'): ReloadEvent {
    try {
      const mmdb = MmdbFile.open(file);
      this.enricher.replaceSources(
        role === 'asn' ? { asn: asnSourceOf(mmdb) } : { country: countrySourceOf(mmdb) },
      );
      return { file, role, ok: true, databaseType: mmdb.databaseType };
    } catch (error) {
      return { file, role, ok: false, error: error as Error };
    }
  }

  close(): void {
    for (const file of this.watched.splice(0)) unwatchFile(file);
  }
}
