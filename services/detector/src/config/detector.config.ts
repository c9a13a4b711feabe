import { z } from 'zod';
import {
  checkKafkaEnv,
  commonEnvShape,
  env,
  kafkaEnvShape,
  loadConfig,
  type Env,
} from '@sluice/config';

/** Every setting of the detector service, validated once at boot. */
export const detectorConfigSchema = z
  .object({
    ...commonEnvShape,
    ...kafkaEnvShape,
    HTTP_PORT: env.port().default(8082),
  })
  .superRefine(checkKafkaEnv);

export type DetectorConfig = z.output<typeof detectorConfigSchema>;

export function loadDetectorConfig(source: Env = process.env): DetectorConfig {
  return loadConfig(detectorConfigSchema, source);
}
