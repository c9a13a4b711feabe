import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export { freePort } from '@sluice/testing';

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
