import { cpus, totalmem } from 'node:os';

/** One line naming the machine, so every recorded figure says where it came from. */
export function machineLine(): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  return `${cpus().length} × ${cpu}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${new Date().toISOString().slice(0, 16)}Z`;
}

export function markdownTable(
  header: readonly string[],
  rows: readonly (readonly (string | number)[])[],
): string {
  const line = (cells: readonly (string | number)[]) => `| ${cells.map(String).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** Run fn, return operations per second over `ops` operations (after a warm-up run). */
export async function opsPerSecond(ops: number, fn: () => unknown): Promise<number> {
  await fn();
  const start = process.hrtime.bigint();
  await fn();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return ops / seconds;
}

/** Tracks the highest RSS seen while a long run proceeds. */
export class PeakRss {
  private peak = process.memoryUsage.rss();
  private readonly timer = setInterval(() => this.sample(), 50);

  sample(): void {
    this.peak = Math.max(this.peak, process.memoryUsage.rss());
  }

  stop(): number {
    clearInterval(this.timer);
    this.sample();
    return this.peak;
  }
}

export const formatRate = (perSecond: number): string =>
  `${Math.round(perSecond).toLocaleString('en-US')}/s`;
export const formatMiB = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
