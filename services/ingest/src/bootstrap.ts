import { bootstrapService } from '@sluice/service-kit';
import { loadIngestConfig } from './config/ingest.config';
import { IngestModule } from './ingest.module';

export function bootstrap() {
  return bootstrapService(loadIngestConfig, (config) => IngestModule.register(config));
}
