import { type DynamicModule, Module } from '@nestjs/common';
import { ServiceKitModule } from '@sluice/service-kit';
import { type DetectorConfig } from './config/detector.config';
import { DETECTOR_CONFIG, DetectorService } from './detector.service';

export { DETECTOR_CONFIG };

@Module({})
export class DetectorModule {
  static register(config: DetectorConfig): DynamicModule {
    return {
      module: DetectorModule,
      imports: [ServiceKitModule.forRoot({ serviceName: 'detector', logLevel: config.LOG_LEVEL })],
      providers: [{ provide: DETECTOR_CONFIG, useValue: config }, DetectorService],
    };
  }
}
