import { readFileSync } from 'node:fs';
import { Kafka, logLevel, type KafkaConfig as KafkaJsConfig, type SASLOptions } from 'kafkajs';
import { type KafkaConfig } from '@sluice/config';
import { kafkaLogLevel } from './errors';
import { LogDamper } from './log-damper';

export interface KafkaLogSink {
  debug?(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/**
 * Build the kafkajs client from validated config; kafkajs' own chatter goes to our logger at
 * warn+, except transient broker states it retries by itself (see errors.ts), which go to debug,
 * and repeats of one message within 30 s, which are counted on the next one (log-damper.ts).
 */
export function createKafka(config: KafkaConfig, log?: KafkaLogSink): Kafka {
  const options: KafkaJsConfig = {
    clientId: config.clientId,
    brokers: config.brokers,
    connectionTimeout: 5_000,
    retry: { retries: 8, initialRetryTime: 200 },
    logLevel: logLevel.WARN,
  };
  if (config.sasl) options.sasl = config.sasl as SASLOptions;
  if (config.tls.enabled) {
    options.ssl = config.tls.caFile ? { ca: [readFileSync(config.tls.caFile, 'utf8')] } : true;
  }
  if (log) {
    const damper = new LogDamper();
    options.logCreator = () => (entry) => {
      const { message, ...rest } = entry.log;
      const fields: Record<string, unknown> = { namespace: entry.namespace, ...rest };
      if (entry.level !== logLevel.ERROR && entry.level !== logLevel.WARN) return;
      const level = kafkaLogLevel(
        entry.level === logLevel.ERROR ? 'error' : 'warn',
        entry.namespace,
        message,
        rest as { error?: unknown },
      );
      if (level === 'debug') {
        log.debug?.(fields, `kafka: ${message}`);
        return;
      }
      const admitted = damper.admit(`${level} ${entry.namespace} ${message}`);
      if (admitted === null) return;
      if (admitted.suppressed > 0) fields.suppressedRepeats = admitted.suppressed;
      if (level === 'error') log.error(fields, `kafka: ${message}`);
      else log.warn(fields, `kafka: ${message}`);
    };
  }
  return new Kafka(options);
}
