/**
 * Worker thread of replayFileThreaded: capture bytes in, encoded per-zone batches out. The
 * decoding is the same ReplayDecoder as the in-thread replay; only the hand-off differs.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { QueryBatcher } from './core/query-batcher';
import { IngestTally } from './core/sources';
import { ZoneMapper } from './core/zone-mapper';
import { ReplayDecoder } from './replay';
import {
  type FromReplayWorker,
  type ReplayWorkerInit,
  type ToReplayWorker,
  type WorkerTally,
} from './replay-threaded';

const port = parentPort;
if (port === null) throw new Error('replay-worker runs as a worker thread only');
const init = workerData as ReplayWorkerInit;

/** A view's bytes as their own ArrayBuffer, so posting them neither drags along nor detaches a shared one. */
function ownBytes(view: Uint8Array): Uint8Array {
  return view.byteOffset === 0 && view.buffer.byteLength === view.byteLength
    ? view
    : new Uint8Array(view);
}

const post = (m: FromReplayWorker, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

const batcher = new QueryBatcher(
  (b) => {
    const value = ownBytes(b.value);
    post({ kind: 'batch', zone: b.zone, source: b.source, events: b.events, value }, [
      value.buffer as ArrayBuffer,
    ]);
  },
  init.batchEvents,
  init.batchEvents * 40,
);

const tally = new IngestTally();
const decoder = new ReplayDecoder(
  init.source,
  {
    zones: new ZoneMapper(init.servedZones),
    tally,
    sink: {
      record: (event, source) => batcher.add(event, source),
      malformed: (reason, raw, detail, source) =>
        post({ kind: 'malformed', reason, raw: new Uint8Array(raw), detail, source }),
    },
    assembler: { pairWindowMs: init.pairWindowMs, maxPending: 100_000 },
  },
  init.dnsPorts ? new Set(init.dnsPorts) : undefined,
);

function snapshot(): WorkerTally {
  return {
    packets: tally.packets,
    records: tally.records,
    ignored: tally.ignored,
    malformed: [...tally.malformed],
    format: decoder.format,
    failed: decoder.failed,
  };
}

port.on('message', (m: ToReplayWorker) => {
  if (m.kind === 'chunk') {
    if (!decoder.failed)
      decoder.push(Buffer.from(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength));
    post({ kind: 'progress', ...snapshot() });
    return;
  }
  decoder.end();
  batcher.drain();
  post({ kind: 'done', ...snapshot() });
});
