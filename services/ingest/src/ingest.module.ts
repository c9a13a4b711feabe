import { type DynamicModule, Module } from '@nestjs/common';
import { PinoLogger, Registry, ServiceKitModule } from '@sluice/service-kit';
import { type IngestConfig } from './config/ingest.config';
import { IngestRuntime } from './ingest.runtime';
import { createIngestRuntime, IngestService } from './ingest.service';

export const INGEST_CONFIG = Symbol('INGEST_CONFIG');

@Module({})
export class IngestModule {
  static register(config: IngestConfig): DynamicModule {
    return {
      module: IngestModule,
      imports: [ServiceKitModule.forRoot({ serviceName: 'ingest', logLevel: config.LOG_LEVEL })],
      providers: [
        { provide: INGEST_CONFIG, useValue: config },
        {
          provide: IngestRuntime,
          inject: [Registry, PinoLogger],
          useFactory: (registry: Registry, logger: PinoLogger) =>
            createIngestRuntime(config, registry, logger),
        },
        IngestService,
      ],
    };
  }
}
