import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext, type ConnectionOptions } from 'node:tls';
import {
  Kafka,
  logLevel,
  type KafkaConfig as KafkaJsConfig,
  type RetryOptions,
  type SASLOptions,
} from 'kafkajs';
import { type KafkaConfig, type KafkaSaslConfig, type KafkaTlsConfig } from '@sluice/config';
import { ErrorCodes, SluiceError } from '@sluice/contracts';
import { kafkaLogLevel } from './errors';
import { LogDamper } from './log-damper';

export interface KafkaLogSink {
  debug?(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** What a kafkajs client needs to reach the brokers: addresses, timeouts, SASL and TLS. */
export type KafkaConnectionOptions = Pick<
  KafkaJsConfig,
  'clientId' | 'brokers' | 'connectionTimeout' | 'retry' | 'sasl' | 'ssl'
>;

/** Overrides of the connection defaults, e.g. a tool that should fail fast rather than retry. */
export interface KafkaConnectionTuning {
  connectionTimeout?: number;
  retry?: RetryOptions;
}

/**
 * The one place a Kafka connection is shaped from config: createKafka uses it, and so does the
 * console's Nest Kafka transport, so SASL and TLS reach every client the same way. The files
 * the settings name (password, CA, client certificate and key, passphrase) are read and checked
 * here, once, when the client is built at boot: a file that cannot be used throws a
 * SLUICE_CONFIG_INVALID error naming every such setting, and none of their contents.
 */
export function kafkaConnectionOptions(
  config: KafkaConfig,
  tuning: KafkaConnectionTuning = {},
): KafkaConnectionOptions {
  const files = new SettingFiles();
  const options: KafkaConnectionOptions = {
    clientId: config.clientId,
    brokers: config.brokers,
    connectionTimeout: tuning.connectionTimeout ?? 5_000,
    retry: tuning.retry ?? { retries: 8, initialRetryTime: 200 },
  };
  if (config.sasl) options.sasl = saslOptions(config.sasl, files);
  if (config.tls.enabled) options.ssl = tlsOptions(config.tls, files);
  files.throwIfInvalid();
  return options;
}

function saslOptions(sasl: KafkaSaslConfig, files: SettingFiles): SASLOptions {
  const password = sasl.passwordFile
    ? files.secret('KAFKA_SASL_PASSWORD_FILE', sasl.passwordFile)
    : (sasl.password ?? '');
  return { mechanism: sasl.mechanism, username: sasl.username, password } as SASLOptions;
}

/** Node TLS options; certificate verification stays on (rejectUnauthorized is never touched). */
function tlsOptions(tls: KafkaTlsConfig, files: SettingFiles): ConnectionOptions {
  const options: ConnectionOptions = {};
  if (tls.caFile) {
    const ca = files.pem('KAFKA_TLS_CA_FILE', tls.caFile, CERTIFICATE);
    if (ca !== null) {
      options.ca = [ca];
      try {
        new X509Certificate(ca);
      } catch {
        files.problem('KAFKA_TLS_CA_FILE', 'holds no certificate that can be parsed', tls.caFile);
      }
    }
  }
  if (tls.servername) options.servername = tls.servername;
  if (!tls.certFile || !tls.keyFile) return options;
  const cert = files.pem('KAFKA_TLS_CERT_FILE', tls.certFile, CERTIFICATE);
  const key = files.pem('KAFKA_TLS_KEY_FILE', tls.keyFile, PRIVATE_KEY);
  const passphrase = tls.keyPassphraseFile
    ? files.secret('KAFKA_TLS_KEY_PASSPHRASE_FILE', tls.keyPassphraseFile)
    : (tls.keyPassphrase ?? undefined);
  if (cert === null || key === null) return options;
  Object.assign(options, { cert, key }, passphrase !== undefined ? { passphrase } : {});
  try {
    // What Node does at the first connection, done now so a bad key stops the boot instead.
    createSecureContext({ cert, key, passphrase });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    const passphraseSetting = tls.keyPassphraseFile
      ? 'KAFKA_TLS_KEY_PASSPHRASE_FILE'
      : 'KAFKA_TLS_KEY_PASSPHRASE';
    if (/bad decrypt|bad password|passphrase|interrupted or cancelled/i.test(reason))
      files.problem(
        passphrase !== undefined ? passphraseSetting : 'KAFKA_TLS_KEY_FILE',
        passphrase !== undefined
          ? 'does not decrypt KAFKA_TLS_KEY_FILE'
          : 'is encrypted: set KAFKA_TLS_KEY_PASSPHRASE or KAFKA_TLS_KEY_PASSPHRASE_FILE',
      );
    else if (/key values mismatch/i.test(reason))
      files.problem(
        'KAFKA_TLS_KEY_FILE',
        'is not the key of the certificate in KAFKA_TLS_CERT_FILE',
      );
    // Node's reason names the OpenSSL routine, never the key or passphrase.
    else files.problem('KAFKA_TLS_KEY_FILE', `cannot be used with KAFKA_TLS_CERT_FILE (${reason})`);
  }
  return options;
}

const CERTIFICATE = { marker: /-----BEGIN CERTIFICATE-----/, what: 'a certificate' };
const PRIVATE_KEY = { marker: /-----BEGIN [A-Z ]*PRIVATE KEY-----/, what: 'a private key' };

/** Reads the files settings name and collects what is wrong with them, for one message. */
class SettingFiles {
  private readonly problems: string[] = [];

  problem(setting: string, message: string, path?: string): void {
    this.problems.push(`  ${setting}: ${message}${path === undefined ? '' : ` (got "${path}")`}`);
  }

  read(setting: string, path: string): string | null {
    try {
      return readFileSync(path, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? String(error);
      this.problem(setting, `cannot read the file (${code})`, path);
      return null;
    }
  }

  /** A secret kept in a file: one trailing newline (from `echo` or a Secret) is not part of it. */
  secret(setting: string, path: string): string {
    const text = this.read(setting, path);
    if (text === null) return '';
    const value = text.replace(/\r?\n$/, '');
    if (value === '') this.problem(setting, 'the file is empty', path);
    return value;
  }

  pem(setting: string, path: string, kind: { marker: RegExp; what: string }): string | null {
    const text = this.read(setting, path);
    if (text === null) return null;
    if (kind.marker.test(text)) return text;
    this.problem(setting, `is not a PEM file with ${kind.what}`, path);
    return null;
  }

  throwIfInvalid(): void {
    if (this.problems.length > 0)
      throw new SluiceError(
        ErrorCodes.config,
        `Invalid configuration:\n${this.problems.join('\n')}`,
      );
  }
}

/**
 * Build the kafkajs client from validated config; kafkajs' own chatter goes to our logger at
 * warn+, except transient broker states it retries by itself (see errors.ts), which go to debug,
 * and repeats of one message within 30 s, which are counted on the next one (log-damper.ts).
 */
export function createKafka(
  config: KafkaConfig,
  log?: KafkaLogSink,
  tuning?: KafkaConnectionTuning,
): Kafka {
  const options: KafkaJsConfig = {
    ...kafkaConnectionOptions(config, tuning),
    logLevel: logLevel.WARN,
  };
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
