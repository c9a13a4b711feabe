import { provideInfra, type ProvidedInfra } from './infra';

declare global {
  var __SLUICE_INFRA__: ProvidedInfra | undefined;
}

/** Jest globalSetup: provide Kafka and Redis once, hand their addresses to workers via env. */
export default async function globalSetup(): Promise<void> {
  const infra = await provideInfra();
  process.env.KAFKA_BROKERS = infra.brokers.join(',');
  process.env.REDIS_URL = infra.redisUrl;
  globalThis.__SLUICE_INFRA__ = infra;
  process.stderr.write(
    `\n[sluice-testing] Kafka ${infra.brokers.join(',')} and Redis ${infra.redisUrl} (via ${infra.via})\n`,
  );
}
