import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A port free for both TCP and UDP on 127.0.0.1, from the high range. */
export async function freePort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = 20_000 + Math.floor(Math.random() * 40_000);
    const ok = await new Promise<boolean>((resolve) => {
      const t = createServer();
      t.once('error', () => resolve(false));
      t.listen(port, '127.0.0.1', () => {
        const u = createSocket('udp4');
        u.once('error', () => t.close(() => resolve(false)));
        u.bind(port, '127.0.0.1', () => u.close(() => t.close(() => resolve(true))));
      });
    });
    if (ok) return port;
  }
  throw new Error('no free port');
}

export interface Spawned {
  proc: ChildProcess;
  log: () => string;
  stop: () => Promise<void>;
}

/** Starts a foreground daemon, keeps its output for assertions and failure messages. */
export function spawnDaemon(cmd: string, args: string[]): Spawned {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  return {
    proc,
    log: () => out,
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
        const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
        proc.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
        proc.kill('SIGTERM');
      }),
  };
}

export interface DigResult {
  status: string;
  answers: string[];
  timedOut: boolean;
}

/** dig from a chosen loopback source, so 127.0.0.x stands for different resolvers. */
export async function dig(o: {
  server: string;
  port: number;
  source: string;
  name: string;
  type?: string;
  tcp?: boolean;
}): Promise<DigResult> {
  const args = [
    `@${o.server}`,
    '-p',
    String(o.port),
    '-b',
    o.source,
    o.name,
    o.type ?? 'A',
    '+tries=1',
    '+time=2',
    '+noall',
    '+comments',
    '+answer',
  ];
  if (o.tcp) args.push('+tcp');
  try {
    const { stdout } = await run('dig', args);
    const status = /status: ([A-Z]+)/.exec(stdout)?.[1] ?? 'NONE';
    const answers = stdout
      .split('\n')
      .filter((l) => l && !l.startsWith(';'))
      .map((l) => l.trim());
    return { status, answers, timedOut: /timed out|no servers could be reached/.test(stdout) };
  } catch (e) {
    const stdout = (e as { stdout?: string }).stdout ?? '';
    return {
      status: 'TIMEOUT',
      answers: [],
      timedOut: /timed out|no servers could be reached/.test(stdout) || true,
    };
  }
}
