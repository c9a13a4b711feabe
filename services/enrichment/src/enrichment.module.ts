import { type DynamicModule, Module } from '@nestjs/common';
import { httpLimitsFrom } from '@sluice/config';
import { PinoLogger, Registry, ServiceKitModule } from '@sluice/service-kit';
import { type EnrichmentConfig } from './config/enrichment.config';
import { createEnrichmentRuntime, EnrichmentService } from './enrichment.service';
import { EnrichmentRuntime, loadEnrichmentData } from './enrichment.runtime';
import { ReportController } from './report/report.controller';
import { ReportService } from './report/report.service';

export const ENRICHMENT_CONFIG = Symbol('ENRICHMENT_CONFIG');

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
            createEnrichmentRuntime(config, data, registry, logger),
        },
        {
          provide: ReportService,
          inject: [EnrichmentRuntime],
          useFactory: (runtime: EnrichmentRuntime) => runtime.reports,
        },
        EnrichmentService,
      ],
    };
  }
}
