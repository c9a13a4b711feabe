import { type DynamicModule, Module } from '@nestjs/common';
import { ServiceKitModule } from '@sluice/service-kit';
import { type ReputationConfig } from './config/reputation.config';

export const REPUTATION_CONFIG = Symbol('REPUTATION_CONFIG');

@Module({})
export class ReputationModule {
  static register(config: ReputationConfig): DynamicModule {
    return {
      module: ReputationModule,
      imports: [
        ServiceKitModule.forRoot({ serviceName: 'reputation', logLevel: config.LOG_LEVEL }),
      ],
      providers: [{ provide: REPUTATION_CONFIG, useValue: config }],
    };
  }
}
