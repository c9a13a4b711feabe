import { z } from 'zod';
import {
  checkKafkaEnv,
  commonEnvShape,
  env,
  kafkaEnvShape,
  loadConfig,
  type Env,
} from '@sluice/config';

/** Every setting of the ingest service, validated once at boot. */
export const ingestConfigSchema = z
  .object({
    ...commonEnvShape,
    ...kafkaEnvShape,
    HTTP_PORT: env.port().default(8081),
  })
  .superRefine(checkKafkaEnv);

export type IngestConfig = z.output<typeof ingestConfigSchema>;

export function loadIngestConfig(source: Env = process.env): IngestConfig {
  return loadConfig(ingestConfigSchema, source);
}
