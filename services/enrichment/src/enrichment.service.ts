import { Inject, Injectable } from '@nestjs/common';
import {
  exitForSupervisor,
  PinoLogger,
  Readiness,
  Registry,
  RuntimeLifecycle,
  serviceLog,
} from '@sluice/service-kit';
import { type EnrichmentConfig } from './config/enrichment.config';
import { type EnrichmentData } from './data/enrichment-data';
import { EnrichmentRuntime } from './enrichment.runtime';
import { createEnrichmentMetrics } from './metrics/enrichment.metrics';

/** The runtime with its hooks wired to the service's metrics and log. */
export function createEnrichmentRuntime(
  config: EnrichmentConfig,
  data: EnrichmentData,
  registry: Registry,
  logger: PinoLogger,
): EnrichmentRuntime {
  const log = serviceLog(logger, 'enrichment');
  let runtime: EnrichmentRuntime | null = null;
  const metrics = createEnrichmentMetrics(registry, {
    stats: () => data.enricher.stats(),
    consumerLag: () => runtime?.consumerLag() ?? [],
  });
  runtime = new EnrichmentRuntime(
    config,
    {
      processed: (n) => metrics.offenders.inc(n),
      bad: (reason) => metrics.malformed.inc({ reason }),
      evicted: (n) => metrics.reportEvicted.inc(n),
      log,
      reloaded: (e) => {
        metrics.mmdbReloads.inc({ role: e.role, result: e.ok ? 'ok' : 'error' });
        if (e.ok) log.info({ file: e.file, databaseType: e.databaseType }, 'MMDB reloaded');
        else
          log.error(
            { file: e.file, err: e.error.message },
            'MMDB reload failed; keeping the previous data',
          );
      },
      fatal: (e) => exitForSupervisor(log, 'a Kafka consumer is down', e),
    },
    data,
  );
  log.info(runtime.data.enricher.sourceNames, 'enrichment data loaded');
  return runtime;
}

/** Starts and stops the runtime with the app, and registers its readiness. */
@Injectable()
export class EnrichmentService extends RuntimeLifecycle<EnrichmentRuntime> {
  constructor(
    @Inject(EnrichmentRuntime) runtime: EnrichmentRuntime,
    @Inject(Readiness) readiness: Readiness,
  ) {
    super(runtime, readiness);
  }

  protected readinessChecks() {
    return { redis: () => this.runtime.redisHealthy, kafka: () => this.runtime.consuming };
  }
}
