/**
 * The ingest side of `pnpm bench e2e`, as its own process: the built ingest's replay path (the
 * same openPublisher + replayFile the `sluice replay` CLI runs) publishing a capture to Kafka,
 * plus the one thing the CLI cannot say — the wall time the first query of each flood was
 * handed to the publisher (the start of ingest-to-alert latency).
 *
 *   node --require @swc-node/register bench/e2e-replay.ts <capture> <speed> <floods.json>
 *
 * Ingest settings come from the environment (INGEST_QUERIES_TOPIC, INGEST_SERVED_ZONES,
 * KAFKA_BROKERS, ...). Writes JSON lines on stdout: {"type":"start"}, {"type":"flood"},
 * {"type":"done"}; the harness reads them.
 */
import { readFileSync } from 'node:fs';
import { type QueryEvent } from '../packages/contracts/dist';
// The built service, as it ships (`pnpm bench` builds first).
import {
  loadIngestConfig,
  openPublisher,
  replayFile,
  ZoneMapper,
  type PacedSink,
} from '../services/ingest/dist';

interface FloodMark {
  zone: string;
  /** Event time of the flood's first query (epoch ms). */
  firstTs: number;
}

const emit = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);

async function main(): Promise<void> {
  const [path, speedArg, floodsPath] = process.argv.slice(2);
  if (!path || speedArg === undefined || !floodsPath)
    throw new Error('usage: e2e-replay.ts <capture> <speed> <floods.json>');
  const speed = Number(speedArg);
  const floods = JSON.parse(readFileSync(floodsPath, 'utf8')) as FloodMark[];
  // Per zone, floods in event-time order; a record is checked only once the earliest pending
  // flood's time is reached, so the wrapper costs one comparison per record.
  const pending = new Map<string, number[]>();
  for (const f of [...floods].sort((a, b) => a.firstTs - b.firstTs)) {
    const list = pending.get(f.zone) ?? [];
    list.push(f.firstTs - 0.001); // pcap keeps µs; the generator's time may carry more
    pending.set(f.zone, list);
  }
  const nextDue = () => Math.min(Infinity, ...[...pending.values()].map((l) => l[0] ?? Infinity));
  let due = nextDue();

  const config = loadIngestConfig(process.env);
  const open = await openPublisher(config, 'sluice-e2e-replay');
  const publisher = open.publisher;
  let first = true;
  const sink: PacedSink = {
    get congested() {
      return publisher.congested;
    },
    whenUncongested: () => publisher.whenUncongested(),
    malformed: (reason, raw, detail, source) => publisher.malformed(reason, raw, detail, source),
    record(event: QueryEvent, source: string) {
      if (first) {
        first = false;
        const cpu = process.cpuUsage();
        // CPU from here on is the replay's; module loading and connecting came before.
        emit({
          type: 'start',
          at: Date.now(),
          cpuSeconds: (cpu.user + cpu.system) / 1e6,
          minorFaults: process.resourceUsage().minorPageFault,
        });
      }
      if (event.ts >= due) {
        const list = pending.get(event.zone);
        if (list && list.length > 0 && event.ts >= list[0]!) {
          list.shift();
          emit({ type: 'flood', zone: event.zone, ts: event.ts, at: Date.now() });
          due = nextDue();
        }
      }
      publisher.record(event, source);
    },
  };
  const summary = await replayFile(path, {
    sink,
    zones: new ZoneMapper(config.INGEST_SERVED_ZONES),
    pairWindowMs: config.INGEST_PAIR_WINDOW_MS,
    speed,
  });
  const handedOverAt = Date.now();
  await open.close();
  const cpu = process.cpuUsage();
  emit({
    type: 'done',
    handedOverAt,
    ackedAt: Date.now(),
    records: summary.records,
    packets: summary.packets,
    malformed: summary.malformedTotal,
    lostBatches: publisher.lostBatches,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    minorFaults: process.resourceUsage().minorPageFault,
  });
}

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
