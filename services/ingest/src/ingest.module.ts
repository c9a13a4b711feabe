import { type DynamicModule, Module } from '@nestjs/common';
import { ServiceKitModule } from '@sluice/service-kit';
import { type IngestConfig } from './config/ingest.config';
import { INGEST_CONFIG, IngestService } from './ingest.service';

export { INGEST_CONFIG };

@Module({})
export class IngestModule {
  static register(config: IngestConfig): DynamicModule {
    return {
      module: IngestModule,
      imports: [ServiceKitModule.forRoot({ serviceName: 'ingest', logLevel: config.LOG_LEVEL })],
      providers: [{ provide: INGEST_CONFIG, useValue: config }, IngestService],
    };
  }
}
