import { type DynamicModule, Global, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { HealthController } from './health.controller';
import { Readiness } from './readiness';
import { registerReadinessMetrics } from './shared-metrics';

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
    const readiness = new Readiness();
    registerReadinessMetrics(registry, readiness);
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
      providers: [
        { provide: Readiness, useValue: readiness },
        { provide: Registry, useValue: registry },
      ],
      exports: [Readiness, Registry],
    };
  }
}
