import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot, waitFor } from '@sluice/testing';

const run = promisify(execFile);

/**
 * A private broker with one SASL_SSL listener (infra/kafka/kafka.sh, KAFKA_SECURITY=sasl_ssl):
 * SCRAM users created at format time, a test CA made by openssl at start; and a second SASL_SSL
 * listener on port + 2 that requires a client certificate signed by that CA (mutual TLS). Its
 * own ports and state dir; the shared broker on 9092 is never touched.
 */
export class SecureKafka {
  readonly brokers: string[];
  /** The listener that requires a client certificate. */
  readonly mtlsBrokers: string[];
  readonly stateDir: string;

  constructor(
    readonly port: number,
    readonly username: string,
    private readonly password: string,
  ) {
    this.brokers = [`127.0.0.1:${port}`];
    this.mtlsBrokers = [`127.0.0.1:${port + 2}`];
    this.stateDir = join(repoRoot, '.local', 'kafka', `port-${port}`);
  }

  get caFile(): string {
    return join(this.stateDir, 'tls', 'ca.pem');
  }

  /** A client certificate and key signed by the broker's CA (for mutual TLS). */
  get clientCertFile(): string {
    return join(this.stateDir, 'tls', 'client.pem');
  }

  get clientKeyFile(): string {
    return join(this.stateDir, 'tls', 'client.key');
  }

  private async script(command: 'start' | 'reset' | 'stop'): Promise<string> {
    const { stderr } = await run('bash', [join(repoRoot, 'infra/kafka/kafka.sh'), command], {
      cwd: repoRoot,
      env: {
        ...process.env,
        KAFKA_PORT: String(this.port),
        KAFKA_SECURITY: 'sasl_ssl',
        KAFKA_SCRAM_USERS: `${this.username}:${this.password}`,
        KAFKA_MTLS_PORT: String(this.port + 2),
        KAFKA_HEAP_OPTS: '-Xmx384m -Xms128m',
      },
      maxBuffer: 16 << 20,
    });
    return stderr;
  }

  /** Fresh storage, certificates and users; resolves once the broker answers over TLS. */
  async start(): Promise<void> {
    await this.script('reset');
    // A cluster id of our own spares kafka.sh one JVM start (its `random-uuid`): 16 random
    // bytes, base64url, as Kafka's Uuid prints them (never with a leading '-').
    let id: string;
    do id = randomBytes(16).toString('base64url');
    while (id.startsWith('-'));
    mkdirSync(this.stateDir, { recursive: true });
    writeFileSync(join(this.stateDir, 'cluster.id'), `${id}\n`);
    await this.script('start');
  }

  /** SIGKILL (its data is thrown away: no clean shutdown to wait for), then remove the state. */
  async destroy(): Promise<void> {
    const pidFile = join(this.stateDir, 'kafka.pid');
    const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) : NaN;
    // Only the broker kafka.sh started for this state dir (its command line names the config).
    const ours =
      Number.isInteger(pid) &&
      pid > 0 &&
      existsSync(`/proc/${pid}/cmdline`) &&
      readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(
        join(this.stateDir, 'server.properties'),
      );
    if (ours) {
      process.kill(pid, 'SIGKILL');
      await waitFor(
        () => (existsSync(`/proc/${pid}`) ? undefined : true),
        10_000,
        `pid ${pid} to exit`,
      );
    } else await this.script('stop').catch(() => undefined);
    rmSync(this.stateDir, { recursive: true, force: true });
  }
}

/**
 * A CA the broker does not know, with a client certificate it signed, and a copy of the broker
 * CA's client key encrypted with a passphrase: made with openssl in a temporary directory.
 */
export class ForeignCertificates {
  readonly dir = mkdtempSync(join(tmpdir(), 'sluice-sec-'));

  constructor(
    clientKeyToEncrypt: string,
    readonly passphrase: string,
  ) {
    const openssl = (...args: string[]) =>
      execFileSync('openssl', args, { cwd: this.dir, stdio: 'pipe' });
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
      '/CN=foreign CA',
    );
    openssl('req', ...ec, '-keyout', 'client.key', '-out', 'client.csr', '-subj', '/CN=intruder');
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
      '7',
      '-days',
      '1',
      '-out',
      'client.pem',
    );
    openssl(
      'pkey',
      '-in',
      clientKeyToEncrypt,
      '-aes256',
      '-passout',
      `pass:${passphrase}`,
      '-out',
      'encrypted.key',
    );
    writeFileSync(join(this.dir, 'passphrase'), `${passphrase}\n`, { mode: 0o600 });
  }

  file(name: 'ca.pem' | 'client.pem' | 'client.key' | 'encrypted.key' | 'passphrase'): string {
    return join(this.dir, name);
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
