import { type DynamicModule, Module } from '@nestjs/common';
import { PinoLogger, Registry, ServiceKitModule } from '@sluice/service-kit';
import { type DetectorConfig } from './config/detector.config';
import { DetectorRuntime } from './detector.runtime';
import { createDetectorRuntime, DetectorService } from './detector.service';

export const DETECTOR_CONFIG = Symbol('DETECTOR_CONFIG');

@Module({})
export class DetectorModule {
  static register(config: DetectorConfig): DynamicModule {
    return {
      module: DetectorModule,
      imports: [ServiceKitModule.forRoot({ serviceName: 'detector', logLevel: config.LOG_LEVEL })],
      providers: [
        { provide: DETECTOR_CONFIG, useValue: config },
        {
          provide: DetectorRuntime,
          inject: [Registry, PinoLogger],
          useFactory: (registry: Registry, logger: PinoLogger) =>
            createDetectorRuntime(config, registry, logger),
        },
        DetectorService,
      ],
    };
  }
}
