import { join } from 'node:path';
import {
  alertSchema,
  blocklistEntrySchema,
  decodeMessage,
  encodeQueryBatch,
  type Alert,
  type BlocklistEntry,
  type QueryEvent,
} from '@sluice/contracts';
import { freePort, spawnDaemon, tail, type Daemon } from '@sluice/closed-loop';
import { createKafka, provisionTopics, type Kafka } from '@sluice/kafka';
import { createRedis, type Redis } from '@sluice/redis';
import { repoRoot, uniqueName, waitFor } from '@sluice/testing';
import { encodeQuery, encodeResponse, ipBytes } from '@sluice/traffic-sim';
import { connect, type Socket } from 'node:net';
import {
  ControlType,
  DNSTAP_CONTENT_TYPE,
  encodeControlFrame,
  encodeDataFrame,
  encodeDnstap,
} from '@sluice/ingest';
import { endOffsets } from './fault-pipeline';

type Consumer = ReturnType<Kafka['consumer']>;

/** kafkajs as @sluice/kafka resolves it (the test root does not depend on it directly). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const kafkajs = require(
  require.resolve('kafkajs', { paths: [join(repoRoot, 'packages', 'kafka')] }),
) as {
  Partitioners: {
    DefaultPartitioner(): (args: {
      topic: string;
      partitionMetadata: { partitionId: number; leader: number }[];
      message: { key: string; value: null };
    }) => number;
  };
  AssignerProtocol: {
    MemberAssignment: {
      decode(b: Buffer): { assignment: Record<string, number[]> } | null;
    };
  };
};
type Producer = ReturnType<Kafka['producer']>;

export type ServiceName = 'ingest' | 'detector' | 'enrichment' | 'reputation';

/**
 * Where the built services are: this checkout, or (SLUICE_FAULTS_SERVICE_ROOT) a build of a
 * fixed commit, for runs on a box where others rebuild this checkout's dist/ as they work.
 */
export const serviceRoot = process.env.SLUICE_FAULTS_SERVICE_ROOT ?? repoRoot;

/**
 * The four pipeline services as real OS processes (`node services/<svc>/dist/main.js`, as
 * production runs them), on private topics of the shared broker, private consumer groups and a
 * Redis the test owns (a PrivateRedis it may kill). Any of them can be SIGKILLed and started
 * again; a reader follows the alerts, offenders and blocklist topics from the beginning.
 */
export class ServiceStack {
  readonly run = uniqueName('svc');
  readonly topics: Record<
    | 'queries'
    | 'alerts'
    | 'offenders'
    | 'zoneStats'
    | 'enriched'
    | 'knownNames'
    | 'blocklist'
    | 'deadLetter',
    string
  >;
  readonly kafka: Kafka;
  readonly daemons = new Map<string, { svc: ServiceName; daemon: Daemon; port: number }>();
  /** ERROR lines and checkpoint restores of every process that ran, whole (`<name> <line>`). */
  readonly captured: string[] = [];
  /** Every log of every process that ever ran (for failure messages). */
  private readonly logs: string[] = [];
  readonly alerts: Alert[] = [];
  /** Blocklist topic in order: upserts and tombstones (entry null). */
  readonly blocklist: { id: string; entry: BlocklistEntry | null; raw: string | null }[] = [];
  offenderMessages = 0;
  enrichedMessages = 0;
  private reader: Consumer | null = null;
  private admin: ReturnType<Kafka['admin']> | null = null;
  private producer: Producer | null = null;
  readonly dnstapSocket: string;
  private redisClient: Redis | null = null;

  constructor(
    private readonly o: {
      brokers: string;
      redisUrl: string;
      zones: readonly string[];
      partitions?: number;
      /** Extra environment per service. */
      env?: Partial<Record<ServiceName, Record<string, string>>>;
      dir: string;
    },
  ) {
    const t = (name: string) => `${this.run}.${name}`;
    this.topics = {
      queries: t('queries'),
      alerts: t('alerts'),
      offenders: t('offenders'),
      zoneStats: t('zone-stats'),
      enriched: t('enriched'),
      knownNames: t('known-names'),
      blocklist: t('blocklist'),
      deadLetter: t('deadletter'),
    };
    this.kafka = createKafka({
      brokers: o.brokers.split(','),
      clientId: 'faults-stack',
      sasl: null,
      tls: { enabled: false, caFile: null },
      topicPartitions: o.partitions ?? 3,
      replicationFactor: 1,
    });
    this.dnstapSocket = join(o.dir, `${this.run.slice(-8)}.sock`);
  }

  get keyPrefix(): string {
    return `${this.run}:`;
  }

  groups(): { detector: string; enrichment: string; reputation: string } {
    return {
      detector: `${this.run}.detector`,
      enrichment: `${this.run}.enrichment`,
      reputation: `${this.run}.reputation`,
    };
  }

  async init(): Promise<void> {
    await provisionTopics(
      this.kafka,
      Object.entries(this.topics).map(([k, name]) => {
        const big = k === 'blocklist' || k === 'knownNames';
        return { name, compacted: big, ...(big ? { maxMessageBytes: 8 * 2 ** 20 } : {}) };
      }),
      { partitions: this.o.partitions ?? 3, replicationFactor: 1 },
    );
    this.producer = this.kafka.producer({ allowAutoTopicCreation: false });
    await this.producer.connect();
    const reader = this.kafka.consumer({ groupId: `${this.run}.reader`, maxWaitTimeInMs: 200 });
    this.reader = reader;
    await reader.connect();
    await reader.subscribe({
      topics: [
        this.topics.alerts,
        this.topics.blocklist,
        this.topics.offenders,
        this.topics.enriched,
      ],
      fromBeginning: true,
    });
    await reader.run({
      eachMessage: async ({ topic, message }) => {
        if (topic === this.topics.alerts)
          this.alerts.push(decodeMessage(alertSchema, message.value));
        else if (topic === this.topics.offenders) this.offenderMessages++;
        else if (topic === this.topics.enriched) this.enrichedMessages++;
        else {
          const raw = message.value?.toString('utf8') ?? null;
          this.blocklist.push({
            id: message.key?.toString('utf8') ?? '',
            raw,
            entry: message.value ? decodeMessage(blocklistEntrySchema, message.value) : null,
          });
        }
      },
    });
  }

  private env(svc: ServiceName, port: number): Record<string, string> {
    const g = this.groups();
    const t = this.topics;
    const per: Record<ServiceName, Record<string, string>> = {
      ingest: {
        INGEST_DNSTAP_SOCKET: this.dnstapSocket,
        INGEST_SERVED_ZONES: this.o.zones.join(','),
        INGEST_QUERIES_TOPIC: t.queries,
        INGEST_DEADLETTER_TOPIC: t.deadLetter,
      },
      detector: {
        DETECTOR_GROUP_ID: g.detector,
        DETECTOR_QUERIES_TOPIC: t.queries,
        DETECTOR_ALERTS_TOPIC: t.alerts,
        DETECTOR_OFFENDERS_TOPIC: t.offenders,
        DETECTOR_ZONE_STATS_TOPIC: t.zoneStats,
        DETECTOR_DEADLETTER_TOPIC: t.deadLetter,
        DETECTOR_KNOWN_NAMES_TOPIC: t.knownNames,
        DETECTOR_FROM_BEGINNING: 'true',
      },
      enrichment: {
        ENRICH_CONSUMER_GROUP: g.enrichment,
        ENRICH_OFFENDERS_TOPIC: t.offenders,
        ENRICH_ALERTS_TOPIC: t.alerts,
        ENRICH_OUTPUT_TOPIC: t.enriched,
        ENRICH_DEADLETTER_TOPIC: t.deadLetter,
      },
      reputation: {
        REPUTATION_GROUP_ID: g.reputation,
        REPUTATION_INPUT_TOPIC: t.enriched,
        REPUTATION_OUTPUT_TOPIC: t.blocklist,
        REPUTATION_DEADLETTER_TOPIC: t.deadLetter,
        REPUTATION_ALERTS_TOPIC: t.alerts,
        REPUTATION_KNOWN_NAMES_TOPIC: t.knownNames,
        RPZ_ENABLED: 'false',
      },
    };
    return {
      KAFKA_BROKERS: this.o.brokers,
      KAFKA_TOPIC_PARTITIONS: String(this.o.partitions ?? 3),
      REDIS_URL: this.o.redisUrl,
      REDIS_KEY_PREFIX: this.keyPrefix,
      LOG_LEVEL: process.env.SLUICE_FAULTS_LOG_LEVEL ?? 'warn',
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: String(port),
      ...per[svc],
      ...(this.o.env?.[svc] ?? {}),
    };
  }

  /** Starts `svc` as process `name` (default: the service's name) and waits for /readyz. */
  async start(
    svc: ServiceName,
    name: string = svc,
    env: Record<string, string> = {},
  ): Promise<Daemon> {
    if (this.daemons.get(name)?.daemon.exited() === null)
      throw new Error(`${name} is already running`);
    const port = await freePort();
    const daemon = spawnDaemon(
      name,
      process.execPath,
      [join(serviceRoot, 'services', svc, 'dist', 'main.js')],
      { cwd: serviceRoot, env: { ...process.env, ...this.env(svc, port), ...env } },
    );
    this.daemons.set(name, { svc, daemon, port });
    let rest = '';
    const scan = (chunk: Buffer) => {
      const lines = (rest + chunk.toString('utf8')).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines)
        if (/"level":\s*(50|60)\b/.test(line) || /restored partition state/.test(line))
          this.captured.push(`${name} ${line}`);
    };
    daemon.proc.stdout?.on('data', scan);
    daemon.proc.stderr?.on('data', scan);
    await this.ready(name);
    return daemon;
  }

  async ready(name: string, timeoutMs = 120_000): Promise<void> {
    const d = this.daemons.get(name)!;
    await waitFor(
      async () => {
        if (d.daemon.exited())
          throw new Error(`${name} exited before it was ready\n${tail(d.daemon)}`);
        try {
          const r = await fetch(`http://127.0.0.1:${d.port}/readyz`);
          return r.ok ? true : undefined;
        } catch {
          return undefined;
        }
      },
      timeoutMs,
      `${name} to be ready`,
    );
  }

  async isReady(name: string): Promise<boolean> {
    const d = this.daemons.get(name);
    if (!d || d.daemon.exited()) return false;
    try {
      return (await fetch(`http://127.0.0.1:${d.port}/readyz`)).ok;
    } catch {
      return false;
    }
  }

  /** SIGKILL: no shutdown hook runs (no final checkpoint, no flush, no group leave). */
  async kill(name: string): Promise<void> {
    const d = this.daemons.get(name);
    if (!d || d.daemon.exited()) throw new Error(`${name} is not running`);
    const exited = new Promise((r) => d.daemon.proc.once('exit', r));
    d.daemon.proc.kill('SIGKILL');
    await exited;
    this.logs.push(tail(d.daemon, 20_000));
  }

  /** SIGTERM: the graceful stop an orchestrator does (scale-down, rolling update). */
  async stop(name: string): Promise<void> {
    const d = this.daemons.get(name);
    if (!d || d.daemon.exited()) return;
    await d.daemon.stop();
    this.logs.push(tail(d.daemon, 20_000));
  }

  assertAlive(): void {
    for (const [name, d] of this.daemons)
      if (d.daemon.exited()) throw new Error(`${name} exited\n${tail(d.daemon)}`);
  }

  allLogs(): string {
    return [...this.logs, ...[...this.daemons.values()].map((d) => tail(d.daemon, 6000))].join(
      '\n',
    );
  }

  /** Lines at ERROR (pino level 50+) across every process that ran. */
  errorLines(): string[] {
    return this.captured.filter((l) => /"level":\s*(50|60)\b/.test(l));
  }

  /** Partitions restored from a checkpoint, per process, in order (needs LOG_LEVEL=info). */
  restores(): { name: string; partition: number }[] {
    return this.captured.flatMap((l) => {
      const m = /^(\S+) .*"partition":(\d+).*restored partition state/.exec(l);
      return m ? [{ name: m[1]!, partition: Number(m[2]) }] : [];
    });
  }

  /** Publishes events as the ingest does: per-zone batches keyed by zone, a second at a time. */
  async publish(events: Iterable<QueryEvent>): Promise<number> {
    const producer = this.producer!;
    let slice: QueryEvent[] = [];
    let second = -1;
    let sent = 0;
    const flush = async () => {
      const byZone = new Map<string, QueryEvent[]>();
      for (const e of slice) {
        let l = byZone.get(e.zone);
        if (!l) byZone.set(e.zone, (l = []));
        l.push(e);
      }
      const messages = [...byZone].map(([zone, list]) => ({
        key: zone,
        value: encodeQueryBatch({ v: 1, source: 'faults', zone, events: list }),
      }));
      if (messages.length) await producer.send({ topic: this.topics.queries, messages, acks: -1 });
      sent += slice.length;
      slice = [];
    };
    for (const e of events) {
      const s = Math.floor(e.ts / 1000);
      if (s !== second && slice.length > 0) await flush();
      second = s;
      slice.push(e);
    }
    await flush();
    return sent;
  }

  /** Messages each service group still has to commit on its input topic. */
  async lag(
    only: readonly ('detector' | 'enrichment' | 'reputation')[] = [
      'detector',
      'enrichment',
      'reputation',
    ],
  ): Promise<Record<string, number>> {
    const g = this.groups();
    const pairs = (
      [
        ['detector', g.detector, this.topics.queries],
        ['enrichment', g.enrichment, this.topics.offenders],
        ['reputation', g.reputation, this.topics.enriched],
      ] as const
    ).filter(([name]) => only.includes(name));
    // One admin client for the stack's life: lockstep publishing asks this after every slice.
    if (!this.admin) {
      const admin = this.kafka.admin();
      await admin.connect();
      this.admin = admin;
    }
    const admin = this.admin;
    const out: Record<string, number> = {};
    for (const [name, group, topic] of pairs) {
      const ends = new Map(
        (await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, BigInt(o.high)]),
      );
      const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
      let lag = 0;
      for (const p of committed?.partitions ?? []) {
        const end = ends.get(p.partition) ?? 0n;
        const at = BigInt(p.offset) < 0n ? 0n : BigInt(p.offset);
        if (end > at) lag += Number(end - at);
      }
      out[name] = lag;
    }
    return out;
  }

  /** Partition of `topic` a message keyed `key` lands on (the producers' default partitioner). */
  partitionOf(key: string): number {
    const n = this.o.partitions ?? 3;
    return kafkajs.Partitioners.DefaultPartitioner()({
      topic: this.topics.queries,
      partitionMetadata: Array.from({ length: n }, (_, i) => ({
        partitionId: i,
        leader: 0,
      })),
      message: { key, value: null },
    });
  }

  /** The detector group's members (by Kafka client id) and the query partitions each holds. */
  async detectorAssignment(): Promise<Map<string, number[]>> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const { groups } = await admin.describeGroups([this.groups().detector]);
      const out = new Map<string, number[]>();
      for (const m of groups[0]?.members ?? []) {
        const a = kafkajs.AssignerProtocol.MemberAssignment.decode(m.memberAssignment);
        out.set(m.clientId, [...(a?.assignment[this.topics.queries] ?? [])].sort());
      }
      return out;
    } finally {
      await admin.disconnect();
    }
  }

  /** True once every service group committed the end of its input topic. */
  async caughtUp(): Promise<boolean> {
    const g = this.groups();
    const pairs: [string, string][] = [
      [g.detector, this.topics.queries],
      [g.enrichment, this.topics.offenders],
      [g.reputation, this.topics.enriched],
    ];
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      for (const [group, topic] of pairs) {
        const ends = await endOffsets(this.kafka, topic);
        const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
        const ok = (committed?.partitions ?? []).every(
          (p) => BigInt(p.offset) >= (ends.get(p.partition) ?? 0n),
        );
        if (!ok) return false;
      }
      return true;
    } finally {
      await admin.disconnect();
    }
  }

  /** The reputation service's blocklist in Redis (the source of truth): id → entry JSON. */
  async redisBlocklist(): Promise<Map<string, string>> {
    this.redisClient ??= createRedis({ url: this.o.redisUrl, keyPrefix: this.keyPrefix });
    if (this.redisClient.status === 'wait') await this.redisClient.connect();
    const h = await this.redisClient.hgetall('bl:e');
    return new Map(Object.entries(h));
  }

  /** The blocklist topic as a compacted reader sees it: the last value per key, tombstones applied. */
  topicBlocklist(): Map<string, string> {
    const live = new Map<string, string>();
    for (const r of this.blocklist) {
      if (r.raw === null) live.delete(r.id);
      else live.set(r.id, r.raw);
    }
    return live;
  }

  async close(): Promise<void> {
    for (const d of this.daemons.values()) await d.daemon.stop().catch(() => undefined);
    await this.reader?.disconnect().catch(() => undefined);
    await this.admin?.disconnect().catch(() => undefined);
    await this.producer?.disconnect().catch(() => undefined);
    this.redisClient?.disconnect();
  }
}

/**
 * A nameserver's dnstap output into the ingest's unix socket: AUTH_QUERY and AUTH_RESPONSE
 * frames, paced against event time. While the ingest is down it holds its frames and reconnects
 * (a writer with a queue); what the ingest had accepted but not yet published when it died is
 * what a kill can lose.
 */
export class DnstapFeeder {
  private client: Socket | null = null;
  sent = 0;
  reconnects = 0;

  constructor(private readonly socket: string) {}

  static frames(e: QueryEvent): Buffer[] {
    const sec = Math.floor(e.ts / 1000);
    const nsec = Math.round((e.ts - sec * 1000) * 1e6);
    const common = {
      identity: 'faults-ns',
      socketFamily: e.resolver.includes(':') ? 2 : 1,
      socketProtocol: 1,
      queryAddress: ipBytes(e.resolver),
      queryPort: e.resolverPort,
      queryTimeSec: sec,
      queryTimeNsec: nsec,
      queryMessage: encodeQuery(e),
    };
    const out = [encodeDnstap({ type: 1, ...common })];
    if (e.rcode !== null)
      out.push(
        encodeDnstap({
          type: 2,
          ...common,
          responseTimeSec: sec,
          responseTimeNsec: nsec,
          responseMessage: encodeResponse(e),
        }),
      );
    return out;
  }

  /** Sends `events` at `speed` × real time; `onEvent` may pause it (e.g. to kill the ingest). */
  async send(
    events: Iterable<QueryEvent>,
    speed: number,
    onEvent?: (e: QueryEvent, index: number) => Promise<void> | void,
  ): Promise<void> {
    const wallStart = performance.now();
    let first: number | null = null;
    let pending: Buffer[] = [];
    let i = 0;
    for (const e of events) {
      first ??= e.ts;
      const due = (e.ts - first) / speed - (performance.now() - wallStart);
      if (due > 20 || pending.length > 2000) {
        await this.write(pending);
        pending = [];
        if (due > 20) await new Promise((r) => setTimeout(r, due));
      }
      pending.push(...DnstapFeeder.frames(e));
      await onEvent?.(e, i++);
    }
    await this.write(pending);
  }

  /** READY → ACCEPT → START, as a bidirectional sender does. */
  private async open(): Promise<Socket> {
    const socket = connect(this.socket);
    socket.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
      socket.once('close', () => reject(new Error('closed')));
    });
    const accepted = new Promise<void>((resolve, reject) => {
      socket.once('data', () => resolve());
      socket.once('close', () => reject(new Error('closed before ACCEPT')));
    });
    socket.write(encodeControlFrame(ControlType.READY, [DNSTAP_CONTENT_TYPE]));
    await accepted;
    socket.write(encodeControlFrame(ControlType.START, [DNSTAP_CONTENT_TYPE]));
    socket.once('close', () => {
      if (this.client === socket) this.client = null;
    });
    return socket;
  }

  private async write(frames: Buffer[]): Promise<void> {
    if (frames.length === 0) return;
    const bytes = Buffer.concat(frames.map(encodeDataFrame));
    for (;;) {
      try {
        const socket = (this.client ??= await this.open());
        if (!socket.write(bytes))
          await new Promise<void>((resolve, reject) => {
            socket.once('drain', resolve);
            socket.once('close', () => reject(new Error('closed')));
          });
        this.sent += frames.length;
        return;
      } catch {
        this.client = null;
        this.reconnects++;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  /** Drops the connection (the ingest died): the next write reconnects. */
  reset(): void {
    this.client?.destroy();
    this.client = null;
  }

  async close(): Promise<void> {
    const socket = this.client;
    if (!socket) return;
    socket.write(encodeControlFrame(ControlType.STOP));
    await new Promise((r) => setTimeout(r, 200));
    socket.end();
  }
}
