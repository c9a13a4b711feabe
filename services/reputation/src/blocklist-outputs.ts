import { type BlocklistEntry } from '@sluice/contracts';
import { type BlocklistRepository } from './redis/blocklist.repository';

/** Something that follows the blocklist: Kafka (per change), RPZ and dnsdist (whole list). */
export interface BlocklistSink {
  readonly name: string;
  /** Per-change sinks get the changed entries and the removed ids. */
  changed?(upserts: readonly BlocklistEntry[], removed: readonly string[]): Promise<void>;
  /** Whole-list sinks get the complete current list (debounced). */
  refresh?(entries: readonly BlocklistEntry[]): Promise<void>;
}

/**
 * The blocklist's outputs: per-change sinks get each change as it is stored, whole-list sinks a
 * debounced rebuild from a snapshot; one failing output never keeps the others from being written.
 */
export class BlocklistOutputs {
  private refreshTimer: NodeJS.Timeout | null = null;
  private lastRefreshAt = 0;
  private refreshing: Promise<void> = Promise.resolve();

  constructor(
    private readonly blocklist: BlocklistRepository,
    private readonly sinks: readonly BlocklistSink[],
    /** Whole-list sinks rebuild at most once per this many ms under churn. */
    private readonly refreshDebounceMs: number,
    private readonly onError?: (error: unknown, where: string) => void,
  ) {}

  /** Stored changes: to the per-change sinks now, to the whole-list ones (debounced) after. */
  async changed(upserts: readonly BlocklistEntry[], removed: readonly string[]): Promise<void> {
    for (const s of this.sinks) if (s.changed) await s.changed(upserts, removed);
    if (upserts.length > 0 || removed.length > 0) this.scheduleRefresh();
  }

  /** Pushes the whole list to RPZ/dnsdist sinks now (also used at start-up). */
  async refreshNow(): Promise<void> {
    const run = this.refreshing.then(async () => {
      const { entries } = await this.blocklist.snapshot({ validate: false });
      // One output failing (say RPZ) must not keep the others (dnsdist) from being written.
      const failures: unknown[] = [];
      for (const s of this.sinks) {
        if (!s.refresh) continue;
        try {
          await s.refresh(entries);
        } catch (e) {
          failures.push(e);
          this.onError?.(e, `refresh ${s.name}`);
        }
      }
      if (failures.length > 0) throw failures[0];
    });
    this.refreshing = run.catch(() => undefined);
    await run;
  }

  /** Resolves once pending whole-list refreshes are done (tests, shutdown). */
  async settle(): Promise<void> {
    if (this.refreshTimer !== null) {
      clearTimeout(this.refreshTimer);
      this.refreshTimer = null;
      await this.refreshNow();
    }
    await this.refreshing;
  }

  /**
   * Leading edge: the first change after a quiet spell goes out at once (a new guard must reach
   * the nameservers within seconds of onset); changes that follow within the debounce are
   * coalesced into one rebuild at its end.
   */
  private scheduleRefresh(): void {
    // Without a whole-list output (RPZ, dnsdist) there is nothing to rebuild: no snapshot read.
    if (this.refreshTimer !== null || !this.sinks.some((x) => x.refresh !== undefined)) return;
    const wait = Math.max(0, this.lastRefreshAt + this.refreshDebounceMs - Date.now());
    this.lastRefreshAt = Date.now() + wait;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = null;
      // refreshNow already reported each failing output through onError.
      void this.refreshNow().catch(() => undefined);
    }, wait);
  }
}
