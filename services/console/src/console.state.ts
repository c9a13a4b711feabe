import { Subject } from 'rxjs';
import { type ConsoleUpdate, ConsoleView } from './core/console-view';
import { type ConsoleConfig } from './config/console.config';
import { type StageHealth, parseReadyz, summariseMetrics } from './core/stage-health';

export interface ConsoleStateHooks {
  clients(delta: number): void;
  consumed(topic: string): void;
  bad(topic: string): void;
  log: { warn(obj: object, msg: string): void };
}

/**
 * The one view every browser shares: Kafka handlers write into it, a timer takes the coalesced
 * changes once per CONSOLE_PUSH_INTERVAL_MS and hands them to every open event stream.
 * It also asks each pipeline stage for /readyz and /metrics (server side: browsers never poll).
 */
export class ConsoleState {
  readonly view: ConsoleView;
  readonly updates$ = new Subject<ConsoleUpdate[]>();
  private timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly config: ConsoleConfig,
    private readonly hooks: ConsoleStateHooks,
    private readonly fetchFn: typeof fetch = fetch,
  ) {
    this.view = new ConsoleView({
      maxZones: config.CONSOLE_MAX_ZONES,
      timelinePoints: config.CONSOLE_TIMELINE_POINTS,
      maxAttacks: config.CONSOLE_MAX_ATTACKS,
      maxResolversPerAttack: config.CONSOLE_MAX_RESOLVERS_PER_ATTACK,
      evidencePerResolver: config.CONSOLE_EVIDENCE_PER_RESOLVER,
      maxBlocklist: config.CONSOLE_MAX_BLOCKLIST,
      reportIntervalMs: config.CONSOLE_REPORT_INTERVAL_MS,
    });
  }

  get log(): ConsoleStateHooks['log'] {
    return this.hooks.log;
  }

  clientOpened(): void {
    this.hooks.clients(1);
  }

  clientClosed(): void {
    this.hooks.clients(-1);
  }

  consumed(topic: string): void {
    this.hooks.consumed(topic);
  }

  bad(topic: string, error: unknown): void {
    this.hooks.bad(topic);
    this.hooks.log.warn(
      { topic, err: error instanceof Error ? error.message : String(error) },
      'skipped a record that does not match its schema',
    );
  }

  start(): void {
    this.timers.push(
      setInterval(() => this.push(), this.config.CONSOLE_PUSH_INTERVAL_MS).unref(),
      setInterval(() => void this.pollHealth(), this.config.CONSOLE_HEALTH_INTERVAL_MS).unref(),
    );
    void this.pollHealth();
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.updates$.complete();
  }

  push(): void {
    const updates = this.view.takeUpdates(Date.now());
    if (updates.length) this.updates$.next(updates);
  }

  async pollHealth(): Promise<void> {
    const stages = await Promise.all(this.config.CONSOLE_STAGES.map((s) => this.stageHealth(s)));
    this.view.setHealth(stages);
  }

  private async stageHealth(stage: { name: string; url: string }): Promise<StageHealth> {
    const base: StageHealth = {
      name: stage.name,
      url: stage.url,
      ready: null,
      checks: {},
      lag: null,
      badInput: null,
      drops: null,
      error: null,
      checkedAt: Date.now(),
    };
    const timeout = Math.min(3_000, this.config.CONSOLE_HEALTH_INTERVAL_MS);
    try {
      const [readyz, metrics] = await Promise.all([
        this.fetchFn(`${stage.url}/readyz`, { signal: AbortSignal.timeout(timeout) }),
        this.fetchFn(`${stage.url}/metrics`, { signal: AbortSignal.timeout(timeout) }),
      ]);
      return {
        ...base,
        ...parseReadyz(await readyz.json().catch(() => null)),
        ...(metrics.ok ? summariseMetrics(await metrics.text()) : {}),
      };
    } catch (error) {
      return { ...base, error: error instanceof Error ? error.message : String(error) };
    }
  }
}
