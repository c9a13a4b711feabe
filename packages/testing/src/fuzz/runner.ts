import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';

/** What one input came to, in the component's own terms. */
export interface Verdict {
  /** Units decoded: records, messages, answered requests. */
  decoded: number;
  /** Valid units that are not the component's business (non-DNS packets, resolver-side dnstap…). */
  ignored?: number;
  /** One reason code per malformed unit, as the component counted it. */
  malformed: readonly string[];
}

/**
 * A fuzz target: real inputs mutated (`arbitrary`), fed to the real component (`run`), which
 * must end every input as decoded or counted as malformed with a known reason. `run` throws when
 * a component-specific property does not hold (a record outside the contract, a count that does
 * not add up, a server that answered garbage with garbage).
 */
export interface FuzzTarget<I> {
  name: string;
  arbitrary: fc.Arbitrary<I>;
  /** Every reason code the component may count; any other fails the run. */
  reasons: readonly string[];
  run(input: I): Verdict | Promise<Verdict>;
  /** Network targets: run returns a promise (and slow inputs are not re-timed). */
  async?: boolean;
  /**
   * Async targets: inputs in flight at once (default 1). The inputs are the same, in the same
   * order, as a sequential run of the seed; a failing input is replayed alone from its index and
   * shrunk. A server that answers in a few ms of CPU but waits on sockets and Redis in between is
   * kept busy only by several clients at once.
   */
  concurrency?: number;
  describe(input: I): string;
  /** Called every `checkEvery` inputs and at the end: a valid input is still served. */
  check?(): void | Promise<void>;
  close?(): void | Promise<void>;
  /**
   * Longest one input may take (default 1 s, 5 s when async). Decoders of single messages set
   * it low: an input that costs a thousand times the usual is a denial of service, not a hang.
   */
  maxInputMs?: number;
}

/** How each target is made: the CLI runs them in workers, the specs directly. */
export interface FuzzTargetFactory {
  name: string;
  /** Needs sockets, or the broker and Redis (run by the integration tier). */
  network: boolean;
  /** One line for the report: what is fed and what counts as decoded. */
  description: string;
  create(): Promise<FuzzTarget<unknown>>;
}

export interface FuzzOptions {
  inputs: number;
  seed: number;
  /** Replay from a failure report: fast-check's counterexample path. */
  path?: string;
  /** Default: every 1,000 inputs. */
  checkEvery?: number;
  /** Heap growth allowed between the start and the end of the run, after GC (default 64 MiB). */
  maxHeapGrowthMiB?: number;
  /**
   * Called before every input (the CLI's hang watchdog reads it); with several in flight, the
   * index of the oldest input still running.
   */
  onInput?: (index: number) => void;
  /** Overrides the target's `concurrency` (a replay from `path` always runs alone). */
  concurrency?: number;
  /** Called every `progressEvery` inputs with the report so far. */
  onProgress?: (report: FuzzReport) => void;
  progressEvery?: number;
}

export interface FuzzFailure {
  message: string;
  input: string;
  seed: number;
  path: string | null;
}

export interface FuzzReport {
  target: string;
  inputs: number;
  seed: number;
  durationMs: number;
  inputsPerSecond: number;
  /** Inputs that decoded cleanly / had at least one malformed unit / were only ignored units. */
  decodedInputs: number;
  malformedInputs: number;
  ignoredInputs: number;
  units: { decoded: number; ignored: number; malformed: number };
  /** Malformed units by reason. */
  reasons: Record<string, number>;
  heap: { baselineMiB: number; peakMiB: number; endMiB: number; growthMiB: number };
  slowestInputMs: number;
  /** The slowest input, described (synchronous targets: the best of up to four timings). */
  slowestInput: string;
  failure: FuzzFailure | null;
}

/** The first input that failed among several in flight (or the check that followed it). */
interface PooledFailure<I> {
  index: number;
  error: unknown;
  input: I;
  /** Set when the periodic check failed: the inputs completed by then. */
  check?: number;
}

let gcFn: (() => void) | null = null;

/** A full garbage collection, with or without --expose-gc. */
export function forceGc(): void {
  if (!gcFn) {
    const exposed = (globalThis as { gc?: () => void }).gc;
    if (exposed) gcFn = exposed;
    else {
      setFlagsFromString('--expose-gc');
      gcFn = runInNewContext('gc') as () => void;
    }
  }
  gcFn();
  gcFn();
}

const mib = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;

class PropertyFailure extends Error {}

/** Run `inputs` mutated inputs through a target; the report says what happened, failure included. */
export async function runFuzz<I>(target: FuzzTarget<I>, o: FuzzOptions): Promise<FuzzReport> {
  const known = new Set(target.reasons);
  const maxInputMs = target.maxInputMs ?? (target.async ? 5_000 : 1_000);
  const checkEvery = o.checkEvery ?? 1_000;
  const progressEvery = o.progressEvery ?? 100_000;
  const report: FuzzReport = {
    target: target.name,
    inputs: 0,
    seed: o.seed,
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
    failure: null,
  };
  forceGc();
  const baseline = process.memoryUsage().heapUsed;
  let peak = baseline;
  let failing = false;
  const started = performance.now();

  const account = (v: Verdict): void => {
    const units = v.decoded + (v.ignored ?? 0) + v.malformed.length;
    if (units === 0)
      throw new PropertyFailure('input ended neither decoded nor counted as malformed or ignored');
    for (const reason of v.malformed)
      if (!known.has(reason))
        throw new PropertyFailure(
          `reason ${JSON.stringify(reason)} is not one the component declares`,
        );
    if (failing) return;
    report.inputs++;
    report.units.decoded += v.decoded;
    report.units.ignored += v.ignored ?? 0;
    report.units.malformed += v.malformed.length;
    if (v.malformed.length > 0) report.malformedInputs++;
    else if (v.decoded > 0) report.decodedInputs++;
    else report.ignoredInputs++;
    for (const reason of v.malformed) report.reasons[reason] = (report.reasons[reason] ?? 0) + 1;
    if (report.inputs % 512 === 0) peak = Math.max(peak, process.memoryUsage().heapUsed);
    if (report.inputs % progressEvery === 0 && o.onProgress) o.onProgress(finish(false));
  };

  const finish = (final: boolean): FuzzReport => {
    report.durationMs = Math.round(performance.now() - started);
    report.inputsPerSecond = Math.round(report.inputs / Math.max(report.durationMs / 1000, 1e-3));
    const heapNow = process.memoryUsage().heapUsed;
    peak = Math.max(peak, heapNow);
    report.heap = {
      baselineMiB: mib(baseline),
      peakMiB: mib(peak),
      endMiB: final ? 0 : mib(heapNow),
      growthMiB: 0,
    };
    return { ...report, units: { ...report.units }, reasons: { ...report.reasons } };
  };

  const describeSafely = (input: I): string => {
    try {
      return target.describe(input);
    } catch (e) {
      return `(describe failed: ${String(e)})`;
    }
  };

  const timed = (ms: number, input: I, i = index): void => {
    // The first inputs pay for compilation: they are not what a long run should report.
    if (failing || i < 1_000 || ms <= report.slowestInputMs) return;
    report.slowestInputMs = Math.round(ms * 100) / 100;
    report.slowestInput = describeSafely(input).slice(0, 2_000);
  };
  const slow = (ms: number) =>
    new PropertyFailure(
      `one input took ${ms.toFixed(1)} ms (limit ${maxInputMs} ms): a hang or a denial of service`,
    );

  const runSync = (input: I): void => {
    const t0 = performance.now();
    let v = target.run(input) as Verdict;
    let ms = performance.now() - t0;
    // A collection pause, a compilation or another process on the CPU can land on any input:
    // before calling it slow, run it three more times. Each run counts the lesser of its wall
    // time (which preemption inflates) and the process's CPU time (which background GC threads
    // inflate); the best run counts. A truly slow input is slow by both, every time.
    for (let retry = 0; retry < 3 && ms > maxInputMs; retry++) {
      const cpu = process.cpuUsage();
      const wall = performance.now();
      v = target.run(input) as Verdict;
      const used = process.cpuUsage(cpu);
      ms = Math.min(ms, performance.now() - wall, (used.user + used.system) / 1000);
    }
    timed(ms, input);
    if (ms > maxInputMs) throw slow(ms);
    account(v);
    if (target.check && report.inputs % checkEvery === 0) void target.check();
  };

  /**
   * Up to `width` inputs in flight. fast-check still draws every input, in order, from the seed
   * (the property only waits for a free slot), so input #i is the one a sequential run or
   * `--path i` sees. The first failure stops the drawing of new inputs from running.
   */
  async function runPooled(width: number): Promise<PooledFailure<I> | null> {
    const running = new Map<number, Promise<void>>();
    let failure: PooledFailure<I> | null = null;
    let wake: (() => void) | null = null;
    const oldest = () => {
      let min = index;
      for (const i of running.keys()) if (i < min) min = i;
      return min;
    };
    const one = async (i: number, input: I): Promise<void> => {
      try {
        const t0 = performance.now();
        const v = await target.run(input);
        const ms = performance.now() - t0;
        timed(ms, input, i);
        if (ms > maxInputMs) throw slow(ms);
        account(v);
      } catch (error) {
        if (!failure || i < failure.index) failure = { index: i, error, input };
        failing = true;
      }
      try {
        if (!failing && target.check && report.inputs % checkEvery === 0) await target.check();
      } catch (error) {
        // Not the input's fault: nothing to replay.
        failure ??= { index: i, error, input, check: report.inputs };
        failing = true;
      } finally {
        running.delete(i);
        o.onInput?.(oldest());
        wake?.();
      }
    };
    const property = fc.asyncProperty(target.arbitrary, async (input) => {
      while (running.size >= width && !failing) await new Promise<void>((r) => (wake = r));
      if (failing) return; // the rest are drawn (cheap) but not run
      const i = index++;
      running.set(i, one(i, input));
      o.onInput?.(oldest());
    });
    const details = await fc.check(property, { numRuns: o.inputs, seed: o.seed });
    await Promise.all(running.values());
    if (details.failed) failure ??= { index, error: details.errorInstance, input: undefined as I };
    return failure;
  }

  /** A failure among concurrent inputs, replayed alone from its index (and shrunk if it fails). */
  async function replayAlone(f: PooledFailure<I>): Promise<FuzzFailure> {
    const message =
      f.error instanceof Error ? `${f.error.name}: ${f.error.message}` : String(f.error);
    if (f.check !== undefined)
      return {
        message: `the check after ${f.check} inputs failed, ${width} in flight: ${message}`,
        input: '(the check)',
        seed: o.seed,
        path: null,
      };
    const alone = await runFuzz(target, {
      ...o,
      inputs: 1,
      path: String(f.index),
      onProgress: undefined,
      onInput: (i) => o.onInput?.(f.index + i),
    });
    if (alone.failure) return alone.failure;
    return {
      message: `${message} (among ${width} concurrent inputs; alone it passed: it depends on the inputs around it)`,
      input: describeSafely(f.input),
      seed: o.seed,
      path: String(f.index),
    };
  }

  let index = 0;
  const params = {
    numRuns: o.inputs,
    seed: o.seed,
    ...(o.path !== undefined ? { path: o.path } : {}),
  };
  const width = o.path === undefined ? (o.concurrency ?? target.concurrency ?? 1) : 1;
  let details: fc.RunDetails<[I]> | null = null;
  if (target.async && width > 1) {
    const failure = await runPooled(width);
    if (failure) {
      failing = true;
      report.failure = await replayAlone(failure);
    }
  } else if (target.async) {
    const property = fc.asyncProperty(target.arbitrary, async (input) => {
      const i = index++;
      o.onInput?.(i);
      try {
        const t0 = performance.now();
        const v = await target.run(input);
        const ms = performance.now() - t0;
        timed(ms, input);
        if (ms > maxInputMs) throw slow(ms);
        account(v);
        if (target.check && report.inputs % checkEvery === 0) await target.check();
      } catch (e) {
        failing = true; // shrinking follows: its runs are not part of the report
        throw e;
      }
    });
    details = await fc.check(property, params);
  } else {
    const property = fc.property(target.arbitrary, (input) => {
      const i = index++;
      o.onInput?.(i);
      try {
        runSync(input);
      } catch (e) {
        failing = true; // shrinking follows: its runs are not part of the report
        throw e;
      }
    });
    details = fc.check(property, params);
  }
  if (details?.failed) {
    failing = true;
    const input = details.counterexample?.[0];
    const err = details.errorInstance;
    report.failure = {
      message: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
      input: input === undefined ? '(none)' : describeSafely(input),
      seed: details.seed,
      path: details.counterexamplePath,
    };
    if (err instanceof Error && !(err instanceof PropertyFailure) && err.stack)
      report.failure.message = err.stack.split('\n').slice(0, 8).join('\n');
  } else if (target.check && !report.failure) {
    await target.check();
  }
  const final = finish(true);
  forceGc();
  const end = process.memoryUsage().heapUsed;
  final.heap.endMiB = mib(end);
  final.heap.growthMiB = mib(end - baseline);
  const limit = o.maxHeapGrowthMiB ?? 64;
  if (!final.failure && final.heap.growthMiB > limit)
    final.failure = {
      message: `heap grew by ${final.heap.growthMiB} MiB over the run (limit ${limit} MiB, after GC): a leak`,
      input: '(the whole run)',
      seed: o.seed,
      path: null,
    };
  return final;
}

/** The report as a jest-friendly error message (or null when the run passed). */
export function failureText(r: FuzzReport): string | null {
  if (!r.failure) return null;
  const f = r.failure;
  return [
    `fuzz target ${r.target} failed after ${r.inputs} inputs: ${f.message}`,
    `replay: seed ${f.seed}${f.path ? `, path ${f.path}` : ''}`,
    f.input,
  ].join('\n');
}
