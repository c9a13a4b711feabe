import { Inject, Injectable } from '@nestjs/common';
import {
  exitForSupervisor,
  PinoLogger,
  Readiness,
  Registry,
  registerConsumerLag,
  RuntimeLifecycle,
  serviceLog,
} from '@sluice/service-kit';
import { type DetectorConfig } from './config/detector.config';
import { DetectorRuntime } from './detector.runtime';

/** The runtime with its hooks wired to the service's registry and log. */
export function createDetectorRuntime(
  config: DetectorConfig,
  registry: Registry,
  logger: PinoLogger,
): DetectorRuntime {
  const log = serviceLog(logger, 'detector');
  const runtime = new DetectorRuntime(config, {
    log,
    registry,
    // The consumer could not be rebuilt in-process: exit non-zero so the supervisor restarts
    // us (state resumes from the Redis checkpoints) rather than stay up without consuming.
    fatal: (error) => exitForSupervisor(log, 'the Kafka consumer is down', error),
  });
  registerConsumerLag(registry, { snapshot: () => runtime.consumerLag() });
  return runtime;
}

/** Starts the runtime after boot, stops it (final checkpoint, flush) on shutdown. */
@Injectable()
export class DetectorService extends RuntimeLifecycle<DetectorRuntime> {
  // After every module is up: the detector serves no HTTP of its own.
  protected override readonly startsOn = 'bootstrap';

  constructor(
    @Inject(DetectorRuntime) runtime: DetectorRuntime,
    @Inject(Readiness) readiness: Readiness,
  ) {
    super(runtime, readiness);
  }

  protected readinessChecks() {
    const checks: Record<string, () => boolean> = {
      'kafka-consumer': () => this.runtime.consuming,
    };
    // Without checkpoints the detector has no Redis to be ready for.
    if (this.runtime.redisHealthy !== null) checks.redis = () => this.runtime.redisHealthy ?? false;
    return checks;
  }
}
