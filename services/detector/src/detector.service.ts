import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import {
  exitForSupervisor,
  PinoLogger,
  Readiness,
  Registry,
  registerConsumerLag,
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
export class DetectorService implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(
    @Inject(DetectorRuntime) private readonly runtime: DetectorRuntime,
    @Inject(Readiness) private readonly readiness: Readiness,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.readiness.register('kafka-consumer', () => this.runtime.consuming);
    if (this.runtime.redisHealthy !== null)
      this.readiness.register('redis', () => this.runtime.redisHealthy ?? false);
    await this.runtime.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.runtime.stop();
  }
}
