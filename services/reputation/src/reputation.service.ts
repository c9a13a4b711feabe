import { Inject, Injectable } from '@nestjs/common';
import {
  exitForSupervisor,
  PinoLogger,
  Readiness,
  Registry,
  RuntimeLifecycle,
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
export class ReputationService extends RuntimeLifecycle<ReputationRuntime> {
  constructor(
    @Inject(ReputationRuntime) runtime: ReputationRuntime,
    @Inject(Readiness) readiness: Readiness,
  ) {
    super(runtime, readiness);
  }

  protected readinessChecks() {
    return {
      // Redis connected and answering (a hung Redis keeps its connection `ready`).
      reputation: () => this.runtime.redisHealthy,
      // The consumers too: a crashed consumer used to leave the service ready with nothing read.
      kafka: () => this.runtime.consuming,
    };
  }
}
