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

describe('Kafka SASL and TLS settings', () => {
  function problems(env: Record<string, string>): string {
    try {
      loadConfig(schema, env);
    } catch (error) {
      expect(error).toBeInstanceOf(SluiceError);
      return (error as SluiceError).message;
    }
    return '';
  }

  const scram = {
    KAFKA_SASL_MECHANISM: 'scram-sha-512',
    KAFKA_SASL_USERNAME: 'sluice',
  };

  it('takes the password from a file instead (read by @sluice/kafka when the client is built)', () => {
    const cfg = loadConfig(schema, { ...scram, KAFKA_SASL_PASSWORD_FILE: '/run/secrets/kafka' });
    expect(kafkaConfigFrom(cfg, 'x').sasl).toEqual({
      mechanism: 'scram-sha-512',
      username: 'sluice',
      password: null,
      passwordFile: '/run/secrets/kafka',
    });
  });

  it('names each SASL setting that is missing, doubled or ignored', () => {
    expect(problems({ KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'u' })).toMatch(
      /KAFKA_SASL_PASSWORD: is required when KAFKA_SASL_MECHANISM is set \(or KAFKA_SASL_PASSWORD_FILE\)/,
    );
    const both = problems({
      ...scram,
      KAFKA_SASL_PASSWORD: 'hunter2',
      KAFKA_SASL_PASSWORD_FILE: '/run/secrets/kafka',
    });
    expect(both).toMatch(/KAFKA_SASL_PASSWORD_FILE: set KAFKA_SASL_PASSWORD or .* not both/);
    expect(both).not.toMatch(/hunter2/);
    const orphan = problems({ KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'hunter2' });
    expect(orphan).toMatch(/KAFKA_SASL_USERNAME: is set but KAFKA_SASL_MECHANISM is not/);
    expect(orphan).toMatch(/KAFKA_SASL_PASSWORD: is set but KAFKA_SASL_MECHANISM is not/);
    expect(orphan).not.toMatch(/hunter2/);
  });

  it('refuses PLAIN without TLS: it would send the password in clear text', () => {
    const env = { ...scram, KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_PASSWORD: 'hunter2' };
    expect(problems(env)).toMatch(/KAFKA_SASL_MECHANISM: plain sends the password in clear text/);
    expect(problems({ ...env, KAFKA_TLS: 'true' })).toBe('');
    // SCRAM never sends the password itself, so SASL_PLAINTEXT stays possible with it.
    expect(problems({ ...scram, KAFKA_SASL_PASSWORD: 'hunter2' })).toBe('');
  });

  it('rejects TLS settings while KAFKA_TLS is off, naming each', () => {
    const message = problems({
      KAFKA_TLS_CA_FILE: '/etc/ssl/ca.pem',
      KAFKA_TLS_SERVERNAME: 'kafka.example',
      KAFKA_TLS_KEY_PASSPHRASE: 'hunter2',
    });
    expect(message).toMatch(/KAFKA_TLS_CA_FILE: is set but KAFKA_TLS is not true/);
    expect(message).toMatch(/KAFKA_TLS_SERVERNAME: is set but KAFKA_TLS is not true/);
    expect(message).toMatch(/KAFKA_TLS_KEY_PASSPHRASE: is set but KAFKA_TLS is not true/);
    expect(message).not.toMatch(/hunter2/);
  });

  it('needs the client certificate and key together, a passphrase only with a key', () => {
    const tls = { KAFKA_TLS: 'true' };
    expect(problems({ ...tls, KAFKA_TLS_CERT_FILE: '/c.pem' })).toMatch(
      /KAFKA_TLS_KEY_FILE: is required with KAFKA_TLS_CERT_FILE/,
    );
    expect(problems({ ...tls, KAFKA_TLS_KEY_FILE: '/c.key' })).toMatch(
      /KAFKA_TLS_CERT_FILE: is required with KAFKA_TLS_KEY_FILE/,
    );
    const stray = problems({ ...tls, KAFKA_TLS_KEY_PASSPHRASE: 'hunter2' });
    expect(stray).toMatch(/KAFKA_TLS_KEY_PASSPHRASE: is set but KAFKA_TLS_KEY_FILE is not/);
    expect(stray).not.toMatch(/hunter2/);
    const mtls = { ...tls, KAFKA_TLS_CERT_FILE: '/c.pem', KAFKA_TLS_KEY_FILE: '/c.key' };
    expect(
      problems({ ...mtls, KAFKA_TLS_KEY_PASSPHRASE: 'x', KAFKA_TLS_KEY_PASSPHRASE_FILE: '/p' }),
    ).toMatch(/KAFKA_TLS_KEY_PASSPHRASE_FILE: set KAFKA_TLS_KEY_PASSPHRASE or .* not both/);
    expect(problems({ ...tls, KAFKA_TLS_SERVERNAME: 'not a name' })).toMatch(
      /KAFKA_TLS_SERVERNAME: must be a DNS name/,
    );
  });

  it('carries TLS settings into the client config', () => {
    const cfg = loadConfig(schema, {
      KAFKA_TLS: 'true',
      KAFKA_TLS_CA_FILE: '/etc/kafka/ca.pem',
      KAFKA_TLS_CERT_FILE: '/etc/kafka/client.pem',
      KAFKA_TLS_KEY_FILE: '/etc/kafka/client.key',
      KAFKA_TLS_KEY_PASSPHRASE_FILE: '/run/secrets/passphrase',
      KAFKA_TLS_SERVERNAME: 'kafka.example',
    });
    expect(kafkaConfigFrom(cfg, 'x').tls).toEqual({
      enabled: true,
      caFile: '/etc/kafka/ca.pem',
      certFile: '/etc/kafka/client.pem',
      keyFile: '/etc/kafka/client.key',
      keyPassphrase: null,
      keyPassphraseFile: '/run/secrets/passphrase',
      servername: 'kafka.example',
    });
  });

  it('never echoes a secret in its message; a file setting shows its path, a URL hides its password', () => {
    const message = problems({
      REDIS_URL: 'http://:hunter2@redis:6379',
      KAFKA_SASL_MECHANISM: 'scram',
      KAFKA_SASL_PASSWORD: 'hunter2',
    });
    expect(message).toMatch(
      /REDIS_URL: must be a redis:\/\/ or rediss:\/\/ URL \(got "http:\/\/:\*\*\*@redis:6379"\)/,
    );
    expect(message).not.toMatch(/hunter2/);
    expect(
      problems({ KAFKA_TLS: 'maybe', KAFKA_SASL_PASSWORD_FILE: '/run/secrets/kafka' }),
    ).toMatch(/KAFKA_TLS: must be true or false \(got "maybe"\)/);
  });
});
