import {
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { type Readiness, type ReadinessCheck } from './readiness';

/** What a service's plain runtime offers its Nest shell. */
export interface ServiceRuntime {
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The Nest side every service's runtime shares: its readiness checks registered, then the
 * runtime started; stopped on shutdown. `<S>Service` extends it and names its checks.
 */
export abstract class RuntimeLifecycle<R extends ServiceRuntime>
  implements OnModuleInit, OnApplicationBootstrap, OnModuleDestroy, OnApplicationShutdown
{
  /**
   * When the runtime starts: at module init (before the HTTP server listens, so controllers
   * never see it unstarted), or at application bootstrap, once every module is up.
   */
  protected readonly startsOn: 'module-init' | 'bootstrap' = 'module-init';

  /**
   * When it stops: at shutdown, after the HTTP server closed, or at module destroy, while the
   * server still answers /metrics and /readyz (Nest closes it in between).
   */
  protected readonly stopsOn: 'module-destroy' | 'shutdown' = 'shutdown';

  constructor(
    protected readonly runtime: R,
    private readonly readiness: Readiness,
  ) {}

  /** Readiness checks by name (the /readyz and sluice_ready_check names), each reading the runtime. */
  protected abstract readinessChecks(): Record<string, ReadinessCheck>;

  async onModuleInit(): Promise<void> {
    if (this.startsOn === 'module-init') await this.start();
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.startsOn === 'bootstrap') await this.start();
  }

  async onModuleDestroy(): Promise<void> {
    if (this.stopsOn === 'module-destroy') await this.runtime.stop();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.stopsOn === 'shutdown') await this.runtime.stop();
  }

  private async start(): Promise<void> {
    for (const [name, check] of Object.entries(this.readinessChecks()))
      this.readiness.register(name, check);
    await this.runtime.start();
  }
}
