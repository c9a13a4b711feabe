import {
  type DynamicModule,
  Global,
  Inject,
  Injectable,
  Module,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { LoggerModule } from 'nestjs-pino';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { HealthController } from './health.controller';
import { applyServerLimits, httpGuardMiddleware, type HttpGuardOptions } from './http-guard';
import { serviceLogOptions } from './logger';
import { Readiness } from './readiness';
import { registerReadinessMetrics } from './shared-metrics';

export interface ServiceKitOptions {
  serviceName: string;
  logLevel: string;
  /** API key, size and rate limits for the service's public API (feed, report API). */
  http?: HttpGuardOptions;
}

const HTTP_GUARD_OPTIONS = Symbol('HTTP_GUARD_OPTIONS');

/**
 * Puts the guard on the Express instance when the module is built: ahead of Nest's body parsers
 * and routes, in every way the app is started (bootstrapService or a test's NestFactory.create).
 */
@Injectable()
export class HttpGuard implements OnApplicationBootstrap {
  constructor(
    @Inject(HttpAdapterHost) private readonly host: HttpAdapterHost,
    @Inject(HTTP_GUARD_OPTIONS) private readonly options: HttpGuardOptions,
  ) {
    const adapter = host.httpAdapter;
    adapter
      .getInstance<{ set(k: string, v: unknown): void }>()
      .set('trust proxy', options.trustProxy);
    for (const m of httpGuardMiddleware(options)) adapter.use(m);
  }

  /** The HTTP server exists once the app does: the header limit goes on it before listen. */
  onApplicationBootstrap(): void {
    const server: unknown = this.host.httpAdapter.getHttpServer();
    if (server) applyServerLimits(server as Parameters<typeof applyServerLimits>[0], this.options);
  }
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
            ...serviceLogOptions(options.serviceName, options.logLevel),
            // Health and metrics probes would drown the log; requests are not our hot path.
            autoLogging: false,
          },
        }),
      ],
      controllers: [HealthController],
      providers: [
        { provide: Readiness, useValue: readiness },
        { provide: Registry, useValue: registry },
        ...(options.http
          ? [{ provide: HTTP_GUARD_OPTIONS, useValue: options.http }, HttpGuard]
          : []),
      ],
      exports: [Readiness, Registry],
    };
  }
}
