import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type KafkaConfig } from '@sluice/config';
import { createKafka, type Kafka, type KafkaLogSink } from '@sluice/kafka';
import { portAnswers, repoRoot, waitFor } from '@sluice/testing';

const run = promisify(execFile);

/**
 * Backing services that a fault test may kill: a private Kafka broker (infra/kafka/kafka.sh on
 * its own port, data under .local/kafka/port-<port>) and a private redis-server (a child of the
 * test process). The shared broker and Redis that other tests use are never touched.
 */

/** Is `pid` alive? (signal 0 only checks.) */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export class PrivateKafka {
  readonly brokers: string[];
  private readonly stateDir: string;

  constructor(readonly port: number) {
    this.brokers = [`127.0.0.1:${port}`];
    this.stateDir = join(repoRoot, '.local', 'kafka', `port-${port}`);
  }

  private async script(command: 'start' | 'reset'): Promise<string> {
    const { stderr } = await run('bash', [join(repoRoot, 'infra/kafka/kafka.sh'), command], {
      cwd: repoRoot,
      env: { ...process.env, KAFKA_PORT: String(this.port), KAFKA_HEAP_OPTS: '-Xmx384m -Xms128m' },
      maxBuffer: 16 << 20,
    });
    return stderr;
  }

  /** Start (formatting fresh storage when `fresh`); resolves once the broker answers ApiVersions. */
  async start(options: { fresh?: boolean } = {}): Promise<void> {
    if (options.fresh) await this.script('reset');
    await this.script('start');
  }

  get pid(): number | null {
    const file = join(this.stateDir, 'kafka.pid');
    if (!existsSync(file)) return null;
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 && alive(pid) ? pid : null;
  }

  /** SIGKILL, then wait until the process and its listener are gone. */
  async kill(): Promise<void> {
    const pid = this.pid;
    if (pid === null) throw new Error(`no private broker running on port ${this.port}`);
    process.kill(pid, 'SIGKILL');
    await waitFor(() => (alive(pid) ? undefined : true), 10_000, `broker pid ${pid} to die`);
    await waitFor(
      async () => ((await portAnswers('127.0.0.1', this.port, 300)) ? undefined : true),
      10_000,
      `port ${this.port} to close`,
    );
  }

  /** Kill and remove the data directory (end of a test file: nothing in it is kept). */
  async destroy(): Promise<void> {
    if (this.pid !== null) await this.kill().catch(() => undefined);
    rmSync(this.stateDir, { recursive: true, force: true });
  }

  config(clientId: string): KafkaConfig {
    return {
      brokers: this.brokers,
      clientId,
      sasl: null,
      tls: { enabled: false, caFile: null },
      topicPartitions: 3,
      replicationFactor: 1,
    };
  }

  kafka(clientId: string, log?: KafkaLogSink): Kafka {
    return createKafka(this.config(clientId), log);
  }
}

/** A redis-server child process on its own port that a test may SIGKILL, SIGSTOP and restart. */
export class PrivateRedis {
  private child: ChildProcess | null = null;
  private readonly dir: string;
  /** Set when the server died without kill() or destroy() (for failure messages). */
  unexpectedExit: string | null = null;

  constructor(
    readonly port: number,
    private readonly options: { appendOnly?: boolean } = {},
  ) {
    this.dir = join(repoRoot, '.local', 'redis-faults', `port-${port}`);
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', ''];
    args.push('--dir', this.dir, '--appendonly', this.options.appendOnly ? 'yes' : 'no');
    if (this.options.appendOnly) args.push('--appendfsync', 'always');
    const child = spawn('redis-server', args, { stdio: 'ignore' });
    this.child = child;
    child.once('exit', (code, signal) => {
      if (this.child === child)
        this.unexpectedExit = `redis-server exited (code ${code}, ${signal})`;
    });
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`redis-server exited (${child.exitCode})`);
        return (await portAnswers('127.0.0.1', this.port, 300)) ? true : undefined;
      },
      10_000,
      `redis-server on ${this.port}`,
    );
  }

  /** SIGKILL: no shutdown save (RDB is off; with AOF, what was fsynced survives). */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    this.child = null;
    child.kill('SIGKILL');
    await exited;
  }

  /** SIGSTOP: the port stays open but nothing answers (a hung Redis, the nastier outage). */
  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  resume(): void {
    this.child?.kill('SIGCONT');
  }

  async destroy(): Promise<void> {
    this.resume();
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Log lines captured from a component, by level, to assert "no ERROR". */
export class CapturedLog implements KafkaLogSink {
  readonly lines: { level: 'info' | 'warn' | 'error'; msg: string; obj: object }[] = [];

  info(obj: object, msg: string): void {
    this.lines.push({ level: 'info', msg, obj });
  }

  warn(obj: object, msg: string): void {
    this.lines.push({ level: 'warn', msg, obj });
  }

  error(obj: object, msg: string): void {
    this.lines.push({ level: 'error', msg, obj });
  }

  get errors(): string[] {
    return this.lines
      .filter((l) => l.level === 'error')
      .map((l) => `${l.msg} ${JSON.stringify(l.obj)}`);
  }
}
