/**
 * Long fuzz runs: `pnpm fuzz [target…] [--inputs N] [--seed S] [--path P] [--hang-ms MS]
 * [--heap-mb MB] [--concurrency C] [--out FILE]` (see scripts/fuzz.sh). Each target runs in its own worker thread
 * with a hard heap limit, watched from the main thread: an input that never returns is reported
 * with its seed and index (replay it with --seed S --path INDEX), an out-of-memory worker as a
 * memory failure. Prints a progress line per 100,000 inputs and a Markdown table at the end.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import {
  failureText,
  machineLine,
  markdownTable,
  runFuzz,
  type FuzzReport,
  type FuzzTargetFactory,
} from '@sluice/testing';

/**
 * Where each service's targets live, required on demand so a worker loads only its own module
 * (and its heap figures are its own).
 */
/* eslint-disable @typescript-eslint/no-require-imports */
const modules = {
  ingest: (): readonly FuzzTargetFactory[] =>
    (require('../services/ingest/test/fuzz') as { ingestFuzzTargets: readonly FuzzTargetFactory[] })
      .ingestFuzzTargets,
  reputation: (): readonly FuzzTargetFactory[] =>
    (
      require('../services/reputation/test/fuzz') as {
        reputationFuzzTargets: readonly FuzzTargetFactory[];
      }
    ).reputationFuzzTargets,
};
/* eslint-enable @typescript-eslint/no-require-imports */
const loadAll = (): FuzzTargetFactory[] => [...modules.ingest(), ...modules.reputation()];

interface Job {
  module: keyof typeof modules;
  target: string;
  inputs: number;
  seed: number;
  path?: string;
  /** Network targets: inputs in flight at once (default: the target's own). */
  concurrency?: number;
  progress: SharedArrayBuffer;
}

type FromWorker = { kind: 'progress'; report: FuzzReport } | { kind: 'done'; report: FuzzReport };

async function worker(job: Job): Promise<void> {
  const factory = modules[job.module]().find((t) => t.name === job.target)!;
  const index = new Int32Array(job.progress);
  const target = await factory.create();
  Atomics.store(index, 0, 0); // started: the hang watchdog times inputs from here
  try {
    const report = await runFuzz(target, {
      inputs: job.inputs,
      seed: job.seed,
      ...(job.path !== undefined ? { path: job.path } : {}),
      ...(job.concurrency !== undefined ? { concurrency: job.concurrency } : {}),
      onInput: (i) => Atomics.store(index, 0, i),
      onProgress: (r) =>
        parentPort!.postMessage({ kind: 'progress', report: r } satisfies FromWorker),
      // Long runs hold more history (dnstap identities, zone-mapper caches): a leak still shows.
      maxHeapGrowthMiB: 128,
    });
    parentPort!.postMessage({ kind: 'done', report } satisfies FromWorker);
  } finally {
    await target.close?.();
  }
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}

const log = (s: string) => process.stderr.write(`${s}\n`);

/** How long a target may take to start (create()) before the run fails. */
const START_MS = 300_000;

function runOne(job: Job, hangMs: number, heapMb: number): Promise<FuzzReport> {
  return new Promise((resolve) => {
    const w = new Worker(__filename, {
      workerData: job,
      resourceLimits: { maxOldGenerationSizeMb: heapMb },
    });
    const index = new Int32Array(job.progress);
    // -1 while the target starts (a whole service for http-feed: 30 s and more on a loaded box),
    // which has its own, longer budget than an input.
    Atomics.store(index, 0, -1);
    let last = -1;
    let lastChange = Date.now();
    let settled = false;
    const fail = (message: string, path: string | null): void => {
      if (settled) return;
      settled = true;
      clearInterval(watch);
      void w.terminate();
      resolve({
        target: job.target,
        inputs: Math.max(0, Atomics.load(index, 0)),
        seed: job.seed,
        durationMs: 0,
        inputsPerSecond: 0,
        decodedInputs: 0,
        malformedInputs: 0,
        ignoredInputs: 0,
        units: { decoded: 0, ignored: 0, malformed: 0 },
        reasons: {},
        heap: { baselineMiB: 0, peakMiB: 0, endMiB: 0, growthMiB: 0 },
        slowestInputMs: 0,
        slowestInput: '',
        failure: { message, input: '(see the replay command)', seed: job.seed, path },
      });
    };
    const watch = setInterval(() => {
      const now = Atomics.load(index, 0);
      if (now !== last) {
        last = now;
        lastChange = Date.now();
      } else if (now < 0 && Date.now() - lastChange > START_MS) {
        fail(`the target did not start within ${START_MS} ms`, null);
      } else if (now >= 0 && Date.now() - lastChange > hangMs) {
        fail(`input #${now} has not returned after ${hangMs} ms: a hang`, String(now));
      }
    }, 250);
    w.on('message', (m: FromWorker) => {
      const r = m.report;
      if (m.kind === 'progress') {
        log(
          `  ${r.target}: ${r.inputs.toLocaleString('en-US')} inputs, ${r.inputsPerSecond.toLocaleString('en-US')}/s, heap peak ${r.heap.peakMiB} MiB`,
        );
        return;
      }
      settled = true;
      clearInterval(watch);
      resolve(r);
    });
    w.on('error', (e: Error & { code?: string }) =>
      fail(
        e.code === 'ERR_WORKER_OUT_OF_MEMORY'
          ? `the worker ran out of its ${heapMb} MiB heap near input #${Atomics.load(index, 0)}: memory is not bounded`
          : `worker error: ${e.stack ?? e.message}`,
        String(Atomics.load(index, 0)),
      ),
    );
    w.on('exit', (code) => fail(`the worker exited with code ${code}`, null));
  });
}

async function main(): Promise<void> {
  const ingest = new Set(modules.ingest().map((t) => t.name));
  const targets = loadAll();
  const names = process.argv
    .slice(2)
    .filter((a, i, all) => !a.startsWith('--') && !all[i - 1]?.startsWith('--'));
  if (process.argv.includes('--list')) {
    for (const t of targets)
      process.stdout.write(
        `${t.name.padEnd(18)} ${t.network ? '(network) ' : ''}${t.description}\n`,
      );
    return;
  }
  const unknown = names.filter((n) => !targets.some((t) => t.name === n));
  if (unknown.length > 0) throw new Error(`unknown target(s) ${unknown.join(', ')}: see --list`);
  const chosen = names.length > 0 ? targets.filter((t) => names.includes(t.name)) : targets;
  const inputs = Number(arg('inputs') ?? 1_000_000);
  const seed = Number(arg('seed') ?? Date.now() % 2 ** 31);
  const path = arg('path');
  const hangMs = Number(arg('hang-ms') ?? 30_000);
  const heapMb = Number(arg('heap-mb') ?? 1_024);
  const concurrency = arg('concurrency') === undefined ? undefined : Number(arg('concurrency'));
  log(
    `fuzz: ${chosen.map((t) => t.name).join(', ')} — ${inputs.toLocaleString('en-US')} inputs each, seed ${seed}${path ? `, path ${path}` : ''}`,
  );
  const reports: FuzzReport[] = [];
  for (const t of chosen) {
    log(`${t.name}: ${t.description}`);
    const module = ingest.has(t.name) ? 'ingest' : 'reputation';
    const r = await runOne(
      {
        module,
        target: t.name,
        inputs,
        seed,
        path,
        concurrency,
        progress: new SharedArrayBuffer(4),
      },
      hangMs,
      heapMb,
    );
    reports.push(r);
    const text = failureText(r);
    if (text)
      log(
        `${t.name}: FAILED\n${text}\nreplay: pnpm fuzz ${t.name} --seed ${r.failure!.seed}${r.failure!.path ? ` --path ${r.failure!.path}` : ''} --inputs 1`,
      );
    else
      log(
        `${t.name}: ${r.inputs.toLocaleString('en-US')} inputs in ${(r.durationMs / 1000).toFixed(1)} s (${r.inputsPerSecond.toLocaleString('en-US')}/s), heap peak ${r.heap.peakMiB} MiB, growth ${r.heap.growthMiB} MiB, slowest ${r.slowestInputMs} ms`,
      );
  }
  const out =
    arg('out') ??
    join(
      __dirname,
      '..',
      '.local',
      'fuzz',
      `fuzz-${new Date().toISOString().replace(/[:.]/g, '-')}.json`,
    );
  mkdirSync(join(out, '..'), { recursive: true });
  writeFileSync(
    out,
    `${JSON.stringify({ machine: machineLine(), seed, inputs, reports }, null, 2)}\n`,
  );
  const reasons = (r: FuzzReport) =>
    Object.entries(r.reasons)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${v.toLocaleString('en-US')}`)
      .join(', ');
  process.stdout.write(
    `${markdownTable(
      [
        'target',
        'inputs',
        'seed',
        'duration',
        'inputs/s',
        'outcome',
        'decoded / malformed / ignored inputs',
        'malformed reasons (units)',
        'peak heap',
        'heap growth after GC',
        'slowest input',
      ],
      reports.map((r) => [
        r.target,
        r.inputs.toLocaleString('en-US'),
        r.seed,
        `${(r.durationMs / 1000).toFixed(1)} s`,
        r.inputsPerSecond.toLocaleString('en-US'),
        r.failure
          ? `**FAILED**: ${r.failure.message.split('\n')[0]}`
          : 'no crash, no hang, every input accounted',
        `${r.decodedInputs.toLocaleString('en-US')} / ${r.malformedInputs.toLocaleString('en-US')} / ${r.ignoredInputs.toLocaleString('en-US')}`,
        reasons(r),
        `${r.heap.peakMiB} MiB (start ${r.heap.baselineMiB})`,
        `${r.heap.growthMiB} MiB`,
        `${r.slowestInputMs} ms`,
      ]),
    )}\n\n${machineLine()}; report ${out}\n`,
  );
  if (reports.some((r) => r.failure)) process.exitCode = 1;
}

if (isMainThread) {
  main().then(
    () => process.exit(),
    (e: unknown) => {
      log(e instanceof Error ? (e.stack ?? e.message) : String(e));
      process.exit(2);
    },
  );
} else {
  void worker(workerData as Job);
}
