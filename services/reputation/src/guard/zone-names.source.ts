import { readFileSync } from 'node:fs';
import { ErrorCodes, SluiceError } from '@sluice/contracts';
import { type TsigKey } from '../core/tsig';
import { zoneFileNames } from '../core/zone-file';
import { fetchZoneNames } from './zone-transfer.client';

export interface ZoneNames {
  source: string;
  names: string[];
}

/**
 * The names zones really have, from their own data: master files (GUARD_ZONE_FILES) and AXFR from
 * their primaries (GUARD_ZONE_AXFR), re-read every GUARD_ZONE_REFRESH_MS. The map is what the
 * pipeline's zone guards read. A file unreadable at boot stops the service (a typo in a path is a
 * config error); a primary that does not answer is logged and retried (it may be down for a while,
 * and the traffic-learned names still work).
 */
export class ZoneNamesSource {
  readonly byZone = new Map<string, ZoneNames>();

  constructor(
    private readonly files: ReadonlyArray<{ zone: string; path: string }>,
    private readonly transfers: ReadonlyArray<{
      zone: string;
      host: string;
      port: number;
      keyName: string | null;
    }>,
    private readonly keys: readonly TsigKey[],
    private readonly maxNames: number,
    private readonly warn: (message: string) => void = () => undefined,
  ) {
    for (const f of files) this.readFile(f, true);
  }

  private readFile(f: { zone: string; path: string }, atBoot: boolean): void {
    let text: string;
    try {
      text = readFileSync(f.path, 'utf8');
    } catch (cause) {
      const message = `GUARD_ZONE_FILES: cannot read the master file for ${f.zone} at ${f.path}`;
      if (atBoot) throw new SluiceError(ErrorCodes.config, message, { cause });
      this.warn(`${message}; keeping the names read before`);
      return;
    }
    this.byZone.set(f.zone, {
      source: `zone-file:${f.path}`,
      names: zoneFileNames(text, f.zone).slice(0, this.maxNames + 1),
    });
  }

  /** Re-reads every file and transfers every zone; failures are logged, old names kept. */
  async refresh(): Promise<void> {
    for (const f of this.files) this.readFile(f, false);
    await Promise.all(
      this.transfers.map(async (t) => {
        try {
          const names = await fetchZoneNames(
            {
              zone: t.zone,
              host: t.host,
              port: t.port,
              key:
                t.keyName === null ? null : (this.keys.find((k) => k.name === t.keyName) ?? null),
            },
            { timeoutMs: 30_000, maxNames: this.maxNames },
          );
          this.byZone.set(t.zone, { source: `axfr:${t.host}:${t.port}`, names });
        } catch (e) {
          this.warn(`${e instanceof Error ? e.message : String(e)}; retrying at the next refresh`);
        }
      }),
    );
  }
}
