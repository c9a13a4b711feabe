import { type DynamicModule, Module } from '@nestjs/common';
import { ServiceKitModule } from '@sluice/service-kit';
import { type EnrichmentConfig } from './config/enrichment.config';

export const ENRICHMENT_CONFIG = Symbol('ENRICHMENT_CONFIG');

@Module({})
export class EnrichmentModule {
  static register(config: EnrichmentConfig): DynamicModule {
    return {
      module: EnrichmentModule,
      imports: [
        ServiceKitModule.forRoot({ serviceName: 'enrichment', logLevel: config.LOG_LEVEL }),
      ],
      providers: [{ provide: ENRICHMENT_CONFIG, useValue: config }],
    };
  }
}
