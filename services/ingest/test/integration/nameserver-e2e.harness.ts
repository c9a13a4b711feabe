import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { type QueryBatch, type QueryEvent } from '@sluice/contracts';
import { type Kafka } from '@sluice/kafka';
import {
  createTestTopics,
  freePort,
  testKafka,
  waitFor,
  type DnstapOutput,
  type DnstapSink,
} from '@sluice/testing';
import { ZoneMapper } from '../../src/core/zone-mapper';
import { DnstapListener } from '../../src/listeners/dnstap.listener';
import { openPublisher, type OpenPublisher } from '../../src/publish/open-publisher';
import { eventsOf, queryBatchReader, testIngestConfig, type TopicReader } from './kafka-helpers';

/**
 * What every real-nameserver dnstap test shares: the ingest (listener → publisher → Kafka),
 * the nameserver process, one zone, one battery of dig queries from fixed source ports, and
 * the assertions on the QueryEvents they become. Each *-dnstap.e2e.test.ts adds only what is
 * particular to its server (config, message types, quirks).
 */

export const VICTIM = 'victim.example';
/** Not served by the nameserver under test, and not special to any of them (RFC 6761 names are, to Unbound). */
export const OTHER_NAME = 'host.other-zone.net';
export const OTHER_ZONE = 'other-zone.net';

export const victimZoneFile = `${VICTIM}.zone`;

export function writeVictimZone(dir: string): { name: string; file: string } {
  writeFileSync(
    join(dir, victimZoneFile),
    [
      `$ORIGIN ${VICTIM}.`,
      '$TTL 300',
      '@ IN SOA ns1 hostmaster 1 3600 900 604800 300',
      '@ IN NS ns1',
      'ns1 IN A 127.0.0.1',
      'www IN A 192.0.2.80',
      '',
    ].join('\n'),
  );
  return { name: VICTIM, file: victimZoneFile };
}

/** The path of an executable on PATH, or null. */
export function onPath(binary: string): string | null {
  for (const d of (process.env.PATH ?? '').split(delimiter)) {
    if (!d) continue;
    try {
      accessSync(join(d, binary), constants.X_OK);
      return join(d, binary);
    } catch {
      // not here
    }
  }
  return null;
}

/** describe() when every binary is installed, else describe.skip() with the reason printed. */
export function describeWithBinaries(
  binaries: readonly string[],
  title: string,
  fn: () => void,
): void {
  const missing = binaries.filter((b) => onPath(b) === null);
  if (missing.length === 0) {
    describe(title, fn);
    return;
  }
  console.warn(`skipping "${title}": ${missing.join(', ')} not on PATH`);
  describe.skip(title, fn);
}

const exec = promisify(execFile);

/** Run a config checker; its complaint (with the config) becomes the test failure. */
export async function checkConfig(cmd: string, args: string[], config: string): Promise<void> {
  await exec(cmd, args).catch((e: { stdout?: string; stderr?: string; message?: string }) => {
    throw new Error(
      `${cmd} ${args.join(' ')} rejected the config:\n${e.stdout ?? ''}${e.stderr ?? e.message ?? ''}\n--- config ---\n${config}`,
    );
  });
}

/** A foreground daemon whose output is kept for failure messages. */
export class Daemon {
  private output = '';

  private constructor(
    readonly name: string,
    private readonly proc: ChildProcess,
  ) {
    const keep = (d: Buffer) => {
      // Bounded: only the tail matters in a failure message.
      this.output = (this.output + d.toString()).slice(-20_000);
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    proc.on('error', (err) => keep(Buffer.from(`\nspawn error: ${err.message}\n`)));
  }

  static spawn(name: string, cmd: string, args: string[]): Daemon {
    return new Daemon(name, spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
  }

  get exited(): boolean {
    return this.proc.exitCode !== null || this.proc.signalCode !== null;
  }

  log(): string {
    return this.output;
  }

  /** SIGTERM, then SIGKILL after 5 s. */
  async stop(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.proc.once('exit', () => resolve()));
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}

/**
 * The ingest as the service runs it, minus Nest: a DnstapListener (unix socket or TCP)
 * publishing to this test's own topics.
 */
export class IngestUnderTest {
  private reader: TopicReader<QueryBatch> | null = null;

  private constructor(
    private readonly kafka: Kafka,
    readonly kind: 'dnstap-unix' | 'dnstap-tcp',
    readonly sink: DnstapSink,
    readonly listener: DnstapListener,
    readonly open: OpenPublisher,
    private readonly queriesTopic: string,
  ) {}

  static async start(
    label: string,
    transport: 'unix' | 'tcp',
    dir: string,
  ): Promise<IngestUnderTest> {
    const kafka = testKafka(`ingest-${label}-e2e`);
    const [queries, deadLetters] = await createTestTopics(kafka, [
      `ingest.${label}.queries`,
      `ingest.${label}.deadletter`,
    ]);
    const config = testIngestConfig(queries, deadLetters, { INGEST_SERVED_ZONES: VICTIM });
    const open = await openPublisher(config, `ingest-${label}-e2e`);
    const kind = transport === 'unix' ? 'dnstap-unix' : 'dnstap-tcp';
    const listener = new DnstapListener(kind, {
      zones: new ZoneMapper(config.INGEST_SERVED_ZONES),
      publisher: open.publisher,
      metrics: open.metrics,
      assembler: { pairWindowMs: config.INGEST_PAIR_WINDOW_MS, maxPending: 1000 },
      maxFrameBytes: config.INGEST_MAX_FRAME_BYTES,
      log: { info: () => undefined, warn: () => undefined },
    });
    let sink: DnstapSink;
    if (transport === 'unix') {
      sink = { unix: join(dir, 'dnstap.sock') };
      await listener.listenUnix(sink.unix);
    } else {
      const address = await listener.listenTcp('127.0.0.1', 0);
      sink = { tcp: { host: '127.0.0.1', port: address.port } };
    }
    return new IngestUnderTest(kafka, kind, sink, listener, open, queries);
  }

  output(identity: string): DnstapOutput {
    return { sink: this.sink, identity };
  }

  async connected(daemon: Daemon, timeoutMs = 20_000): Promise<void> {
    await waitFor(
      () => {
        if (this.listener.connectionCount > 0) return true;
        if (daemon.exited) throw new Error(`${daemon.name} exited:\n${daemon.log().slice(-3000)}`);
        return undefined;
      },
      timeoutMs,
      `${daemon.name} to connect its dnstap output to the ingest`,
    );
  }

  /** Reads the queries topic from the beginning until every `wanted` predicate has a match. */
  async events(
    wanted: ReadonlyArray<(e: QueryEvent) => boolean>,
    timeoutMs = 30_000,
  ): Promise<{ events: QueryEvent[]; batches: QueryBatch[] }> {
    if (!this.reader) {
      this.reader = queryBatchReader(this.kafka, this.queriesTopic);
      await this.reader.start();
    }
    const reader = this.reader;
    await waitFor(
      () => {
        const events = eventsOf(reader.items);
        return wanted.every((w) => events.some(w)) ? true : undefined;
      },
      timeoutMs,
      'the battery’s records on Kafka',
    );
    return { events: eventsOf(reader.items), batches: reader.items };
  }

  /** dnstap frames the listener received (queries and responses). */
  async frames(): Promise<number> {
    const m = await this.open.metrics.inputs.get();
    return m.values.find((v) => v.labels.source === this.kind)?.value ?? 0;
  }

  async close(): Promise<void> {
    await this.reader?.stop();
    await this.listener.close();
    await this.open.close();
  }
}

/** A temp dir, a port for the nameserver, and cleanup in reverse order of registration. */
export class Scratch {
  readonly dir: string;
  private readonly cleanups: (() => Promise<void> | void)[] = [];

  constructor(prefix: string) {
    this.dir = mkdtempSync(join(tmpdir(), `sluice-${prefix}-`));
    this.cleanups.push(() => rmSync(this.dir, { recursive: true, force: true }));
  }

  defer(cleanup: () => Promise<void> | void): void {
    this.cleanups.push(cleanup);
  }

  async cleanup(): Promise<void> {
    // Daemons first (they flush dnstap on the way out), then the ingest, then the files.
    for (const c of this.cleanups.reverse()) {
      try {
        await c();
      } catch (err) {
        console.warn('cleanup failed', err);
      }
    }
    this.cleanups.length = 0;
  }
}

async function dig(port: number, args: string[]): Promise<string> {
  const { stdout } = await exec('dig', [
    '@127.0.0.1',
    '-p',
    String(port),
    '+time=2',
    '+tries=2',
    ...args,
  ]);
  return stdout;
}

/** Poll SOA of the zone until the server answers NOERROR (or it exits). */
export async function answering(daemon: Daemon, port: number, timeoutMs = 20_000): Promise<void> {
  await waitFor(
    async () => {
      if (daemon.exited)
        throw new Error(`${daemon.name} exited before answering:\n${daemon.log().slice(-3000)}`);
      const out = await dig(port, ['+tries=1', '+time=1', VICTIM, 'SOA']).catch(() => '');
      return /status: NOERROR/.test(out) ? true : undefined;
    },
    timeoutMs,
    `${daemon.name} to answer SOA ${VICTIM} on 127.0.0.1:${port}`,
  );
}

/** One dig of the battery: what was asked, from which port, and what the server said. */
export interface Probe {
  qname: string;
  qtype: number;
  sport: number;
  status: string;
  answers: number;
}

export interface Battery {
  /** www A, RD=1, DO, EDNS 1400, mixed case on the wire: NOERROR with an answer. */
  www: Probe;
  /** www A, RD=0, EDNS 1232 (what a resolver sends an authoritative): NOERROR. */
  wwwNoRd: Probe;
  /** A name that does not exist, RD=0, no EDNS: NXDOMAIN. */
  nx: Probe;
  /** An existing name, a type it has no record of, over TCP: NODATA (NOERROR, ancount 0). */
  nodata: Probe;
  /** A zone the server does not serve: REFUSED. */
  other: Probe;
}

/**
 * Sends the battery, one dig at a time, each from its own fixed source port so its record
 * can be told apart from the warm-up queries. Returns what dig saw, to compare with what
 * the ingest reports.
 */
export async function sendBattery(port: number): Promise<Battery> {
  const probe = async (
    qname: string,
    type: string,
    qtype: number,
    flags: string[],
  ): Promise<Probe> => {
    const sport = await freePort();
    const out = await dig(port, ['-b', `127.0.0.1#${sport}`, qname, type, ...flags]);
    return {
      qname: qname.toLowerCase(),
      qtype,
      sport,
      status: /status: ([A-Z]+)/.exec(out)?.[1] ?? 'NONE',
      answers: Number(/ANSWER: (\d+)/.exec(out)?.[1] ?? -1),
    };
  };
  return {
    www: await probe('WWW.Victim.Example', 'A', 1, ['+dnssec', '+bufsize=1400']),
    wwwNoRd: await probe('www.victim.example', 'A', 1, ['+norecurse', '+bufsize=1232']),
    nx: await probe('nope123.victim.example', 'AAAA', 28, ['+norecurse', '+noedns']),
    nodata: await probe('www.victim.example', 'TXT', 16, ['+tcp']),
    other: await probe(OTHER_NAME, 'A', 1, []),
  };
}

const matches = (p: Probe) => (e: QueryEvent) =>
  e.resolverPort === p.sport && e.qname === p.qname && e.qtype === p.qtype;

export function batteryPredicates(b: Battery): ((e: QueryEvent) => boolean)[] {
  return Object.values(b).map(matches);
}

/**
 * What dig saw is what the server said; the ingest must report the same rcode for each
 * query — which it can only know from the dnstap response — and every query exactly once
 * (a response that failed to pair would add a second, response-only record).
 */
export function expectBattery(events: readonly QueryEvent[], b: Battery): void {
  expect({
    www: b.www.status,
    wwwNoRd: b.wwwNoRd.status,
    nx: b.nx.status,
    nodata: b.nodata.status,
    other: b.other.status,
  }).toEqual({
    www: 'NOERROR',
    wwwNoRd: 'NOERROR',
    nx: 'NXDOMAIN',
    nodata: 'NOERROR',
    other: 'REFUSED',
  });
  const one = (p: Probe): QueryEvent => {
    const found = events.filter(matches(p));
    expect(found).toHaveLength(1);
    return found[0]!;
  };
  const common = { resolver: '127.0.0.1', qclass: 1, cd: false };
  // The answer count of the response dig received is the one the ingest reports: at least one
  // record for www A, none for NODATA (and for NXDOMAIN and REFUSED).
  expect(b.www.answers).toBeGreaterThanOrEqual(1);
  expect(b.wwwNoRd.answers).toBeGreaterThanOrEqual(1);
  expect([b.nx.answers, b.nodata.answers, b.other.answers]).toEqual([0, 0, 0]);

  const www = one(b.www);
  expect(www).toMatchObject({
    ...common,
    resolverPort: b.www.sport,
    transport: 'udp',
    rd: true,
    do: true,
    ednsSize: 1400,
    zone: VICTIM,
    rcode: 0,
    ancount: b.www.answers,
  });
  // Event time is the server's own timestamp, close to (not equal to) the test's clock.
  expect(Math.abs(Date.now() - www.ts)).toBeLessThan(60_000);

  expect(one(b.wwwNoRd)).toMatchObject({
    ...common,
    transport: 'udp',
    rd: false,
    do: false,
    ednsSize: 1232,
    zone: VICTIM,
    rcode: 0,
    ancount: b.wwwNoRd.answers,
  });
  expect(one(b.nx)).toMatchObject({
    ...common,
    transport: 'udp',
    rd: false,
    do: false,
    ednsSize: null,
    zone: VICTIM,
    rcode: 3,
    ancount: 0,
  });
  expect(one(b.nodata)).toMatchObject({
    ...common,
    transport: 'tcp',
    rd: true,
    zone: VICTIM,
    rcode: 0,
    ancount: 0,
  });
  // Not a served zone: the registrable-domain fallback names it.
  expect(one(b.other)).toMatchObject({
    ...common,
    transport: 'udp',
    rd: true,
    zone: OTHER_ZONE,
    rcode: 5,
    ancount: 0,
  });
}
