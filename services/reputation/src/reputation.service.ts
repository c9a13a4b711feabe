import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import {
  exitForSupervisor,
  PinoLogger,
  Readiness,
  Registry,
  serviceLog,
} from '@sluice/service-kit';
import { type ReputationConfig } from './config/reputation.config';
import { createReputationMetrics } from './metrics/reputation.metrics';
import { ReputationRuntime } from './reputation.runtime';

/** The runtime with its hooks wired to the service's metrics and log. */
export function createReputationRuntime(
  config: ReputationConfig,
  registry: Registry,
  logger: PinoLogger,
): ReputationRuntime {
  const log = serviceLog(logger, 'reputation');
  let runtime: ReputationRuntime | null = null;
  const metrics = createReputationMetrics(registry, {
    stats: () => runtime?.stats,
    consumerLag: () => runtime?.consumerLag() ?? [],
  });
  runtime = new ReputationRuntime(config, {
    log,
    bad: (reason) => metrics.malformed.inc({ reason }),
    served: (outcome, transport) => metrics.rpzRequests.inc({ outcome, transport }),
    blocklistSize: (entries) => metrics.blocklistEntries.set(entries),
    fatal: (e) => exitForSupervisor(log, 'a Kafka consumer is down', e),
  });
  return runtime;
}

/** Starts and stops the runtime with the app, and registers its readiness. */
@Injectable()
export class ReputationService implements OnModuleInit, OnApplicationShutdown {
  constructor(
    @Inject(ReputationRuntime) private readonly runtime: ReputationRuntime,
    @Inject(Readiness) private readonly readiness: Readiness,
  ) {}

  async onModuleInit(): Promise<void> {
    // Redis connected and answering (a hung Redis keeps its connection `ready`).
    this.readiness.register('reputation', () => this.runtime.redisHealthy);
    // The consumers too: a crashed consumer used to leave the service ready with nothing read.
    this.readiness.register('kafka', () => this.runtime.consuming);
    await this.runtime.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.runtime.stop();
  }
}
