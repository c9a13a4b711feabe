import { type Command } from 'commander';
import { SingleBar } from 'cli-progress';
import Table from 'cli-table3';
import { ErrorCodes, SluiceError } from '@sluice/contracts';
import {
  inputSize,
  loadIngestConfig,
  openPublisher,
  replayFile,
  ZoneMapper,
  type PacedSink,
  type ReplaySummary,
} from '@sluice/ingest';

interface ReplayFlags {
  speed: string;
  zones?: string;
  topic?: string;
  dryRun?: boolean;
  progress: boolean;
}

/** `sluice replay FILE`: pcap, pcapng or .fstrm (or - for stdin) into sluice.queries.v1. */
export function register(program: Command): void {
  program
    .command('replay')
    .description('replay a pcap, pcapng or dnstap .fstrm file (- = stdin) into sluice.queries.v1')
    .argument('<file>', 'capture or .fstrm file; - reads stdin (tcpdump -w - | sluice replay -)')
    .option(
      '--speed <factor>',
      '0 = as fast as possible, 1 = recorded pace, 10 = ten times faster',
      '0',
    )
    .option('--zones <list>', 'served zones, comma-separated (default: INGEST_SERVED_ZONES)')
    .option('--topic <name>', 'queries topic (default: INGEST_QUERIES_TOPIC or sluice.queries.v1)')
    .option('--dry-run', 'decode and count only; publish nothing')
    .option('--no-progress', 'no progress bar')
    .action(async (file: string, flags: ReplayFlags) => {
      const speed = Number(flags.speed);
      if (!Number.isFinite(speed) || speed < 0)
        throw new SluiceError(ErrorCodes.config, '--speed must be a number ≥ 0');
      const env = { ...process.env };
      if (flags.zones !== undefined) env.INGEST_SERVED_ZONES = flags.zones;
      if (flags.topic !== undefined) env.INGEST_QUERIES_TOPIC = flags.topic;
      const config = loadIngestConfig(env);
      const total = inputSize(file);
      const bar =
        flags.progress && process.stderr.isTTY !== false
          ? new SingleBar({
              stream: process.stderr,
              format:
                total === null
                  ? 'replay {mb} MiB | {records} records | {malformed} malformed'
                  : 'replay [{bar}] {percentage}% | {mb} MiB | {records} records | {malformed} malformed | eta {eta}s',
              hideCursor: true,
            })
          : null;
      bar?.start(total ?? 0, 0, { mb: '0', records: 0, malformed: 0 });
      const open = flags.dryRun ? null : await openPublisher(config, 'sluice-replay');
      const sink: PacedSink = open?.publisher ?? {
        congested: false,
        whenUncongested: () => Promise.resolve(),
        record: () => undefined,
        malformed: () => undefined,
      };
      let summary: ReplaySummary;
      try {
        summary = await replayFile(file, {
          sink,
          zones: new ZoneMapper(config.INGEST_SERVED_ZONES),
          pairWindowMs: config.INGEST_PAIR_WINDOW_MS,
          speed,
          onProgress: (bytes, tally) =>
            bar?.update(bytes, {
              mb: (bytes / 2 ** 20).toFixed(1),
              records: tally.records,
              malformed: tally.malformedTotal,
            }),
        });
      } finally {
        await open?.close();
        bar?.stop();
      }
      process.stdout.write(
        `${renderSummary(summary, open?.publisher.lostBatches ?? 0, !flags.dryRun)}\n`,
      );
      if (summary.failed) process.exitCode = 2;
    });
}

function renderSummary(s: ReplaySummary, lostBatches: number, published: boolean): string {
  const table = new Table({
    head: ['replay', s.source],
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
    style: process.stdout.isTTY ? {} : { head: [], border: [] },
  });
  const rate = s.seconds > 0 ? Math.round(s.records / s.seconds) : 0;
  table.push(
    ['format', s.format],
    ['bytes', s.bytes.toLocaleString('en-US')],
    [s.format === 'fstrm' ? 'frames' : 'packets', s.packets.toLocaleString('en-US')],
    ['decoded (records)', s.records.toLocaleString('en-US')],
    ['ignored (not DNS)', s.ignored.toLocaleString('en-US')],
    ['malformed', s.malformedTotal.toLocaleString('en-US')],
    ...Object.entries(s.malformed).map(([reason, n]) => [`  ${reason}`, n.toLocaleString('en-US')]),
    ['seconds', s.seconds.toFixed(2)],
    ['rate', `${rate.toLocaleString('en-US')} records/s`],
    [
      'published',
      published ? (lostBatches > 0 ? `yes, ${lostBatches} batches LOST` : 'yes') : 'no (dry run)',
    ],
  );
  if (s.failed) table.push(['status', 'input unreadable past some point (see malformed)']);
  return table.toString();
}
