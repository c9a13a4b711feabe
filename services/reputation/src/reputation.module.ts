import { type DynamicModule, Module } from '@nestjs/common';
import { httpLimitsFrom } from '@sluice/config';
import { ServiceKitModule } from '@sluice/service-kit';
import { type ReputationConfig } from './config/reputation.config';
import { FeedController } from './http/feed.controller';
import { REPUTATION_CONFIG, ReputationRuntime } from './reputation.runtime';

export { REPUTATION_CONFIG };

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
      providers: [{ provide: REPUTATION_CONFIG, useValue: config }, ReputationRuntime],
      exports: [ReputationRuntime],
    };
  }
}
