import { Inject, Injectable } from '@nestjs/common';
import { PinoLogger, Readiness, Registry, RuntimeLifecycle, serviceLog } from '@sluice/service-kit';
import { type IngestConfig } from './config/ingest.config';
import { IngestRuntime } from './ingest.runtime';

/** The runtime with the service's registry (sluice_ingest_*) and log. */
export function createIngestRuntime(
  config: IngestConfig,
  registry: Registry,
  logger: PinoLogger,
): IngestRuntime {
  return new IngestRuntime(config, { log: serviceLog(logger, 'ingest'), registry });
}

/** Starts the runtime with the app; stops it before the HTTP server closes. */
@Injectable()
export class IngestService extends RuntimeLifecycle<IngestRuntime> {
  // Listeners closed and the producer flushed while /metrics still answers: a flush waiting on
  // a stalled broker stays visible (sluice_ingest_buffered_*).
  protected override readonly stopsOn = 'module-destroy';

  constructor(
    @Inject(IngestRuntime) runtime: IngestRuntime,
    @Inject(Readiness) readiness: Readiness,
  ) {
    super(runtime, readiness);
  }

  protected readinessChecks() {
    return { kafka: () => this.runtime.connected };
  }
}
