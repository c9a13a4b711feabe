import {
  type DynamicModule,
  Inject,
  Injectable,
  Module,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { httpLimitsFrom } from '@sluice/config';
import {
  Counter,
  exitForSupervisor,
  Gauge,
  PinoLogger,
  Readiness,
  Registry,
  registerConsumerLag,
  ServiceKitModule,
} from '@sluice/service-kit';
import { type EnrichmentConfig } from './config/enrichment.config';
import { type EnrichmentData } from './data/enrichment-data';
import { EnrichmentRuntime, loadEnrichmentData } from './enrichment.runtime';
import { ReportController } from './report/report.controller';
import { ReportService } from './report/report.service';

export const ENRICHMENT_CONFIG = Symbol('ENRICHMENT_CONFIG');

/** Starts and stops the runtime with the app, and exposes its metrics and readiness. */
@Injectable()
export class EnrichmentLifecycle implements OnModuleInit, OnApplicationShutdown {
  constructor(
    @Inject(EnrichmentRuntime) private readonly runtime: EnrichmentRuntime,
    @Inject(Readiness) private readonly readiness: Readiness,
  ) {}

  async onModuleInit(): Promise<void> {
    this.readiness.register('redis', () => this.runtime.redisHealthy);
    this.readiness.register('kafka', () => this.runtime.consuming);
    await this.runtime.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.runtime.stop();
  }
}

function createRuntime(
  config: EnrichmentConfig,
  data: EnrichmentData,
  registry: Registry,
  logger: PinoLogger,
): EnrichmentRuntime {
  const processed = new Counter({
    name: 'sluice_enrichment_offenders_total',
    help: 'Offender records enriched and published',
    registers: [registry],
  });
  const bad = new Counter({
    name: 'sluice_enrichment_bad_input_total',
    help: 'Input messages that did not match their schema, by reason',
    labelNames: ['reason'],
    registers: [registry],
  });
  const reloads = new Counter({
    name: 'sluice_enrichment_mmdb_reloads_total',
    help: 'Operator MMDB reloads after a change on disk, by role and result',
    labelNames: ['role', 'result'],
    registers: [registry],
  });
  logger.setContext('enrichment');
  const runtime = new EnrichmentRuntime(
    config,
    {
      processed: (n) => processed.inc(n),
      bad: (reason) => bad.inc({ reason }),
      log: {
        info: (o, m) => logger.info(o, m),
        warn: (o, m) => logger.warn(o, m),
        error: (o, m) => logger.error(o, m),
      },
      reloaded: (e) => {
        reloads.inc({ role: e.role, result: e.ok ? 'ok' : 'error' });
        if (e.ok) logger.info({ file: e.file, databaseType: e.databaseType }, 'MMDB reloaded');
        else
          logger.error(
            { file: e.file, err: e.error.message },
            'MMDB reload failed; keeping the previous data',
          );
      },
      fatal: (e) => exitForSupervisor(logger, 'a Kafka consumer is down', e),
    },
    data,
  );
  const stats = () => runtime.data.enricher.stats();
  new Gauge({
    name: 'sluice_enrichment_lookups',
    help: 'Enrichment lookups since start (cache hits included)',
    registers: [registry],
    collect() {
      this.set(stats().lookups);
    },
  });
  new Gauge({
    name: 'sluice_enrichment_cache_hits',
    help: 'Enrichment lookups answered from the LRU cache since start',
    registers: [registry],
    collect() {
      this.set(stats().cacheHits);
    },
  });
  registerConsumerLag(registry, { snapshot: () => runtime.consumerLag() });
  logger.info(runtime.data.enricher.sourceNames, 'enrichment data loaded');
  return runtime;
}

@Module({})
export class EnrichmentModule {
  /** Loads the IP data here, before Nest starts: a bad file fails boot with one clear line. */
  static register(config: EnrichmentConfig): DynamicModule {
    const data = loadEnrichmentData(config);
    return {
      module: EnrichmentModule,
      imports: [
        ServiceKitModule.forRoot({
          serviceName: 'enrichment',
          logLevel: config.LOG_LEVEL,
          http: {
            ...httpLimitsFrom(config),
            apiKeys: config.REPORT_API_KEYS,
            apiKeySetting: 'REPORT_API_KEYS',
          },
        }),
      ],
      controllers: [ReportController],
      providers: [
        { provide: ENRICHMENT_CONFIG, useValue: config },
        {
          provide: EnrichmentRuntime,
          inject: [Registry, PinoLogger],
          useFactory: (registry: Registry, logger: PinoLogger) =>
            createRuntime(config, data, registry, logger),
        },
        {
          provide: ReportService,
          inject: [EnrichmentRuntime],
          useFactory: (runtime: EnrichmentRuntime) => runtime.reports,
        },
        EnrichmentLifecycle,
      ],
    };
  }
}
