import { join } from 'node:path';
import { createKafka, provisionTopics, type Kafka } from '@sluice/kafka';
import { uniqueName } from '@sluice/testing';
import { freePort, sleep, spawnDaemon, tail, until, type Daemon } from './procs';

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

export type ServiceName = 'ingest' | 'detector' | 'enrichment' | 'reputation';
export const SERVICES: readonly ServiceName[] = ['ingest', 'detector', 'enrichment', 'reputation'];

export interface PipelineOptions {
  /** Repository root (services/<svc>/dist/main.js must be built). */
  root: string;
  kafkaBrokers: string;
  redisUrl: string;
  /** INGEST_SERVED_ZONES. */
  zones: readonly string[];
  /** Unix socket the ingest listens on for dnstap (dnsdist or BIND connect to it). */
  dnstapSocket: string;
  /** Reputation: where to write the dnsdist CDB files (unset: no dnsdist output). */
  dnsdist?: { clientsCdbPath: string; guardCdbPath: string; notify?: string };
  /** Reputation: RPZ server settings (unset: RPZ disabled). */
  rpz?: { notify: string; tsig: string; origin: string };
  /** Networks the reputation service must treat as public resolvers (never blocked outright). */
  protectedNetworks: readonly string[];
  /** Dry run: publish entries, enforce none (BLOCK_SHADOW). */
  shadow?: boolean;
  /** Extra environment per service (operator overrides, e.g. REPUTATION_MIN_ATTACK_QUERIES). */
  extraEnv?: Partial<Record<ServiceName, Record<string, string>>>;
  logLevel?: string;
}

export interface BlocklistRecord {
  id: string;
  /** The entry as published (JSON), or null for a tombstone. */
  entry: Record<string, unknown> | null;
  /** Wall clock (performance.now()) when the harness saw it. */
  seenAt: number;
}

export interface AlertRecord {
  zone: string;
  phase: string;
  alertId: string;
  seenAt: number;
  raw: Record<string, unknown>;
}

export interface Pipeline {
  readonly topics: Record<string, string>;
  readonly ports: Record<ServiceName, number>;
  readonly apiKey: string;
  readonly daemons: Daemon[];
  /** Everything published on the blocklist topic, in order. */
  readonly blocklist: BlocklistRecord[];
  readonly alerts: AlertRecord[];
  /** Port of the RPZ server (when enabled). */
  readonly rpzPort: number;
  /** Throws with the service's log if one of them has exited. */
  assertAlive(): void;
  logs(): string;
  /** GET on a service's HTTP port. */
  get(service: ServiceName, path: string): Promise<{ status: number; body: string }>;
  stop(): Promise<void>;
}

/**
 * The four Sluice services as child processes (`node services/<svc>/dist/main.js`) on private
 * topics, consumer groups and a private Redis key prefix, plus a reader of the blocklist and
 * alerts topics. Resolves once every service answers /readyz.
 */
export async function startPipeline(o: PipelineOptions): Promise<Pipeline> {
  const run = uniqueName('closed-loop');
  const t = (name: string) => `${run}.${name}`;
  const topics = {
    queries: t('queries'),
    alerts: t('alerts'),
    offenders: t('offenders'),
    zoneStats: t('zone-stats'),
    enriched: t('offenders-enriched'),
    knownNames: t('known-names'),
    blocklist: t('blocklist'),
    deadletter: t('deadletter'),
  };
  const kafka: Kafka = createKafka({
    brokers: o.kafkaBrokers.split(','),
    clientId: 'closed-loop',
    sasl: null,
    tls: { enabled: false, caFile: null },
    topicPartitions: 3,
    replicationFactor: 1,
  });
  await provisionTopics(
    kafka,
    Object.entries(topics).map(([k, name]) => {
      // Guard entries and known-name sets carry whole name lists (as in the topic catalogue).
      const big = k === 'blocklist' || k === 'knownNames';
      return { name, compacted: big, ...(big ? { maxMessageBytes: 8 * 2 ** 20 } : {}) };
    }),
    { partitions: 3, replicationFactor: 1 },
  );

  const ports = {
    ingest: await freePort(),
    detector: await freePort(),
    enrichment: await freePort(),
    reputation: await freePort(),
  };
  const rpzPort = await freePort();
  const apiKey = `closed-loop-${Math.random().toString(36).slice(2)}`;
  const common = {
    KAFKA_BROKERS: o.kafkaBrokers,
    KAFKA_TOPIC_PARTITIONS: '3',
    REDIS_URL: o.redisUrl,
    REDIS_KEY_PREFIX: `${run}:`,
    LOG_LEVEL: o.logLevel ?? 'info',
    HTTP_HOST: '127.0.0.1',
  };
  const env: Record<ServiceName, Record<string, string>> = {
    ingest: {
      INGEST_DNSTAP_SOCKET: o.dnstapSocket,
      INGEST_SERVED_ZONES: o.zones.join(','),
      INGEST_QUERIES_TOPIC: topics.queries,
      INGEST_DEADLETTER_TOPIC: topics.deadletter,
    },
    detector: {
      DETECTOR_GROUP_ID: `${run}.detector`,
      DETECTOR_QUERIES_TOPIC: topics.queries,
      DETECTOR_ALERTS_TOPIC: topics.alerts,
      DETECTOR_OFFENDERS_TOPIC: topics.offenders,
      DETECTOR_ZONE_STATS_TOPIC: topics.zoneStats,
      DETECTOR_DEADLETTER_TOPIC: topics.deadletter,
      DETECTOR_KNOWN_NAMES_TOPIC: topics.knownNames,
    },
    enrichment: {
      ENRICH_CONSUMER_GROUP: `${run}.enrichment`,
      ENRICH_OFFENDERS_TOPIC: topics.offenders,
      ENRICH_ALERTS_TOPIC: topics.alerts,
      ENRICH_OUTPUT_TOPIC: topics.enriched,
      ENRICH_DEADLETTER_TOPIC: topics.deadletter,
    },
    reputation: {
      REPUTATION_GROUP_ID: `${run}.reputation`,
      REPUTATION_INPUT_TOPIC: topics.enriched,
      REPUTATION_OUTPUT_TOPIC: topics.blocklist,
      REPUTATION_DEADLETTER_TOPIC: topics.deadletter,
      REPUTATION_ALERTS_TOPIC: topics.alerts,
      REPUTATION_KNOWN_NAMES_TOPIC: topics.knownNames,
      FEED_API_KEYS: apiKey,
      ALLOWLIST_NETWORKS: o.protectedNetworks.join(','),
      BLOCK_SHADOW: o.shadow ? 'true' : 'false',
      ...(o.dnsdist
        ? {
            DNSDIST_CDB_PATH: o.dnsdist.clientsCdbPath,
            DNSDIST_GUARD_CDB_PATH: o.dnsdist.guardCdbPath,
            ...(o.dnsdist.notify ? { DNSDIST_NOTIFY: o.dnsdist.notify } : {}),
          }
        : {}),
      ...(o.rpz
        ? {
            RPZ_ENABLED: 'true',
            RPZ_HOST: '127.0.0.1',
            RPZ_PORT: String(rpzPort),
            RPZ_NOTIFY: o.rpz.notify,
            RPZ_TSIG_KEYS: o.rpz.tsig,
            RPZ_ORIGIN: o.rpz.origin,
          }
        : { RPZ_ENABLED: 'false' }),
    },
  };

  const daemons: Daemon[] = [];
  const blocklist: BlocklistRecord[] = [];
  const alerts: AlertRecord[] = [];
  const consumer = kafka.consumer({ groupId: `${run}.harness`, maxWaitTimeInMs: 100 });
  let stopped = false;

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await consumer.disconnect().catch(() => undefined);
    await Promise.all(daemons.map((d) => d.stop()));
  };
  const logs = () => daemons.map((d) => tail(d, 4000)).join('\n');

  try {
    for (const svc of SERVICES) {
      daemons.push(
        spawnDaemon(svc, process.execPath, [join(o.root, 'services', svc, 'dist', 'main.js')], {
          cwd: o.root,
          env: {
            ...process.env,
            ...common,
            HTTP_PORT: String(ports[svc]),
            ...env[svc],
            ...(o.extraEnv?.[svc] ?? {}),
          },
        }),
      );
    }
    for (const [i, svc] of SERVICES.entries()) {
      const d = daemons[i]!;
      await until(
        async () => {
          if (d.exited()) throw new Error(`sluice ${svc} exited during start-up\n${tail(d)}`);
          try {
            const r = await fetch(`http://127.0.0.1:${ports[svc]}/readyz`);
            return r.ok ? true : undefined;
          } catch {
            return undefined;
          }
        },
        90_000,
        () => `sluice ${svc} to be ready on :${ports[svc]}\n${tail(d)}`,
        250,
      );
    }
    await consumer.connect();
    await consumer.subscribe({ topics: [topics.blocklist, topics.alerts], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ topic, message }) => {
        const seenAt = performance.now();
        const parse = () => {
          try {
            return message.value
              ? (JSON.parse(message.value.toString('utf8')) as Record<string, unknown>)
              : null;
          } catch {
            return null;
          }
        };
        if (topic === topics.blocklist) {
          blocklist.push({ id: message.key?.toString('utf8') ?? '', entry: parse(), seenAt });
        } else {
          const raw = parse();
          if (raw)
            alerts.push({
              zone: str(raw.zone),
              phase: str(raw.phase),
              alertId: str(raw.alertId),
              seenAt,
              raw,
            });
        }
      },
    });
    // Let the harness consumer join before traffic starts.
    await sleep(1000);
  } catch (e) {
    await stop();
    throw e;
  }

  return {
    topics,
    ports,
    apiKey,
    daemons,
    blocklist,
    alerts,
    rpzPort,
    assertAlive() {
      for (const d of daemons)
        if (d.exited()) throw new Error(`sluice ${d.name} exited during the run\n${tail(d)}`);
    },
    logs,
    async get(service, path) {
      const r = await fetch(`http://127.0.0.1:${ports[service]}${path}`, {
        headers: { 'X-Api-Key': apiKey },
      });
      return { status: r.status, body: await r.text() };
    },
    stop,
  };
}
