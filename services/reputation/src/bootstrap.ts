import { bootstrapService } from '@sluice/service-kit';
import { loadReputationConfig } from './config/reputation.config';
import { ReputationModule } from './reputation.module';

export function bootstrap() {
  return bootstrapService(loadReputationConfig, (config) => ReputationModule.register(config));
}
