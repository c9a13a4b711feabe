import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Env, kafkaConfigFrom, type KafkaConfig } from '@sluice/config';
import { decodeQueryBatch, type QueryEvent } from '@sluice/contracts';
import { loadDetectorConfig } from '@sluice/detector';
import { loadEnrichmentConfig } from '@sluice/enrichment';
import { loadIngestConfig, openPublisher } from '@sluice/ingest';
import {
  BatchConsumer,
  createKafka,
  provisionTopics,
  waitForGroupCoordinator,
  type KafkaConnectionTuning,
} from '@sluice/kafka';
import { loadReputationConfig } from '@sluice/reputation';
import { freePort, repoRoot, uniqueName, waitFor } from '@sluice/testing';
import { loadConsoleConfig } from '../../../services/console/src/config/console.config';
import { consoleKafkaOptions } from '../../../services/console/src/console.module';
import { ForeignCertificates, SecureKafka } from './secure-kafka';

/**
 * Issue 14, security: Sluice's own clients against a real broker whose only listener is
 * SASL_SSL (SCRAM-SHA-512 users, a test CA; infra/kafka/kafka.sh KAFKA_SECURITY=sasl_ssl). The
 * services take every setting from the environment through their own config schema; what is
 * refused is refused by the broker or by TLS verification, with an error that says why; and no
 * log line, error or process output ever holds the password or the key's passphrase.
 */
const PORT = Number(process.env.SLUICE_SECURITY_KAFKA_PORT ?? 19_392);
const USER = 'sluice';
const PASSWORD = `pw-${randomBytes(12).toString('hex')}`;
const WRONG_PASSWORD = `wrong-${randomBytes(12).toString('hex')}`;
const PASSPHRASE = `pp-${randomBytes(12).toString('hex')}`;
/** The console's login key (CONSOLE_API_KEYS): never logged either. */
const CONSOLE_KEY = `ck-${randomBytes(12).toString('hex')}`;
const SECRETS = [PASSWORD, WRONG_PASSWORD, PASSPHRASE, CONSOLE_KEY];

/** Every log line of every client the test builds, to search for secrets at the end. */
class RecordingLog {
  readonly lines: { level: string; msg: string; obj: object }[] = [];
  debug(obj: object, msg: string): void {
    this.lines.push({ level: 'debug', msg, obj });
  }
  info(obj: object, msg: string): void {
    this.lines.push({ level: 'info', msg, obj });
  }
  warn(obj: object, msg: string): void {
    this.lines.push({ level: 'warn', msg, obj });
  }
  error(obj: object, msg: string): void {
    this.lines.push({ level: 'error', msg, obj });
  }
  get text(): string {
    return this.lines.map((l) => `${l.level} ${l.msg} ${JSON.stringify(l.obj)}`).join('\n');
  }
}

/** Fail fast where a refusal is expected: kafkajs would otherwise retry for a minute. */
const FAIL_FAST: KafkaConnectionTuning = { connectionTimeout: 5_000, retry: { retries: 0 } };

function event(i: number, zone: string): QueryEvent {
  return {
    ts: 1_790_000_000_000 + i,
    resolver: `192.0.2.${i % 200}`,
    resolverPort: 40_000 + (i % 1000),
    transport: 'udp',
    qname: `x${i.toString(36)}.${zone}`,
    qtype: 1,
    qclass: 1,
    rd: false,
    cd: false,
    do: false,
    ednsSize: null,
    id: i % 65_536,
    zone,
    rcode: 3,
    ancount: 0,
  };
}

describe('security: Kafka with SASL/SCRAM and TLS', () => {
  const broker = new SecureKafka(PORT, USER, PASSWORD);
  const log = new RecordingLog();
  /** Messages of every error the clients threw. */
  const thrown: string[] = [];
  /** Output of every process started. */
  const outputs: string[] = [];
  let dir: string;
  let foreign: ForeignCertificates;
  /** What a deployment sets: the password by file, the test CA, TLS on. */
  let env: Env;
  const topics = { queries: uniqueName('sec-queries'), deadLetter: uniqueName('sec-dlq') };

  beforeAll(async () => {
    await broker.start();
    dir = mkdtempSync(join(tmpdir(), 'sluice-sec-env-'));
    const passwordFile = join(dir, 'kafka-password');
    writeFileSync(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
    foreign = new ForeignCertificates(broker.clientKeyFile, PASSPHRASE);
    env = {
      KAFKA_BROKERS: broker.brokers.join(','),
      KAFKA_SASL_MECHANISM: 'scram-sha-512',
      KAFKA_SASL_USERNAME: USER,
      KAFKA_SASL_PASSWORD_FILE: passwordFile,
      KAFKA_TLS: 'true',
      KAFKA_TLS_CA_FILE: broker.caFile,
      KAFKA_TOPIC_PARTITIONS: '3',
      CONSOLE_API_KEYS: CONSOLE_KEY,
    };
  }, 150_000);

  afterAll(async () => {
    foreign?.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
    await broker.destroy();
  }, 60_000);

  /** Connect an admin through `config` and list the topics (or throw what kafkajs threw). */
  async function listTopics(config: KafkaConfig, tuning?: KafkaConnectionTuning) {
    const admin = createKafka(config, log, tuning).admin({ retry: { retries: 0 } });
    try {
      await admin.connect();
      return await admin.listTopics();
    } finally {
      await admin.disconnect();
    }
  }

  /** The error a connection attempt through `config` fails with. */
  async function refusal(config: KafkaConfig): Promise<Error> {
    const error = await listTopics(config, FAIL_FAST).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(error).toBeInstanceOf(Error);
    thrown.push(
      `${error!.name}: ${error!.message} ${String((error as { cause?: unknown }).cause)}`,
    );
    return error!;
  }

  const detectorKafka = (extra: Env = {}): KafkaConfig =>
    kafkaConfigFrom(loadDetectorConfig({ ...env, ...extra }), 'sluice-detector');

  it('the ingest publishes and a detector-configured BatchConsumer reads back every query', async () => {
    const ingestConfig = loadIngestConfig({
      ...env,
      INGEST_QUERIES_TOPIC: topics.queries,
      INGEST_DEADLETTER_TOPIC: topics.deadLetter,
      INGEST_LINGER_MS: '10',
    });
    const admin = createKafka(kafkaConfigFrom(ingestConfig, 'sluice-ingest'), log);
    await provisionTopics(
      admin,
      [
        { name: topics.queries, compacted: false },
        { name: topics.deadLetter, compacted: false },
      ],
      { partitions: 3, replicationFactor: 1 },
    );

    const zones = ['a.example', 'b.example', 'c.example'];
    const sent = 3_000;
    const ingest = await openPublisher(ingestConfig, 'sluice-ingest', log);
    for (let i = 0; i < sent; i++) ingest.publisher.record(event(i, zones[i % 3]!), 'security');
    await ingest.close();

    const detector = createKafka(detectorKafka(), log);
    const groupId = uniqueName('sec-detector');
    await waitForGroupCoordinator(detector, groupId);
    let received = 0;
    const names = new Set<string>();
    const consumer = new BatchConsumer(detector, {
      groupId,
      topics: [topics.queries],
      fromBeginning: true,
      maxWaitTimeMs: 200,
      log,
      handler: async (messages) => {
        for (const m of messages)
          for (const e of decodeQueryBatch(m.value!).events) {
            received++;
            names.add(e.qname);
          }
      },
    });
    try {
      await consumer.start();
      await waitFor(() => (received >= sent ? true : undefined), 60_000, `${sent} queries`);
    } finally {
      await consumer.stop();
    }
    expect(received).toBe(sent);
    expect(names.size).toBe(sent);
    expect(log.lines.filter((l) => l.level === 'error')).toEqual([]);
  }, 120_000);

  it("every service's config reaches the broker: ingest, detector, enrichment, reputation, console", async () => {
    const configs: KafkaConfig[] = [
      kafkaConfigFrom(loadIngestConfig(env), 'sluice-ingest'),
      detectorKafka(),
      kafkaConfigFrom(loadEnrichmentConfig(env), 'sluice-enrichment'),
      kafkaConfigFrom(loadReputationConfig(env), 'sluice-reputation'),
    ];
    for (const config of configs) expect(await listTopics(config)).toContain(topics.queries);
    // The console goes through Nest's Kafka transport: these are the client options it hands
    // Nest (the console process below gets ready through them).
    const client = consoleKafkaOptions(loadConsoleConfig(env)).client!;
    expect(client.sasl).toEqual({ mechanism: 'scram-sha-512', username: USER, password: PASSWORD });
    expect(client.ssl).toEqual({ ca: [expect.stringContaining('BEGIN CERTIFICATE')] });
  }, 60_000);

  it('SCRAM-SHA-256 and PLAIN (over TLS) work too; the password may also be given directly', async () => {
    for (const mechanism of ['scram-sha-256', 'plain'])
      expect(
        await listTopics(
          detectorKafka({
            KAFKA_SASL_MECHANISM: mechanism,
            KAFKA_SASL_PASSWORD_FILE: undefined,
            KAFKA_SASL_PASSWORD: PASSWORD,
          }),
        ),
      ).toContain(topics.queries);
  }, 60_000);

  it('a wrong password is refused by the broker, with an error that says so', async () => {
    const error = await refusal(
      detectorKafka({ KAFKA_SASL_PASSWORD_FILE: undefined, KAFKA_SASL_PASSWORD: WRONG_PASSWORD }),
    );
    expect(error.name).toBe('KafkaJSSASLAuthenticationError');
    expect(error.message).toMatch(
      /SASL SCRAM SHA512 authentication failed: .*invalid credentials with SASL mechanism SCRAM-SHA-512/,
    );
    const unknownUser = await refusal(detectorKafka({ KAFKA_SASL_USERNAME: 'mallory' }));
    expect(unknownUser.name).toBe('KafkaJSSASLAuthenticationError');
  }, 60_000);

  it('a client without TLS gets nothing from the TLS port', async () => {
    // SCRAM alone is a valid setting (SASL_PLAINTEXT brokers exist); this listener wants TLS.
    const plain = detectorKafka({ KAFKA_TLS: 'false', KAFKA_TLS_CA_FILE: undefined });
    expect(plain.tls.enabled).toBe(false);
    const error = await refusal(plain);
    expect(`${error.message} ${String(error.cause)}`).toMatch(/Closed connection|Connection error/);
  }, 60_000);

  it("a CA that did not sign the broker's certificate fails verification; so does a wrong name", async () => {
    const wrongCa = await refusal(detectorKafka({ KAFKA_TLS_CA_FILE: foreign.file('ca.pem') }));
    expect(`${wrongCa.message} ${String(wrongCa.cause)}`).toMatch(
      /self-signed certificate in certificate chain|unable to get local issuer certificate/,
    );
    // Node's default roots do not know the test CA either.
    const noCa = await refusal(detectorKafka({ KAFKA_TLS_CA_FILE: undefined }));
    expect(`${noCa.message} ${String(noCa.cause)}`).toMatch(/self-signed certificate|issuer/);
    // The broker's certificate names 127.0.0.1 and localhost, not this.
    const wrongName = await refusal(detectorKafka({ KAFKA_TLS_SERVERNAME: 'kafka.example' }));
    expect(`${wrongName.message} ${String(wrongName.cause)}`).toMatch(
      /Hostname\/IP does not match certificate's altnames/,
    );
    expect(await listTopics(detectorKafka({ KAFKA_TLS_SERVERNAME: 'localhost' }))).toContain(
      topics.queries,
    );
  }, 60_000);

  it('mutual TLS: a certificate from the CA is accepted (its key encrypted too); none or a foreign one is refused', async () => {
    const mtls = {
      KAFKA_BROKERS: broker.mtlsBrokers.join(','),
      KAFKA_TLS_CERT_FILE: broker.clientCertFile,
      KAFKA_TLS_KEY_FILE: broker.clientKeyFile,
    };
    expect(await listTopics(detectorKafka(mtls))).toContain(topics.queries);
    const encrypted = {
      ...mtls,
      KAFKA_TLS_KEY_FILE: foreign.file('encrypted.key'),
      KAFKA_TLS_KEY_PASSPHRASE_FILE: foreign.file('passphrase'),
    };
    expect(await listTopics(detectorKafka(encrypted))).toContain(topics.queries);
    // That listener checks the certificate a client sends against its CA, and wants one.
    await refusal(
      detectorKafka({
        ...mtls,
        KAFKA_TLS_CERT_FILE: foreign.file('client.pem'),
        KAFKA_TLS_KEY_FILE: foreign.file('client.key'),
      }),
    );
    await refusal(
      detectorKafka({
        KAFKA_BROKERS: broker.mtlsBrokers.join(','),
      }),
    );
    // A wrong passphrase stops at boot, naming the setting, without the passphrase.
    let error: unknown;
    try {
      createKafka(
        detectorKafka({
          ...encrypted,
          KAFKA_TLS_KEY_PASSPHRASE_FILE: undefined,
          KAFKA_TLS_KEY_PASSPHRASE: WRONG_PASSWORD,
        }),
      );
    } catch (e) {
      error = e;
    }
    expect((error as Error).message).toMatch(
      /KAFKA_TLS_KEY_PASSPHRASE: does not decrypt KAFKA_TLS_KEY_FILE/,
    );
    thrown.push((error as Error).message);
  }, 60_000);

  /** Run a program of this repo with `extra` env; resolves with its exit code and output. */
  function program(
    args: string[],
    extra: Env,
    until?: (output: string) => Promise<boolean>,
  ): Promise<{ code: number | null; output: string }> {
    const child = spawn(process.execPath, args, {
      cwd: repoRoot,
      env: { PATH: process.env.PATH, LOG_LEVEL: 'info', ...env, ...extra },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    return (async () => {
      try {
        if (until) {
          let gone = false;
          void exited.then(() => (gone = true));
          // Until the condition holds, or the process ends by itself (then the caller sees why).
          await waitFor(
            async () => (gone || (await until(output)) ? true : undefined),
            60_000,
            `${args.join(' ')}: ${output.slice(-2000)}`,
          );
          if (!gone) child.kill('SIGTERM');
        }
        return { code: await exited, output };
      } finally {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        outputs.push(output);
      }
    })();
  }

  const dist = (path: string): string => {
    const file = join(repoRoot, path);
    if (!existsSync(file)) throw new Error(`${path} is missing: run pnpm build first`);
    return file;
  };

  it('as processes: the CLI creates topics and the console (Nest transport) gets ready; a wrong password or an unreadable CA stops it', async () => {
    const cli = await program([dist('apps/cli/dist/main.js'), 'topics', 'create'], {});
    expect(cli.output).toMatch(/created: .*sluice\.alerts\.v1/);
    expect(cli.code).toBe(0);

    const group = uniqueName('sec-console');
    await waitForGroupCoordinator(createKafka(detectorKafka()), group);
    const main = dist('services/console/dist/main.js');
    const port = await freePort();
    const ready = await program(
      [main],
      { HTTP_PORT: String(port), HTTP_HOST: '127.0.0.1', CONSOLE_CONSUMER_GROUP: group },
      async () => {
        const res = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null);
        return res?.status === 200;
      },
    );
    expect(ready.output).toMatch(/"service":"console"/);

    const wrong = await program([main], {
      HTTP_PORT: String(await freePort()),
      KAFKA_SASL_PASSWORD_FILE: undefined,
      KAFKA_SASL_PASSWORD: WRONG_PASSWORD,
    });
    expect(wrong.code).toBe(1);
    expect(wrong.output).toMatch(/SASL SCRAM SHA512 authentication failed/);

    const missingCa = join(dir, 'no-such-ca.pem');
    const badCa = await program([main], {
      HTTP_PORT: String(await freePort()),
      KAFKA_TLS_CA_FILE: missingCa,
    });
    expect(badCa.code).toBe(1);
    expect(badCa.output).toContain(
      `SLUICE_CONFIG_INVALID: Invalid configuration:\n  KAFKA_TLS_CA_FILE: cannot read the file (ENOENT) (got "${missingCa}")`,
    );
  }, 150_000);

  it('no secret in any log line, error or process output', () => {
    // The searches below must have something to search: the clients logged and threw.
    expect(log.lines.length).toBeGreaterThan(0);
    expect(thrown.length).toBeGreaterThanOrEqual(6);
    expect(outputs.length).toBe(4);
    const everything = [log.text, ...thrown, ...outputs].join('\n');
    for (const secret of SECRETS) expect(everything).not.toContain(secret);
  });
});
