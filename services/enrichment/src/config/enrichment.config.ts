import { z } from 'zod';
import {
  checkKafkaEnv,
  commonEnvShape,
  env,
  kafkaEnvShape,
  loadConfig,
  type Env,
} from '@sluice/config';

/** Every setting of the enrichment service, validated once at boot. */
export const enrichmentConfigSchema = z
  .object({
    ...commonEnvShape,
    ...kafkaEnvShape,
    HTTP_PORT: env.port().default(8083),
  })
  .superRefine(checkKafkaEnv);

export type EnrichmentConfig = z.output<typeof enrichmentConfigSchema>;

export function loadEnrichmentConfig(source: Env = process.env): EnrichmentConfig {
  return loadConfig(enrichmentConfigSchema, source);
}
