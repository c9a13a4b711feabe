import { deadLetterSchema, encodeMessage, type BlocklistEntry } from '@sluice/contracts';
import {
  BatchingProducer,
  ConsumerLagMonitor,
  createKafka,
  provisionTopics,
  type ConsumerSupervision,
  type PartitionLag,
} from '@sluice/kafka';
import { kafkaConfigFrom, redisConfigFrom } from '@sluice/config';
import { TopicSpecs } from '@sluice/contracts';
import { createRedis, RedisHealth, type Redis } from '@sluice/redis';
import { type ServiceLog } from '@sluice/service-kit';
import { type ReputationConfig } from './config/reputation.config';
import { DnsdistCdbWriter, guardCdbPath } from './dnsdist/dnsdist-cdb.writer';
import { GuardConsumer } from './kafka/guard.consumer';
import { ZoneNamesSource } from './guard/zone-names.source';
import { FeedService } from './http/feed.service';
import { BlocklistPublisher } from './kafka/blocklist.publisher';
import { readCompacted, reconcileDiff } from './kafka/blocklist.reconciler';
import { OffendersConsumer } from './kafka/offenders.consumer';
import { createPipeline, createStores, type ReputationStores } from './reputation.factory';
import {
  type BlocklistSink,
  type PipelineStats,
  type ReputationPipeline,
} from './reputation.pipeline';
import { type XfrOutcome } from './core/xfr';
import { RpzXfrServer } from './rpz/rpz-xfr.server';

export interface ReputationRuntimeHooks {
  log: ServiceLog;
  /** A record or alert rejected, by reason (sluice_reputation_malformed_total). */
  bad?(reason: string): void;
  /** An RPZ request answered (sluice_reputation_rpz_requests_total). */
  served?(outcome: XfrOutcome, transport: 'udp' | 'tcp'): void;
  /** Live blocklist entries after each sweep (sluice_reputation_blocklist_entries). */
  blocklistSize?(entries: number): void;
  /** A consumer is down for good (rebuilds failed): the service exits for its supervisor. */
  fatal?(error: unknown): void;
}

/**
 * Everything the reputation service runs, without Nest: Redis, the Kafka consumers and
 * producer, the RPZ server, the dnsdist CDB writer and the expiry sweep; the feed reads its
 * stores. Start order: Redis → sinks rebuilt from Redis (restart) → topic reconciled → consume.
 * Stop order is the reverse. The Nest service wraps it; tests and benchmarks drive it directly.
 */
export class ReputationRuntime {
  private readonly log: ServiceLog;
  readonly redis: Redis;
  private readonly stores: ReputationStores;
  /** The HTTP feed over the stores; answers once started (Nest listens after start). */
  readonly feed: FeedService;
  pipeline!: ReputationPipeline;
  rpz: RpzXfrServer | null = null;
  rpzPort = 0;
  private producer: BatchingProducer | null = null;
  private consumer: OffendersConsumer | null = null;
  private guardConsumer: GuardConsumer | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;
  private zoneNamesTimer: NodeJS.Timeout | null = null;
  private lag: ConsumerLagMonitor | null = null;
  private readonly redisHealth: RedisHealth;

  constructor(
    private readonly config: ReputationConfig,
    private readonly hooks: ReputationRuntimeHooks,
  ) {
    this.log = hooks.log;
    this.redis = createRedis(redisConfigFrom(config));
    this.redisHealth = new RedisHealth(this.redis);
    this.stores = createStores(config, this.redis);
    this.feed = new FeedService(
      this.stores.blocklist,
      this.stores.reputation,
      this.stores.policy,
      () => {
        const rpz = this.rpz;
        return rpz
          ? {
              origin: rpz.zones.origin,
              serialOf: (z) => rpz.zones.get(z)?.serial ?? rpz.zones.currentSerial,
            }
          : null;
      },
      () => this.pipeline.now(),
    );
  }

  /** Pipeline counters since start; undefined until started. */
  get stats(): PipelineStats | undefined {
    return this.pipeline?.stats;
  }

  /** Committed-offset lag of the consumer groups (sluice_kafka_consumer_lag). */
  consumerLag(): readonly PartitionLag[] {
    return this.lag?.snapshot() ?? [];
  }

  /** Redis connected and answering (a hung Redis keeps its connection `ready`). */
  get redisHealthy(): boolean {
    return this.redisHealth.healthy;
  }

  /** The consumers joined and consuming (false from a crash until they rejoin). */
  get consuming(): boolean {
    return (this.consumer?.ready ?? false) && (this.guardConsumer?.ready ?? true);
  }

  async start(): Promise<void> {
    const c = this.config;
    const onError = (e: unknown, where: string) =>
      this.log.error({ err: e instanceof Error ? e.message : String(e) }, where);
    await this.redis.connect();
    this.redisHealth.start();
    const kafka = createKafka(kafkaConfigFrom(c, 'sluice-reputation'), this.log);
    const supervision: ConsumerSupervision = {
      log: this.log,
      onFatal: (e) => this.hooks.fatal?.(e),
    };
    {
      // Only Sluice's own topics are created here (private test topics are the caller's job).
      const specs = [
        TopicSpecs.blocklist,
        TopicSpecs.offendersEnriched,
        TopicSpecs.deadLetter,
        TopicSpecs.alerts,
        TopicSpecs.knownNames,
      ].filter(
        (s) =>
          s.name === c.REPUTATION_OUTPUT_TOPIC ||
          s.name === c.REPUTATION_INPUT_TOPIC ||
          s.name === c.REPUTATION_DEADLETTER_TOPIC ||
          (c.GUARD_ENABLED && s.name === c.REPUTATION_ALERTS_TOPIC) ||
          (c.GUARD_ENABLED && s.name === c.REPUTATION_KNOWN_NAMES_TOPIC),
      );
      if (specs.length > 0)
        await provisionTopics(kafka, specs, {
          partitions: c.KAFKA_TOPIC_PARTITIONS,
          replicationFactor: c.KAFKA_REPLICATION_FACTOR,
        });
    }
    this.producer = new BatchingProducer(kafka);
    await this.producer.connect();
    const sinks: BlocklistSink[] = [
      new BlocklistPublisher(this.producer, c.REPUTATION_OUTPUT_TOPIC),
    ];
    if (c.RPZ_ENABLED) {
      const stored = Number((await this.redis.get('rpz:serial')) ?? 0);
      this.rpz = new RpzXfrServer({
        host: c.RPZ_HOST,
        port: c.RPZ_PORT,
        origin: c.RPZ_ORIGIN,
        // Serials never go backwards across restarts (secondaries would ignore the zone).
        initialSerial: Math.max(stored + 1, Math.floor(Date.now() / 1000)),
        keys: c.RPZ_TSIG_KEYS,
        requireTsig: c.RPZ_REQUIRE_TSIG,
        allow: c.RPZ_XFR_ALLOW,
        maxRecordsPerMessage: c.RPZ_XFR_MAX_RECORDS,
        maxMessageBytes: c.RPZ_XFR_MAX_MESSAGE_BYTES,
        notify: c.RPZ_NOTIFY.map((hp) => {
          const i = hp.lastIndexOf(':');
          return { host: hp.slice(0, i), port: Number(hp.slice(i + 1)) };
        }),
        onError,
        onServed: (outcome, transport) => this.hooks.served?.(outcome, transport),
      });
      this.rpzPort = (await this.rpz.start()).port;
      if (c.RPZ_REQUIRE_TSIG && c.RPZ_TSIG_KEYS.length === 0)
        this.log.warn(
          {},
          'RPZ: every zone transfer is refused: RPZ_REQUIRE_TSIG=true and RPZ_TSIG_KEYS is empty (set a key, or RPZ_REQUIRE_TSIG=false to serve unsigned)',
        );
      const rpz = this.rpz;
      sinks.push(rpz, {
        name: 'rpz-serial',
        refresh: async () => {
          await this.redis.set('rpz:serial', String(rpz.zones.currentSerial));
        },
      });
    }
    if (c.DNSDIST_CDB_PATH)
      sinks.push(
        new DnsdistCdbWriter(
          c.DNSDIST_CDB_PATH,
          guardCdbPath(c.DNSDIST_CDB_PATH, c.DNSDIST_GUARD_CDB_PATH),
          { v4: c.DNSDIST_PREFIX_V4, v6: c.DNSDIST_PREFIX_V6 },
          c.DNSDIST_NOTIFY.map((hp) => {
            const i = hp.lastIndexOf(':');
            return { host: hp.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(hp.slice(i + 1)) };
          }),
        ),
      );
    const zoneNames = new ZoneNamesSource(
      c.GUARD_ZONE_FILES,
      c.GUARD_ZONE_AXFR,
      c.RPZ_TSIG_KEYS,
      c.GUARD_MAX_NAMES,
      (m) => this.log.warn({}, m),
    );
    if (c.GUARD_ZONE_AXFR.length > 0) await zoneNames.refresh();
    if (c.GUARD_ZONE_FILES.length + c.GUARD_ZONE_AXFR.length > 0)
      this.zoneNamesTimer = setInterval(
        () => void zoneNames.refresh().catch((e: unknown) => onError(e, 'zone names')),
        c.GUARD_ZONE_REFRESH_MS,
      );
    const built = createPipeline(c, this.redis, sinks, {
      stores: this.stores,
      zoneNames,
      onError,
      onClock: (zone, mode, lagMs) =>
        mode === 'event'
          ? this.log.warn(
              { zone, lagMs },
              `${zone}: records are ${Math.round(lagMs / 1000)} s behind the wall clock (a replay?): its blocklist times follow the records' event time (REPUTATION_CLOCK=auto)`,
            )
          : this.log.info(
              { zone },
              `${zone}: records caught up with the wall clock: blocks run on wall time`,
            ),
    });
    this.pipeline = built.pipeline;
    // Restart: expire what lapsed while down, rebuild RPZ/dnsdist from Redis, then fix the topic.
    await this.pipeline.sweep();
    await this.pipeline.refreshNow();
    const snapshot = built.blocklist.snapshot.bind(built.blocklist);
    await this.reconcile(kafka, snapshot);
    // Every later `ready` is a reconnect, and a Redis that restarted may have come back without
    // the list (no persistence) or with an older one (a snapshot): the topic and the whole-list
    // outputs follow Redis again, as at start-up, instead of keeping phantom entries for ever.
    this.onRedisReady = () => this.resyncAfterReconnect(kafka, snapshot, onError);
    this.redis.on('ready', this.onRedisReady);
    const onBad = async (reason: string, raw: Buffer | null, detail: string) => {
      this.hooks.bad?.(reason);
      if (!this.deadLetterBudget()) return;
      await this.producer!.send(c.REPUTATION_DEADLETTER_TOPIC, [
        {
          key: 'reputation',
          value: encodeMessage(deadLetterSchema, {
            v: 1,
            source: `reputation:${c.REPUTATION_INPUT_TOPIC}`,
            reason,
            receivedAt: Date.now(),
            raw: (raw ?? Buffer.alloc(0)).toString('base64'),
            detail,
          }),
        },
      ]);
    };
    if (c.GUARD_ENABLED) {
      this.guardConsumer = new GuardConsumer(
        kafka,
        {
          groupId: `${c.REPUTATION_GROUP_ID}-guard`,
          alertsTopic: c.REPUTATION_ALERTS_TOPIC,
          namesTopic: c.REPUTATION_KNOWN_NAMES_TOPIC,
        },
        this.pipeline,
        onBad,
        supervision,
      );
      await this.guardConsumer.start();
    }
    this.consumer = new OffendersConsumer(
      kafka,
      { groupId: c.REPUTATION_GROUP_ID, topic: c.REPUTATION_INPUT_TOPIC },
      this.pipeline,
      onBad,
      supervision,
    );
    await this.consumer.start();
    this.lag = new ConsumerLagMonitor(kafka, [
      { groupId: c.REPUTATION_GROUP_ID, topics: [c.REPUTATION_INPUT_TOPIC] },
      ...(c.GUARD_ENABLED
        ? [
            {
              groupId: `${c.REPUTATION_GROUP_ID}-guard`,
              topics: [c.REPUTATION_ALERTS_TOPIC, c.REPUTATION_KNOWN_NAMES_TOPIC],
            },
          ]
        : []),
    ]);
    this.lag.start();
    this.sweepTimer = setInterval(() => {
      void this.pipeline
        .sweep()
        .then(async () => this.hooks.blocklistSize?.(await built.blocklist.count()))
        .catch((e: unknown) => onError(e, 'sweep'));
    }, c.BLOCK_SWEEP_MS);
    this.log.info(
      { topic: c.REPUTATION_INPUT_TOPIC, rpzPort: this.rpz ? this.rpzPort : null },
      `consuming ${c.REPUTATION_INPUT_TOPIC}; RPZ ${this.rpz ? `on ${c.RPZ_HOST}:${this.rpzPort}` : 'off'}`,
    );
  }

  private async reconcile(
    kafka: ReturnType<typeof createKafka>,
    snapshot: () => Promise<{ entries: BlocklistEntry[] }>,
  ): Promise<{ upserts: number; tombstones: number }> {
    const topic = await readCompacted(kafka, this.config.REPUTATION_OUTPUT_TOPIC);
    const { entries } = await snapshot();
    const { upserts, tombstones } = reconcileDiff(entries, topic);
    if (upserts.length === 0 && tombstones.length === 0) return { upserts: 0, tombstones: 0 };
    const publisher = new BlocklistPublisher(this.producer!, this.config.REPUTATION_OUTPUT_TOPIC);
    await publisher.changed(upserts, tombstones);
    this.log.info(
      {
        topic: this.config.REPUTATION_OUTPUT_TOPIC,
        upserts: upserts.length,
        tombstones: tombstones.length,
      },
      `reconciled ${this.config.REPUTATION_OUTPUT_TOPIC}: ${upserts.length} upserts, ${tombstones.length} tombstones`,
    );
    return { upserts: upserts.length, tombstones: tombstones.length };
  }

  private onRedisReady: (() => void) | null = null;
  private resyncing: Promise<void> | null = null;
  private resyncAgain = false;

  /** After a Redis reconnect: rebuild RPZ/dnsdist from Redis and make the topic equal it. */
  private resyncAfterReconnect(
    kafka: ReturnType<typeof createKafka>,
    snapshot: () => Promise<{ entries: BlocklistEntry[] }>,
    onError: (e: unknown, where: string) => void,
  ): void {
    if (this.resyncing) {
      this.resyncAgain = true;
      return;
    }
    this.resyncing = (async () => {
      do {
        this.resyncAgain = false;
        try {
          await this.pipeline.refreshNow().catch(() => undefined); // each output reports itself
          const { tombstones } = await this.reconcile(kafka, snapshot);
          if (tombstones > 0)
            this.log.warn(
              { tombstones },
              `Redis came back without ${tombstones} blocklist entries the topic still had (restarted without persistence, or from an older snapshot): withdrawn from ${this.config.REPUTATION_OUTPUT_TOPIC}, RPZ and dnsdist`,
            );
        } catch (e) {
          // Redis or Kafka went away again: the next reconnect tries again.
          onError(e, 'resynchronising the blocklist after a Redis reconnect');
        }
      } while (this.resyncAgain);
      this.resyncing = null;
    })();
  }

  private deadLetterWindow = { start: 0, used: 0 };

  /** At most REPUTATION_DEADLETTER_PER_MINUTE samples a minute: enough to debug, never a flood. */
  private deadLetterBudget(): boolean {
    const now = Date.now();
    if (now - this.deadLetterWindow.start >= 60_000)
      this.deadLetterWindow = { start: now, used: 0 };
    if (this.deadLetterWindow.used >= this.config.REPUTATION_DEADLETTER_PER_MINUTE) return false;
    this.deadLetterWindow.used++;
    return true;
  }

  async stop(): Promise<void> {
    if (this.onRedisReady) this.redis.off('ready', this.onRedisReady);
    await this.resyncing;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    if (this.zoneNamesTimer) clearInterval(this.zoneNamesTimer);
    await this.lag?.stop().catch(() => undefined);
    await this.consumer?.stop();
    await this.guardConsumer?.stop();
    await this.pipeline?.settle();
    await this.producer?.disconnect();
    await this.rpz?.stop();
    this.redisHealth.stop();
    this.redis.disconnect();
  }
}
