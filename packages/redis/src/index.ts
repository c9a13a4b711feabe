import { Redis } from 'ioredis';
import { type RedisConfig } from '@sluice/config';

export { Redis };

/**
 * One place that builds Redis clients. Every key gets the deployment's prefix, so several
 * Sluice installs (or test runs) can share one Redis without touching each other's keys.
 */
export function createRedis(config: RedisConfig): Redis {
  return new Redis(config.url, {
    keyPrefix: config.keyPrefix,
    // While disconnected, commands wait in the offline queue; each one fails after three
    // reconnection attempts rather than waiting for Redis forever.
    maxRetriesPerRequest: 3,
    enableOfflineQueue: true,
    lazyConnect: true,
  });
}
