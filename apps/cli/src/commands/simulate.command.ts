import { createWriteStream } from 'node:fs';
import { type Command } from 'commander';
import Table from 'cli-table3';
import { ErrorCodes, SluiceError, type QueryEvent } from '@sluice/contracts';
import {
  ATTACK_KINDS,
  BENIGN_KINDS,
  sendUdp,
  simulateLabelled,
  writePcapFile,
  zonesOf,
  type ScenarioSpec,
  type StreamKind,
  type StreamSpec,
} from '@sluice/traffic-sim';
import { packagedResolverSpace } from '../sim/packaged-resolver-space';

const KINDS: readonly string[] = [...ATTACK_KINDS, ...BENIGN_KINDS];

function bad(message: string): never {
  throw new SluiceError(ErrorCodes.config, message);
}

function num(value: string, what: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) bad(`${what} must be a non-negative number, got "${value}"`);
  return n;
}

/** kind[:zone[:startS[:durationS[:qps[:resolvers]]]]] — zone defaults to the first benign zone. */
export function parseStream(
  text: string,
  zones: readonly string[],
  durationMs: number,
): StreamSpec {
  const [kind = '', zone, start, duration, qps, resolvers] = text.split(':');
  if (!KINDS.includes(kind)) bad(`unknown traffic kind "${kind}": use one of ${KINDS.join(', ')}`);
  const startMs = start ? num(start, 'start') * 1000 : Math.round(durationMs / 2);
  return {
    kind: kind as StreamKind,
    zone: zone || zones[0] || bad('no zone to attack: give one, e.g. mirai:example.com'),
    startMs,
    durationMs: duration ? num(duration, 'duration') * 1000 : Math.max(0, durationMs - startMs),
    qps: qps ? num(qps, 'qps') : kind === 'lowslow' ? 50 : 2000,
    ...(resolvers ? { resolvers: num(resolvers, 'resolvers') } : {}),
  };
}

interface SimulateOptions {
  seed: string;
  duration: string;
  start: string;
  zones: string;
  benignQps: string;
  newNameShare?: string;
  diurnal?: string;
  attack: string[];
  benign: string[];
  responses?: boolean;
  pcap?: string;
  jsonl?: string;
  send?: string;
  speed: string;
  resolverSpace: string;
}

const collect = (value: string, previous: string[]) => [...previous, value];

/** `sluice simulate`: reproducible DNS traffic — benign mixes plus named attack profiles. */
export function register(program: Command): void {
  program
    .command('simulate')
    .description(
      'generate reproducible DNS traffic (benign mix + attacks) as pcap, JSON lines or live UDP',
    )
    .option('--seed <seed>', 'random seed: same seed, same traffic', '1')
    .option('--duration <seconds>', 'length of the scenario in event time', '120')
    .option(
      '--start <time>',
      'event time of the first query (ISO 8601 or epoch ms)',
      '2026-01-01T00:00:00Z',
    )
    .option('--zones <n|list>', 'benign zone count or comma-separated names', '20')
    .option('--benign-qps <qps>', 'benign queries per second across all zones', '500')
    .option('--new-name-share <share>', 'share of benign queries for never-asked names', '0.005')
    .option('--diurnal <amplitude:periodS>', 'day/night swing of the benign rate, e.g. 0.5:86400')
    .option(
      '--attack <spec>',
      `attack kind[:zone[:startS[:durationS[:qps[:resolvers]]]]]; kinds: ${ATTACK_KINDS.join(', ')} (repeatable)`,
      collect,
      [],
    )
    .option(
      '--benign <spec>',
      `benign look-alike, same syntax; kinds: ${BENIGN_KINDS.join(', ')} (repeatable)`,
      collect,
      [],
    )
    .option(
      '--responses',
      'attach rcodes (NXDOMAIN for names that do not exist) and write responses to the pcap',
    )
    .option('--pcap <file>', 'write a classic pcap (Ethernet/IPv4+IPv6/UDP)')
    .option('--jsonl <file>', 'write QueryEvents as JSON lines ("-" for stdout)')
    .option(
      '--send <host:port>',
      'send each query as a UDP datagram (e.g. to a nameserver or the ingest mirror)',
    )
    .option('--speed <x>', 'live sending speed vs event time (0 = as fast as possible)', '1')
    .option(
      '--resolver-space <space>',
      "resolvers from 'synthetic' space (what every seed has always produced; partly unallocated) or 'allocated' access networks of the packaged IP data, weighted like a Mirai flood's (each has a country and an ASN)",
      'synthetic',
    )
    .action(async (o: SimulateOptions) => {
      const durationMs = num(o.duration, '--duration') * 1000;
      const startTime = /^\d+$/.test(o.start) ? Number(o.start) : Date.parse(o.start);
      if (!Number.isFinite(startTime))
        bad(`--start must be ISO 8601 or epoch ms, got "${o.start}"`);
      const zoneSpec = /^\d+$/.test(o.zones)
        ? Number(o.zones)
        : o.zones.split(',').map((z) => z.trim().toLowerCase());
      const zones = zonesOf({ zones: zoneSpec } as ScenarioSpec);
      let diurnal: ScenarioSpec['diurnal'];
      if (o.diurnal) {
        const [amp = '', period = ''] = o.diurnal.split(':');
        diurnal = {
          amplitude: num(amp, '--diurnal amplitude'),
          periodMs: num(period, '--diurnal period') * 1000,
        };
      }
      if (o.resolverSpace !== 'synthetic' && o.resolverSpace !== 'allocated')
        bad(`--resolver-space must be synthetic or allocated, got "${o.resolverSpace}"`);
      const spec: ScenarioSpec = {
        seed: /^\d+$/.test(o.seed) ? Number(o.seed) : o.seed,
        startTime,
        durationMs,
        zones: zoneSpec,
        benignQps: num(o.benignQps, '--benign-qps'),
        benignNewNameShare: num(o.newNameShare ?? '0.005', '--new-name-share'),
        ...(diurnal ? { diurnal } : {}),
        withResponses: o.responses ?? false,
        streams: [...o.attack, ...o.benign].map((s) => parseStream(s, zones, durationMs)),
      };
      if (!o.pcap && !o.jsonl && !o.send)
        bad('say where the traffic goes: --pcap FILE, --jsonl FILE|- or --send HOST:PORT');
      if (o.resolverSpace === 'allocated') spec.resolverSpace = packagedResolverSpace();

      const counts = new Map<string, number>();
      const events = function* (): Generator<QueryEvent> {
        for (const e of simulateLabelled(spec)) {
          counts.set(e.origin, (counts.get(e.origin) ?? 0) + 1);
          yield e.event;
        }
      };
      let written = 0;
      if (o.pcap) {
        written = await writePcapFile(o.pcap, events(), {
          withResponses: spec.withResponses ?? false,
        });
      } else if (o.jsonl) {
        const out: NodeJS.WritableStream =
          o.jsonl === '-' ? process.stdout : createWriteStream(o.jsonl);
        for (const e of events()) {
          if (!out.write(`${JSON.stringify(e)}\n`))
            await new Promise<void>((r) => out.once('drain', () => r()));
          written++;
        }
        if (out !== process.stdout) await new Promise<void>((r) => out.end(() => r()));
      } else if (o.send) {
        const m = /^(.+):(\d+)$/.exec(o.send) ?? bad(`--send must be host:port, got "${o.send}"`);
        const host = m[1]!.replace(/^\[|\]$/g, '');
        written = await sendUdp(events(), {
          host,
          port: Number(m[2]),
          speed: num(o.speed, '--speed'),
          onProgress: (n) => process.stderr.write(`\rsent ${n}`),
        });
        process.stderr.write('\n');
      }
      const table = new Table({ head: ['origin', 'queries'] });
      for (const [origin, n] of [...counts].sort()) table.push([origin, n]);
      const summary = `${table.toString()}\n${written} ${o.pcap ? 'packets' : 'queries'} written; seed ${String(spec.seed)}\n`;
      // With --jsonl - the data owns stdout.
      (o.jsonl === '-' ? process.stderr : process.stdout).write(summary);
    });
}
