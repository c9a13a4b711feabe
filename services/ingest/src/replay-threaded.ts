import { join } from 'node:path';
import { type Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { type CaptureFormat } from './core/pcap-reader';
import { type EncodedBatch } from './core/query-batcher';
import { IngestTally } from './core/sources';
import { type ZoneMapper } from './core/zone-mapper';
import { openReplayInput, replaySourceName, summarize, type ReplaySummary } from './replay';

/** Where a threaded replay delivers: whole encoded batches (QueryPublisher is one). */
export interface BatchSink {
  readonly congested: boolean;
  whenUncongested(): Promise<void>;
  publishBatch(batch: EncodedBatch): void;
  malformed(reason: string, raw: Buffer, detail: string, source: string): void;
}

export interface ThreadedReplayOptions {
  sink: BatchSink;
  zones: ZoneMapper;
  /** Events per sluice.queries.v1 message (INGEST_BATCH_EVENTS). */
  batchEvents: number;
  pairWindowMs?: number;
  dnsPorts?: ReadonlySet<number>;
  onProgress?: (bytesRead: number, tally: IngestTally) => void;
}

/** What the replay worker is started with (structured-cloneable). */
export interface ReplayWorkerInit {
  source: string;
  servedZones: string[];
  pairWindowMs: number;
  dnsPorts: number[] | null;
  batchEvents: number;
}

export interface WorkerTally {
  packets: number;
  records: number;
  ignored: number;
  malformed: [string, number][];
  format: CaptureFormat;
  failed: boolean;
}

export type ToReplayWorker = { kind: 'chunk'; bytes: Uint8Array } | { kind: 'end' };

export type FromReplayWorker =
  | { kind: 'batch'; zone: string; source: string; events: number; value: Uint8Array }
  | { kind: 'malformed'; reason: string; raw: Uint8Array; detail: string; source: string }
  /** One per chunk, after that chunk's batches: the reader may send another. */
  | ({ kind: 'progress' } & WorkerTally)
  | ({ kind: 'done' } & WorkerTally);

/** Chunks handed to the worker and not yet decoded: bounds memory between the two threads. */
const MAX_CHUNKS_IN_FLIGHT = 4;

/**
 * Replay at full speed on two threads: a worker decodes the capture and encodes per-zone
 * batches (everything up to the bytes of each sluice.queries.v1 message); this thread reads the
 * input and publishes. Decoding and publishing then overlap instead of sharing one core, which
 * the ingest benchmark measures (docs/benchmarks/ingest-replay.md). Records, pairing and
 * malformed counts are exactly those of replayFile (the worker runs the same ReplayDecoder;
 * replay-threaded.test.ts compares them). Recorded-pace replays (speed > 0) use replayFile.
 */
export async function replayFileThreaded(
  path: string,
  options: ThreadedReplayOptions,
): Promise<ReplaySummary> {
  return replayStreamThreaded(openReplayInput(path), replaySourceName(path), options);
}

export async function replayStreamThreaded(
  stream: Readable,
  name: string,
  options: ThreadedReplayOptions,
): Promise<ReplaySummary> {
  const started = process.hrtime.bigint();
  const source = `replay:${name}`;
  const tally = new IngestTally();
  let state: WorkerTally = {
    packets: 0,
    records: 0,
    ignored: 0,
    malformed: [],
    format: 'unknown',
    failed: false,
  };
  const worker = startReplayWorker({
    source,
    servedZones: [...options.zones.servedZones],
    pairWindowMs: options.pairWindowMs ?? 2000,
    dnsPorts: options.dnsPorts ? [...options.dnsPorts] : null,
    batchEvents: options.batchEvents,
  });
  let inFlight = 0;
  let bytes = 0;
  let wake: (() => void) | null = null;
  // Set from worker events (callbacks), so typed wider than the null it starts as.
  let failure = null as Error | null;
  let finished: (() => void) | null = null;
  const done = new Promise<void>((resolve) => (finished = resolve));

  const update = (t: WorkerTally) => {
    state = t;
    tally.packets = t.packets;
    tally.records = t.records;
    tally.ignored = t.ignored;
    tally.malformed.clear();
    for (const [reason, n] of t.malformed) tally.malformed.set(reason, n);
  };
  const fail = (err: Error) => {
    failure ??= err;
    wake?.();
    finished?.();
  };
  worker.on('message', (m: FromReplayWorker) => {
    switch (m.kind) {
      case 'batch':
        options.sink.publishBatch({
          zone: m.zone,
          source: m.source,
          events: m.events,
          value: Buffer.from(m.value.buffer, m.value.byteOffset, m.value.byteLength),
        });
        return;
      case 'malformed':
        options.sink.malformed(
          m.reason,
          Buffer.from(m.raw.buffer, m.raw.byteOffset, m.raw.byteLength),
          m.detail,
          m.source,
        );
        return;
      case 'progress':
        update(m);
        inFlight--;
        options.onProgress?.(bytes, tally);
        wake?.();
        return;
      case 'done':
        update(m);
        finished?.();
        return;
    }
  });
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`replay worker exited (code ${code}) early`)));

  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      worker.postMessage({ kind: 'chunk', bytes: chunk } satisfies ToReplayWorker);
      inFlight++;
      while (inFlight >= MAX_CHUNKS_IN_FLIGHT && failure === null)
        await new Promise<void>((resolve) => (wake = resolve));
      if (failure !== null || state.failed) break;
      if (options.sink.congested) await options.sink.whenUncongested();
    }
    if (failure === null) worker.postMessage({ kind: 'end' } satisfies ToReplayWorker);
    await done;
  } finally {
    worker.removeAllListeners('exit');
    await worker.terminate();
  }
  if (failure !== null) throw failure;
  options.onProgress?.(bytes, tally);
  return summarize(source, state.format, bytes, tally, started, state.failed);
}

function startReplayWorker(init: ReplayWorkerInit): Worker {
  // From dist the worker is plain JS; from sources (tests, benchmarks) it is compiled on load.
  const fromSource = __filename.endsWith('.ts');
  return new Worker(join(__dirname, fromSource ? 'replay-worker.ts' : 'replay-worker.js'), {
    workerData: init,
    execArgv: fromSource ? ['--require', '@swc-node/register'] : [],
  });
}
