import { createReadStream, statSync } from 'node:fs';
import { basename } from 'node:path';
import { type Readable } from 'node:stream';
import { type QueryEvent } from '@sluice/contracts';
import { detectFormat, type CaptureFormat } from './core/pcap-reader';
import {
  CaptureIngest,
  FstrmFileIngest,
  IngestTally,
  type IngestSink,
  type SourceOptions,
} from './core/sources';
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

/** The input stream of a replay: a file, or stdin for '-'. */
export function openReplayInput(path: string, highWaterMark = 256 * 1024): Readable {
  return path === '-' ? process.stdin : createReadStream(path, { highWaterMark });
}

export function replaySourceName(path: string): string {
  return path === '-' ? 'stdin' : basename(path);
}

/**
 * The synchronous heart of a replay: the bytes of a pcap, pcapng or .fstrm stream in, records
 * out to the sink. The format is detected from the first bytes. Used by the in-thread replay
 * and by the replay worker alike.
 */
export class ReplayDecoder {
  readonly tally: IngestTally;
  format: CaptureFormat = 'unknown';
  private ingest: CaptureIngest | FstrmFileIngest | null = null;
  private head: Buffer = Buffer.alloc(0);

  constructor(
    readonly source: string,
    private readonly common: SourceOptions & { tally: IngestTally },
    private readonly dnsPorts?: ReadonlySet<number>,
  ) {
    this.tally = common.tally;
  }

  /** The input became unreadable (bad magic, corrupt record header): stop reading. */
  get failed(): boolean {
    return this.ingest?.failed ?? false;
  }

  push(chunk: Buffer): void {
    if (this.ingest !== null) {
      this.ingest.push(chunk);
      return;
    }
    this.head = Buffer.concat([this.head, chunk]);
    if (this.head.length < 12) return;
    this.format = detectFormat(this.head);
    this.ingest =
      this.format === 'fstrm'
        ? new FstrmFileIngest(this.source, this.common)
        : new CaptureIngest(this.source, { ...this.common, dnsPorts: this.dnsPorts });
    this.ingest.push(this.head);
  }

  end(): void {
    if (this.ingest === null) {
      this.ingest = new CaptureIngest(this.source, this.common);
      this.ingest.push(this.head);
    }
    this.ingest.end();
  }
}

export function summarize(
  source: string,
  format: CaptureFormat,
  bytes: number,
  tally: IngestTally,
  started: bigint,
  failed: boolean,
): ReplaySummary {
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
    failed,
  };
}

/** Replay a pcap, pcapng or .fstrm file (or '-' for stdin) into the sink, on this thread. */
export async function replayFile(path: string, options: ReplayOptions): Promise<ReplaySummary> {
  const stream = openReplayInput(path, options.speed ? 16 * 1024 : 256 * 1024);
  return replayStream(stream, replaySourceName(path), options);
}

export async function replayStream(
  stream: Readable,
  name: string,
  options: ReplayOptions,
): Promise<ReplaySummary> {
  const started = process.hrtime.bigint();
  const tally = new IngestTally();
  const speed = options.speed ?? 0;
  let firstTs: number | null = null;
  let lastTs = 0;
  let wallStart = 0;
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
  const decoder = new ReplayDecoder(
    source,
    {
      zones: options.zones,
      sink,
      tally,
      assembler: { pairWindowMs: options.pairWindowMs ?? 2000, maxPending: 100_000 },
    },
    options.dnsPorts,
  );
  let bytes = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    decoder.push(chunk);
    options.onProgress?.(bytes, tally);
    if (decoder.failed) break;
    if (options.sink.congested) await options.sink.whenUncongested();
    if (speed > 0 && firstTs !== null) {
      const due = (lastTs - firstTs) / speed - (Date.now() - wallStart);
      if (due > 1) await new Promise((r) => setTimeout(r, due));
    }
  }
  decoder.end();
  options.onProgress?.(bytes, tally);
  return summarize(source, decoder.format, bytes, tally, started, decoder.failed);
}
