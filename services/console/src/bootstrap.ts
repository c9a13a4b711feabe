import { bootstrapService } from '@sluice/service-kit';
import { loadConsoleConfig } from './config/console.config';
import { ConsoleModule, connectConsoleKafka } from './console.module';

export function bootstrap() {
  return bootstrapService(
    loadConsoleConfig,
    (config) => ConsoleModule.register(config),
    connectConsoleKafka,
  );
}
