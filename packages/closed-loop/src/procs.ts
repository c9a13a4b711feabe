import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';

export const run = promisify(execFile);

export { freePort } from '@sluice/testing';

/** A child process whose output is kept (tail) for failure messages. */
export interface Daemon {
  readonly name: string;
  readonly proc: ChildProcess;
  /** The last ~64 KiB of stdout+stderr. */
  log(): string;
  /** Non-null once the process has exited. */
  exited(): { code: number | null; signal: NodeJS.Signals | null } | null;
  stop(): Promise<void>;
}

const LOG_KEEP = 64 * 1024;

/** Every child still running: killed (SIGKILL) if this process exits without stopping them. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

export function spawnDaemon(
  name: string,
  cmd: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Daemon {
  const proc = spawn(cmd, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: options.env ?? process.env,
    cwd: options.cwd,
  });
  let out = '';
  let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  const keep = (d: Buffer) => {
    out += d.toString();
    if (out.length > 2 * LOG_KEEP) out = out.slice(-LOG_KEEP);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  proc.on('error', (e) => keep(Buffer.from(`\n[spawn error] ${e.message}\n`)));
  live.add(proc);
  proc.on('exit', (code, signal) => {
    exit = { code, signal };
    live.delete(proc);
  });
  return {
    name,
    proc,
    log: () => out.slice(-LOG_KEEP),
    exited: () => exit,
    stop: () =>
      new Promise<void>((resolve) => {
        if (exit !== null || proc.pid === undefined) return resolve();
        const t = setTimeout(() => proc.kill('SIGKILL'), 8000);
        proc.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
        proc.kill('SIGTERM');
      }),
  };
}

/** Last lines of a daemon's log, for error messages. */
export function tail(d: Daemon, chars = 3000): string {
  const e = d.exited();
  const state = e ? ` (exited: code ${e.code}, signal ${e.signal})` : '';
  return `--- ${d.name}${state} ---\n${d.log().slice(-chars)}`;
}

/** Poll until `check` returns a value, or fail with `what()` (evaluated at failure time). */
export async function until<T>(
  check: () => T | undefined | Promise<T | undefined>,
  timeoutMs: number,
  what: () => string,
  everyMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what()}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Whether an executable is on PATH (or at an absolute path). */
export async function hasBinary(name: string): Promise<boolean> {
  try {
    await run('sh', ['-c', `command -v ${name}`]);
    return true;
  } catch {
    return false;
  }
}
