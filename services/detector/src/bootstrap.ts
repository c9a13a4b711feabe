import { bootstrapService } from '@sluice/service-kit';
import { loadDetectorConfig } from './config/detector.config';
import { DetectorModule } from './detector.module';

export function bootstrap() {
  return bootstrapService(loadDetectorConfig, (config) => DetectorModule.register(config));
}
