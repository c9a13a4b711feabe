import { z } from 'zod';
import { SluiceError } from '@sluice/contracts';
import { loadConfig } from './load-config';
import {
  checkKafkaEnv,
  commonEnvShape,
  env,
  kafkaConfigFrom,
  kafkaEnvShape,
  redisEnvShape,
} from './schemas';

const schema = z
  .object({
    ...kafkaEnvShape,
    ...redisEnvShape,
    ...commonEnvShape,
    HTTP_PORT: env.port().default(8080),
  })
  .superRefine(checkKafkaEnv);

describe('loadConfig', () => {
  it('gives the embedded defaults on an empty environment', () => {
    const cfg = loadConfig(schema, {});
    expect(cfg.KAFKA_BROKERS).toEqual(['127.0.0.1:9092']);
    expect(cfg.REDIS_URL).toBe('redis://127.0.0.1:6379');
    expect(cfg.HTTP_PORT).toBe(8080);
    expect(kafkaConfigFrom(cfg, 'test').sasl).toBeNull();
  });

  it('treats empty strings as unset', () => {
    expect(loadConfig(schema, { HTTP_PORT: '  ' }).HTTP_PORT).toBe(8080);
  });

  it('names every bad variable in one message', () => {
    let error: unknown;
    try {
      loadConfig(schema, { KAFKA_BROKERS: 'not a broker', HTTP_PORT: '70000', LOG_LEVEL: 'loud' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SluiceError);
    const message = (error as SluiceError).message;
    expect((error as SluiceError).code).toBe('SLUICE_CONFIG_INVALID');
    expect(message).toMatch(
      /KAFKA_BROKERS: must be a comma-separated list of host:port \(got "not a broker"\)/,
    );
    expect(message).toMatch(/HTTP_PORT: must be 0–65535/);
    expect(message).toMatch(/LOG_LEVEL: must be one of/);
  });

  it('requires SASL credentials with a mechanism, without echoing secrets', () => {
    expect(() =>
      loadConfig(schema, { KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_PASSWORD: 'hunter2' }),
    ).toThrow(/KAFKA_SASL_USERNAME: is required when KAFKA_SASL_MECHANISM is set/);
    expect(() =>
      loadConfig(schema, { REDIS_URL: 'http://x', KAFKA_SASL_PASSWORD: 'hunter2' }),
    ).not.toThrow(/hunter2/);
  });

  it('parses SASL and TLS settings', () => {
    const cfg = loadConfig(schema, {
      KAFKA_BROKERS: 'a:9092, b:9093',
      KAFKA_SASL_MECHANISM: 'scram-sha-512',
      KAFKA_SASL_USERNAME: 'u',
      KAFKA_SASL_PASSWORD: 'p',
      KAFKA_TLS: 'true',
    });
    expect(kafkaConfigFrom(cfg, 'x')).toMatchObject({
      brokers: ['a:9092', 'b:9093'],
      sasl: { mechanism: 'scram-sha-512', username: 'u', password: 'p' },
      tls: { enabled: true, caFile: null },
    });
  });
});
