import { createRedis, type Redis } from '@sluice/redis';
import { testRedisConfig } from '@sluice/testing';

describe('shared Redis client against the real server', () => {
  let redis: Redis;
  const config = testRedisConfig();

  beforeAll(async () => {
    redis = createRedis(config);
    await redis.connect();
  });

  afterAll(async () => {
    // KEYS patterns are not prefixed by ioredis: look for this test's own prefix explicitly.
    expect(await redis.keys(`${config.keyPrefix}*`)).toEqual([]);
    await redis.quit();
  });

  it('round-trips values under the configured key prefix', async () => {
    await redis.hset('score:198.51.100.7', { value: '12.5', updatedAt: '1000' });
    expect(await redis.hgetall('score:198.51.100.7')).toEqual({ value: '12.5', updatedAt: '1000' });

    // The prefix is really applied on the server side: a raw client sees the full key.
    const raw = createRedis({ url: config.url, keyPrefix: '' });
    await raw.connect();
    expect(await raw.exists(`${config.keyPrefix}score:198.51.100.7`)).toBe(1);
    await raw.quit();

    await redis.del('score:198.51.100.7');
  });
});
