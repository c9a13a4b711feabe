import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kafkaConfigFrom } from '@sluice/config';
import { kafkaConnectionOptions } from '@sluice/kafka';
import { loadConsoleConfig } from './config/console.config';
import { consoleKafkaOptions } from './console.module';

describe('consoleKafkaOptions', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-console-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("gives Nest's Kafka transport the same connection as every other service (SASL, TLS)", () => {
    const password = join(dir, 'password');
    writeFileSync(password, 'hunter2\n');
    const config = loadConsoleConfig({
      KAFKA_BROKERS: 'kafka-1:9093',
      KAFKA_SASL_MECHANISM: 'scram-sha-512',
      KAFKA_SASL_USERNAME: 'sluice',
      KAFKA_SASL_PASSWORD_FILE: password,
      KAFKA_TLS: 'true',
      KAFKA_TLS_SERVERNAME: 'kafka.example',
      CONSOLE_API_KEYS: 'a-console-key-for-the-test',
    });
    const client = consoleKafkaOptions(config).client;
    expect(client).toEqual(kafkaConnectionOptions(kafkaConfigFrom(config, 'sluice-console')));
    expect(client?.sasl).toEqual({
      mechanism: 'scram-sha-512',
      username: 'sluice',
      password: 'hunter2',
    });
    expect(client?.ssl).toEqual({ servername: 'kafka.example' });
  });
});
