import { z } from 'zod';
import {
  checkKafkaEnv,
  commonEnvShape,
  env,
  kafkaEnvShape,
  loadConfig,
  type Env,
} from '@sluice/config';

/** Every setting of the reputation service, validated once at boot. */
export const reputationConfigSchema = z
  .object({
    ...commonEnvShape,
    ...kafkaEnvShape,
    HTTP_PORT: env.port().default(8084),
  })
  .superRefine(checkKafkaEnv);

export type ReputationConfig = z.output<typeof reputationConfigSchema>;

export function loadReputationConfig(source: Env = process.env): ReputationConfig {
  return loadConfig(reputationConfigSchema, source);
}
