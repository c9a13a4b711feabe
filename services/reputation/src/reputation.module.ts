import { type DynamicModule, Module } from '@nestjs/common';
import { httpLimitsFrom } from '@sluice/config';
import { PinoLogger, Registry, ServiceKitModule } from '@sluice/service-kit';
import { type ReputationConfig } from './config/reputation.config';
import { FeedController } from './http/feed.controller';
import { FeedService } from './http/feed.service';
import { ReputationRuntime } from './reputation.runtime';
import { createReputationRuntime, ReputationService } from './reputation.service';

export const REPUTATION_CONFIG = Symbol('REPUTATION_CONFIG');

@Module({})
export class ReputationModule {
  static register(config: ReputationConfig): DynamicModule {
    return {
      module: ReputationModule,
      imports: [
        ServiceKitModule.forRoot({
          serviceName: 'reputation',
          logLevel: config.LOG_LEVEL,
          http: {
            ...httpLimitsFrom(config),
            apiKeys: config.FEED_API_KEYS,
            apiKeySetting: 'FEED_API_KEYS',
          },
        }),
      ],
      controllers: [FeedController],
      providers: [
        { provide: REPUTATION_CONFIG, useValue: config },
        {
          provide: ReputationRuntime,
          inject: [Registry, PinoLogger],
          useFactory: (registry: Registry, logger: PinoLogger) =>
            createReputationRuntime(config, registry, logger),
        },
        {
          provide: FeedService,
          inject: [ReputationRuntime],
          useFactory: (runtime: ReputationRuntime) => runtime.feed,
        },
        ReputationService,
      ],
    };
  }
}
