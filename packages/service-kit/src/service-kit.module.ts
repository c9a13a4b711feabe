import { type DynamicModule, Global, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { HealthController } from './health.controller';
import { Readiness } from './readiness';

export interface ServiceKitOptions {
  serviceName: string;
  logLevel: string;
}

/** Logging, health, readiness and metrics, identical in every service. */
@Global()
@Module({})
export class ServiceKitModule {
  static forRoot(options: ServiceKitOptions): DynamicModule {
    const registry = new Registry();
    registry.setDefaultLabels({ service: options.serviceName });
    collectDefaultMetrics({ register: registry });
    return {
      module: ServiceKitModule,
      imports: [
        LoggerModule.forRoot({
          pinoHttp: {
            level: options.logLevel,
            base: { service: options.serviceName },
            // Health and metrics probes would drown the log; requests are not our hot path.
            autoLogging: false,
          },
        }),
      ],
      controllers: [HealthController],
      providers: [Readiness, { provide: Registry, useValue: registry }],
      exports: [Readiness, Registry],
    };
  }
}
