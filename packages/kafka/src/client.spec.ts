import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type KafkaConfig, type KafkaTlsConfig } from '@sluice/config';
import { SluiceError } from '@sluice/contracts';
import { kafkaConnectionOptions } from './client';

/** A CA, a client certificate signed by it, its key in clear and encrypted, and a stranger key. */
function makeCertificates(
  dir: string,
): Record<'ca' | 'cert' | 'key' | 'encKey' | 'otherKey', string> {
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '1',
    '-subj',
    '/CN=unit CA',
  );
  openssl('req', ...ec, '-keyout', 'client.key', '-out', 'client.csr', '-subj', '/CN=client');
  openssl(
    'x509',
    '-req',
    '-in',
    'client.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-set_serial',
    '2',
    '-days',
    '1',
    '-out',
    'client.pem',
  );
  openssl(
    'pkey',
    '-in',
    'client.key',
    '-aes256',
    '-passout',
    'pass:open-sesame',
    '-out',
    'client.enc.key',
  );
  openssl(
    'genpkey',
    '-algorithm',
    'EC',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-out',
    'other.key',
  );
  return {
    ca: join(dir, 'ca.pem'),
    cert: join(dir, 'client.pem'),
    key: join(dir, 'client.key'),
    encKey: join(dir, 'client.enc.key'),
    otherKey: join(dir, 'other.key'),
  };
}

describe('kafkaConnectionOptions', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-kafka-client-'));
  const files = makeCertificates(dir);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const base: KafkaConfig = {
    brokers: ['kafka-1:9093'],
    clientId: 'sluice-test',
    sasl: null,
    tls: { enabled: false, caFile: null },
    topicPartitions: 6,
    replicationFactor: 3,
  };
  const tls = (t: Partial<KafkaTlsConfig>): KafkaConfig => ({
    ...base,
    tls: { enabled: true, caFile: null, ...t },
  });

  /** The message of the config error thrown, which must name settings and hold no secret. */
  function problem(config: KafkaConfig): string {
    let error: unknown;
    try {
      kafkaConnectionOptions(config);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SluiceError);
    expect((error as SluiceError).code).toBe('SLUICE_CONFIG_INVALID');
    const message = (error as SluiceError).message;
    expect(message).not.toMatch(/hunter2|open-sesame|PRIVATE KEY/);
    return message;
  }

  it('is plaintext without SASL when neither is configured', () => {
    expect(kafkaConnectionOptions(base)).toEqual({
      clientId: 'sluice-test',
      brokers: ['kafka-1:9093'],
      connectionTimeout: 5_000,
      retry: { retries: 8, initialRetryTime: 200 },
    });
  });

  it('passes the SASL credentials, the password from its file without the trailing newline', () => {
    const sasl = { mechanism: 'scram-sha-512', username: 'sluice' } as const;
    expect(
      kafkaConnectionOptions({ ...base, sasl: { ...sasl, password: 'hunter2' } }).sasl,
    ).toEqual({ ...sasl, password: 'hunter2' });
    const passwordFile = file('password', 'hunter2\n');
    expect(
      kafkaConnectionOptions({ ...base, sasl: { ...sasl, password: null, passwordFile } }).sasl,
    ).toEqual({ ...sasl, password: 'hunter2' });
  });

  it('passes every TLS file, never turning verification off', () => {
    const ssl = kafkaConnectionOptions(
      tls({
        caFile: files.ca,
        certFile: files.cert,
        keyFile: files.encKey,
        keyPassphraseFile: file('passphrase', 'open-sesame\n'),
        servername: 'kafka.example',
      }),
    ).ssl as Record<string, unknown>;
    expect(Object.keys(ssl).sort()).toEqual(['ca', 'cert', 'key', 'passphrase', 'servername']);
    expect(ssl.ca).toEqual([expect.stringContaining('BEGIN CERTIFICATE')]);
    expect(ssl.passphrase).toBe('open-sesame');
    expect(ssl.servername).toBe('kafka.example');
    expect(ssl).not.toHaveProperty('rejectUnauthorized');
  });

  it("uses Node's default roots when TLS has no CA file (an object, so kafkajs connects with TLS)", () => {
    expect(kafkaConnectionOptions(tls({})).ssl).toEqual({});
  });

  it('names each setting whose file is unreadable, empty or not PEM, in one message', () => {
    const missing = join(dir, 'gone.pem');
    const message = problem({
      ...tls({ caFile: missing, certFile: file('not.pem', 'hello'), keyFile: files.key }),
      sasl: {
        mechanism: 'scram-sha-512',
        username: 'u',
        password: null,
        passwordFile: file('empty', '\n'),
      },
    });
    expect(message).toMatch(/KAFKA_SASL_PASSWORD_FILE: the file is empty/);
    expect(message).toContain(
      `KAFKA_TLS_CA_FILE: cannot read the file (ENOENT) (got "${missing}")`,
    );
    expect(message).toMatch(/KAFKA_TLS_CERT_FILE: is not a PEM file with a certificate/);
    const garbled = file(
      'garbled.pem',
      '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n',
    );
    expect(problem(tls({ caFile: garbled }))).toMatch(
      /KAFKA_TLS_CA_FILE: holds no certificate that can be parsed/,
    );
    expect(problem(tls({ caFile: files.key }))).toMatch(
      /KAFKA_TLS_CA_FILE: is not a PEM file with a certificate/,
    );
  });

  it('stops on a key that is not the certificate’s, encrypted without a passphrase, or a wrong one', () => {
    expect(problem(tls({ certFile: files.cert, keyFile: files.otherKey }))).toMatch(
      /KAFKA_TLS_KEY_FILE: is not the key of the certificate in KAFKA_TLS_CERT_FILE/,
    );
    expect(problem(tls({ certFile: files.cert, keyFile: files.encKey }))).toMatch(
      /KAFKA_TLS_KEY_FILE: is encrypted: set KAFKA_TLS_KEY_PASSPHRASE/,
    );
    expect(
      problem(tls({ certFile: files.cert, keyFile: files.encKey, keyPassphrase: 'hunter2' })),
    ).toMatch(/KAFKA_TLS_KEY_PASSPHRASE: does not decrypt KAFKA_TLS_KEY_FILE/);
    const ok = tls({ certFile: files.cert, keyFile: files.encKey, keyPassphrase: 'open-sesame' });
    expect(() => kafkaConnectionOptions(ok)).not.toThrow();
  });

  it('takes fail-fast overrides of the timeout and retries', () => {
    const options = kafkaConnectionOptions(base, {
      connectionTimeout: 1_000,
      retry: { retries: 0 },
    });
    expect(options.connectionTimeout).toBe(1_000);
    expect(options.retry).toEqual({ retries: 0 });
  });
});
