import { z } from 'zod';
import {
  checkKafkaEnv,
  commonEnvShape,
  env,
  kafkaEnvShape,
  loadConfig,
  type Env,
} from '@sluice/config';
import { parseHotZoneEntry, Topics } from '@sluice/contracts';

const hostPort = z
  .string()
  .regex(
    /^([A-Za-z0-9.\-_]+|\[[0-9a-fA-F:]+\]):\d{1,5}$/,
    'must be host:port (IPv6 as [addr]:port)',
  )
  .transform((v) => {
    const i = v.lastIndexOf(':');
    return { host: v.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(v.slice(i + 1)) };
  })
  .refine((v) => v.port <= 65535, 'port must be 0–65535');

/** Every setting of the ingest service, validated once at boot. */
export const ingestConfigSchema = z
  .object({
    ...commonEnvShape,
    ...kafkaEnvShape,
    HTTP_PORT: env.port().default(8081),
    /** Unix socket path for dnstap senders (NSD, BIND, Knot). Unset: no unix listener. */
    INGEST_DNSTAP_SOCKET: z.string().min(1).optional(),
    /** host:port for dnstap over TCP (dnsdist, Unbound). Unset: no TCP listener. */
    INGEST_DNSTAP_TCP: hostPort.optional(),
    /** host:port for dnsdist TeeAction copies. Unset: no mirror listener. */
    INGEST_UDP_MIRROR: hostPort.optional(),
    /** Zones this platform serves; each query maps to the longest match, else its registrable domain. */
    INGEST_SERVED_ZONES: env.list().default([]),
    /**
     * Queries per Kafka message (also closed at 256 KiB encoded; see INGEST_BATCH_PER). 2000
     * measured ~8% less ingest CPU per query than 500 (docs/benchmarks/ingest-replay.md).
     */
    INGEST_BATCH_EVENTS: env.positiveInt().default(2000),
    /** Longest a partly filled batch waits before it is sent. */
    INGEST_LINGER_MS: env.positiveInt().default(50),
    /**
     * What one Kafka message of queries holds: every zone bound for one partition of the queries
     * topic (each row names its zone), or one zone's. Per zone, every zone queried in a linger
     * interval is a message of its own: thousands of zones make messages of a few queries each.
     * The partition count is read from the broker at start; after adding partitions, restart.
     */
    INGEST_BATCH_PER: z
      .enum(['partition', 'zone'], { message: 'must be partition or zone' })
      .default('partition'),
    /**
     * Bound on the publish queue, in Kafka messages (batches) awaiting acknowledgement. At the
     * bound live sources (dnstap, UDP mirror) drop and count, a replay waits.
     */
    INGEST_MAX_BUFFERED_BATCHES: env.positiveInt().default(200),
    /** The same bound in bytes (encoded batches, in flight included); whichever is reached first. */
    INGEST_MAX_BUFFERED_BYTES: env.positiveInt().default(32 * 1024 * 1024),
    /** Share of malformed inputs copied to the dead-letter topic (the first of each reason always is). */
    INGEST_DEADLETTER_SAMPLE_RATE: z.coerce
      .number({ message: 'must be a number between 0 and 1' })
      .min(0, 'must be between 0 and 1')
      .max(1, 'must be between 0 and 1')
      .default(0.01),
    /** How long (event time) a query waits for its response to add the rcode; 0 disables pairing. */
    INGEST_PAIR_WINDOW_MS: z.coerce.number().int().min(0, 'must be ≥ 0').default(500),
    /** Largest accepted Frame Streams data frame. */
    INGEST_MAX_FRAME_BYTES: env.positiveInt().default(1024 * 1024),
    /** A dnstap connection must complete READY → ACCEPT → START within this (and close after STOP). */
    INGEST_DNSTAP_HANDSHAKE_TIMEOUT_MS: env.positiveInt().default(5000),
    /** Longest one Frame Streams frame may take to arrive, from its first byte. */
    INGEST_DNSTAP_FRAME_TIMEOUT_MS: env.positiveInt().default(10_000),
    /** Close a dnstap connection that sent nothing for this long; 0: never (quiet zones are idle). */
    INGEST_DNSTAP_IDLE_TIMEOUT_MS: z.coerce.number().int().min(0, 'must be ≥ 0').default(0),
    /** Open dnstap connections per listener; more are refused and counted. */
    INGEST_DNSTAP_MAX_CONNECTIONS: env.positiveInt().default(64),
    INGEST_QUERIES_TOPIC: z.string().min(1).default(Topics.queries),
    INGEST_DEADLETTER_TOPIC: z.string().min(1).default(Topics.deadLetter),
    /**
     * Hot zones split over K detector shards (zone:K,…; the detector's DETECTOR_HOT_ZONES): their
     * queries go to INGEST_HOT_QUERIES_TOPIC in one batch per shard, keyed zone#shard.
     */
    INGEST_HOT_ZONES: env
      .list()
      .refine(
        (l) => l.every((v) => parseHotZoneEntry(v) !== null),
        'must be zone:K pairs like example.com:4,example.net:2 (K from 1 to 64 shards)',
      )
      .transform(
        (l) =>
          new Map(
            l.map((v) => {
              const { zone, shards } = parseHotZoneEntry(v)!;
              return [zone, shards] as const;
            }),
          ),
      )
      .default(() => new Map<string, number>()),
    INGEST_HOT_QUERIES_TOPIC: z.string().min(1).default(Topics.hotQueries),
  })
  .superRefine(checkKafkaEnv);

export type IngestConfig = z.output<typeof ingestConfigSchema>;

export function loadIngestConfig(source: Env = process.env): IngestConfig {
  return loadConfig(ingestConfigSchema, source);
}
