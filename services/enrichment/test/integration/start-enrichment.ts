import { type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { type Env } from '@sluice/config';
import { loadEnrichmentConfig } from '../../src/config/enrichment.config';
import { EnrichmentModule } from '../../src/enrichment.module';

/** The whole enrichment service on a loopback port, as main.ts builds it (less the pino output). */
export async function startEnrichment(
  env: Env,
): Promise<{ app: INestApplication; url: string; close(): Promise<void> }> {
  const app = await NestFactory.create(EnrichmentModule.register(loadEnrichmentConfig(env)), {
    logger: false,
    abortOnError: false,
  });
  app.enableShutdownHooks();
  await app.listen(0, '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  return { app, url, close: () => app.close() };
}
