import { statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { type Readable } from 'node:stream';
import { type QueryEvent } from '@sluice/contracts';
import { detectFormat, type CaptureFormat } from './core/pcap-reader';
import { CaptureIngest, FstrmFileIngest, IngestTally, type IngestSink } from './core/sources';
import { type ZoneMapper } from './core/zone-mapper';

/** An IngestSink that can ask its readers to wait (the Kafka publisher). */
export interface PacedSink extends IngestSink {
  readonly congested: boolean;
  whenUncongested(): Promise<void>;
}

export interface ReplayOptions {
  sink: PacedSink;
  zones: ZoneMapper;
  pairWindowMs?: number;
  /** 0 (default): as fast as possible. 1: recorded pace; 10: ten times faster. */
  speed?: number;
  dnsPorts?: ReadonlySet<number>;
  onProgress?: (bytesRead: number, tally: IngestTally) => void;
}

export interface ReplaySummary {
  source: string;
  format: CaptureFormat;
  bytes: number;
  /** Packets (pcap) or dnstap frames (fstrm) read. */
  packets: number;
  records: number;
  ignored: number;
  malformed: Record<string, number>;
  malformedTotal: number;
  seconds: number;
  /** The input itself was unreadable (bad magic, corrupt record header) past some point. */
  failed: boolean;
}

/** Size of a replay input, for a progress bar; null for stdin. */
export function inputSize(path: string): number | null {
  return path === '-' ? null : statSync(path).size;
}

/** Bytes pushed between two checks of a paced replay's clock (~40 queries of a typical pcap). */
const PACE_SLICE = 16 * 1024;

/** Replay a pcap, pcapng or .fstrm file (or '-' for stdin) into the sink. */
export async function replayFile(path: string, options: ReplayOptions): Promise<ReplaySummary> {
  if (path === '-') return replayStream(process.stdin, 'stdin', options);
  const chunks = fileChunks(path, 1024 * 1024);
  return replayChunks(chunks, basename(path), options, true);
}

/**
 * The file in chunks read into one buffer, refilled for every chunk: a fresh buffer per read (a
 * read stream's) cost its page faults and garbage collection on every 256 KiB of a capture.
 */
async function* fileChunks(path: string, size: number): AsyncGenerator<Buffer> {
  const file = await open(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(size);
    for (;;) {
      const { bytesRead } = await file.read(buf, 0, size, null);
      if (bytesRead === 0) return;
      yield buf.subarray(0, bytesRead);
    }
  } finally {
    await file.close();
  }
}

export async function replayStream(
  stream: Readable,
  name: string,
  options: ReplayOptions,
): Promise<ReplaySummary> {
  return replayChunks(stream as AsyncIterable<Buffer>, name, options, false);
}

/**
 * reused: each chunk's memory is overwritten by the next. The capture reader copies what it
 * keeps past a push (a record straddling chunks, TCP segments awaiting the rest of a message);
 * the Frame Streams decoder keeps views of the chunks of an unfinished frame, so it gets copies.
 */
async function replayChunks(
  chunks: AsyncIterable<Buffer>,
  name: string,
  options: ReplayOptions,
  reused: boolean,
): Promise<ReplaySummary> {
  const started = process.hrtime.bigint();
  const tally = new IngestTally();
  const speed = options.speed ?? 0;
  let firstTs: number | null = null;
  let lastTs = 0;
  let wallStart = 0;
  // Only a paced replay needs each record's time; at full speed records go straight through.
  const sink: IngestSink =
    speed > 0
      ? {
          record(event: QueryEvent, source: string) {
            if (firstTs === null) {
              firstTs = event.ts;
              wallStart = Date.now();
            }
            lastTs = Math.max(lastTs, event.ts);
            options.sink.record(event, source);
          },
          malformed: (reason, raw, detail, source) =>
            options.sink.malformed(reason, raw, detail, source),
        }
      : options.sink;
  const source = `replay:${name}`;
  const common = {
    zones: options.zones,
    sink,
    tally,
    assembler: { pairWindowMs: options.pairWindowMs ?? 500, maxPending: 100_000 },
  };
  let ingest: CaptureIngest | FstrmFileIngest | null = null;
  let format: CaptureFormat = 'unknown';
  let bytes = 0;
  let head: Buffer = Buffer.alloc(0);

  let copyChunks = false;
  // Paced, a chunk goes in slices of PACE_SLICE, each followed by a wait until its time: the
  // pace stays fine-grained while the file is still read a MiB at a time (16 KiB reads cost the
  // paced replay ~1.6× the CPU per query of an unpaced one).
  const slice = speed > 0 ? PACE_SLICE : Infinity;
  chunks: for await (const chunk of chunks) {
    for (let at = 0; at < chunk.length; at += slice) {
      const piece = slice < chunk.length ? chunk.subarray(at, at + slice) : chunk;
      bytes += piece.length;
      if (ingest === null) {
        head = Buffer.concat([head, piece]);
        if (head.length < 12) continue;
        format = detectFormat(head);
        ingest =
          format === 'fstrm'
            ? new FstrmFileIngest(source, common)
            : new CaptureIngest(source, { ...common, dnsPorts: options.dnsPorts });
        copyChunks = reused && format === 'fstrm';
        ingest.push(head); // a copy (concat)
      } else {
        ingest.push(copyChunks ? Buffer.from(piece) : piece);
      }
      options.onProgress?.(bytes, tally);
      if (ingest.failed) break chunks;
      if (options.sink.congested) await options.sink.whenUncongested();
      if (speed > 0 && firstTs !== null) {
        const due = (lastTs - firstTs) / speed - (Date.now() - wallStart);
        if (due > 1) await new Promise((r) => setTimeout(r, due));
      }
    }
  }
  if (ingest === null) {
    ingest = new CaptureIngest(source, common);
    ingest.push(head);
  }
  ingest.end();
  options.onProgress?.(bytes, tally);
  return {
    source,
    format,
    bytes,
    packets: tally.packets,
    records: tally.records,
    ignored: tally.ignored,
    malformed: Object.fromEntries([...tally.malformed].sort((a, b) => b[1] - a[1])),
    malformedTotal: tally.malformedTotal,
    seconds: Number(process.hrtime.bigint() - started) / 1e9,
    failed: ingest.failed,
  };
}
