import { bootstrapService } from '@sluice/service-kit';
import { loadEnrichmentConfig } from './config/enrichment.config';
import { EnrichmentModule } from './enrichment.module';

export function bootstrap() {
  return bootstrapService(loadEnrichmentConfig, (config) => EnrichmentModule.register(config));
}
