import { kafkaConfigFrom, redisConfigFrom } from '@sluice/config';
import { TopicSpecs } from '@sluice/contracts';
import {
  ConsumerLagMonitor,
  createKafka,
  provisionTopics,
  type Kafka,
  type PartitionLag,
} from '@sluice/kafka';
import { hostname } from 'node:os';
import { createRedis, RedisHealth, type Redis } from '@sluice/redis';
import { type ServiceLog } from '@sluice/service-kit';
import { type Registry } from 'prom-client';
import { settingsFrom, type DetectorConfig } from './config/detector.config';
import { bootWarmUp } from './core/boot-warm-up';
import { DetectorPipeline } from './detector.pipeline';
import { HotMergeRuntime } from './hot-zone/hot-merge.runtime';
import { HotShardRuntime } from './hot-zone/hot-shard.runtime';
import { CheckpointRepository } from './redis/checkpoint.repository';

export interface DetectorRuntimeHooks {
  log: ServiceLog;
  registry?: Registry;
  /** The consumer is down for good (rebuilds failed): the service exits for its supervisor. */
  fatal?(error: unknown): void;
}

/**
 * Everything the detector runs, without Nest: the Kafka client, Redis for checkpoints (when
 * DETECTOR_CHECKPOINT), the pipeline and the lag monitor. The Nest service wraps it.
 */
export class DetectorRuntime {
  readonly pipeline: DetectorPipeline;
  private readonly redis: Redis | null;
  private readonly redisHealth: RedisHealth | null;
  private readonly lag: ConsumerLagMonitor;
  private readonly kafka: Kafka;
  /** Hot zones (DETECTOR_HOT_ZONES): their shard and merge stages, when any are configured. */
  readonly hot: { shards: HotShardRuntime; merge: HotMergeRuntime } | null;

  constructor(
    private readonly config: DetectorConfig,
    private readonly hooks: DetectorRuntimeHooks,
  ) {
    const c = config;
    const log = hooks.log;
    const kafka = createKafka(kafkaConfigFrom(c, 'sluice-detector'), log);
    this.kafka = kafka;
    this.redis = c.DETECTOR_CHECKPOINT ? createRedis(redisConfigFrom(c)) : null;
    this.redisHealth = this.redis ? new RedisHealth(this.redis) : null;
    this.pipeline = new DetectorPipeline(kafka, {
      groupId: c.DETECTOR_GROUP_ID,
      topics: {
        queries: c.DETECTOR_QUERIES_TOPIC,
        alerts: c.DETECTOR_ALERTS_TOPIC,
        offenders: c.DETECTOR_OFFENDERS_TOPIC,
        zoneStats: c.DETECTOR_ZONE_STATS_TOPIC,
        deadLetter: c.DETECTOR_DEADLETTER_TOPIC,
        knownNames: c.DETECTOR_KNOWN_NAMES_TOPIC,
      },
      replicationFactor: c.KAFKA_REPLICATION_FACTOR,
      settings: settingsFrom(c),
      fromBeginning: c.DETECTOR_FROM_BEGINNING,
      // A batch is committed only after its checkpoint is saved (when one is due).
      checkpoints: this.redis ? new CheckpointRepository(this.redis, c.DETECTOR_GROUP_ID) : null,
      checkpointIntervalMs: c.DETECTOR_CHECKPOINT_INTERVAL_MS,
      registry: hooks.registry,
      log,
      onFatal: (error) => hooks.fatal?.(error),
    });
    this.hot = Object.keys(c.DETECTOR_HOT_ZONES).length > 0 ? this.hotZones(kafka) : null;
    this.lag = new ConsumerLagMonitor(
      kafka,
      [{ groupId: c.DETECTOR_GROUP_ID, topics: [c.DETECTOR_QUERIES_TOPIC] }],
      { onError: (e) => log.debug({ err: String(e) }, 'consumer lag not read') },
    );
  }

  /**
   * Every instance with hot zones runs both of their stages: shard consumers in the group
   * `<DETECTOR_GROUP_ID>-hot-shards` (the hot queries topic's partitions spread over instances),
   * merge consumers in `<DETECTOR_GROUP_ID>-hot-merge`, and reads every decision in a group of
   * its own (every shard needs every decision of its zones).
   */
  private hotZones(kafka: Kafka): { shards: HotShardRuntime; merge: HotMergeRuntime } {
    const c = this.config;
    const settings = settingsFrom(c);
    const every = c.DETECTOR_CHECKPOINT_INTERVAL_MS;
    const shardGroup = `${c.DETECTOR_GROUP_ID}-hot-shards`;
    const mergeGroup = `${c.DETECTOR_GROUP_ID}-hot-merge`;
    return {
      shards: new HotShardRuntime(kafka, {
        settings,
        hotZones: c.DETECTOR_HOT_ZONES,
        topics: {
          hotQueries: c.DETECTOR_HOT_QUERIES_TOPIC,
          summaries: c.DETECTOR_SHARD_SUMMARIES_TOPIC,
          decisions: c.DETECTOR_SHARD_DECISIONS_TOPIC,
        },
        groupId: shardGroup,
        decisionsGroupId: `${c.DETECTOR_GROUP_ID}-hot-decisions-${hostname()}-${process.pid}`,
        log: this.hooks.log,
        checkpoints: this.redis
          ? {
              repository: new CheckpointRepository(this.redis, shardGroup, 'hot-shard'),
              everyMs: every,
            }
          : null,
      }),
      merge: new HotMergeRuntime(kafka, {
        settings,
        topics: {
          summaries: c.DETECTOR_SHARD_SUMMARIES_TOPIC,
          decisions: c.DETECTOR_SHARD_DECISIONS_TOPIC,
          alerts: c.DETECTOR_ALERTS_TOPIC,
          zoneStats: c.DETECTOR_ZONE_STATS_TOPIC,
          offenders: c.DETECTOR_OFFENDERS_TOPIC,
          knownNames: c.DETECTOR_KNOWN_NAMES_TOPIC,
        },
        groupId: mergeGroup,
        log: this.hooks.log,
        checkpoints: this.redis
          ? {
              repository: new CheckpointRepository(this.redis, mergeGroup, 'hot-merge'),
              everyMs: every,
            }
          : null,
      }),
    };
  }

  /** The consumers are in their groups and consuming (false from a crash until they rejoin). */
  get consuming(): boolean {
    return (
      this.pipeline.isRunning &&
      (this.hot === null || (this.hot.shards.isReady && this.hot.merge.isReady))
    );
  }

  /** Redis connected and answering; null when checkpoints are off (no Redis at all). */
  get redisHealthy(): boolean | null {
    return this.redisHealth ? this.redisHealth.healthy : null;
  }

  /** Committed-offset lag of the group (sluice_kafka_consumer_lag). */
  consumerLag(): readonly PartitionLag[] {
    return this.lag.snapshot();
  }

  async start(): Promise<void> {
    const c = this.config;
    if (c.DETECTOR_BOOT_WARM_UP) this.warmUp();
    if (this.redis && this.redisHealth) {
      await this.redis.connect();
      this.redisHealth.start();
    }
    await this.pipeline.start();
    if (this.hot) {
      // The hot-zone topics came after the others: created here if missing, as known names are.
      await provisionTopics(
        this.kafka,
        [
          { ...TopicSpecs.hotQueries, name: c.DETECTOR_HOT_QUERIES_TOPIC },
          { ...TopicSpecs.shardSummaries, name: c.DETECTOR_SHARD_SUMMARIES_TOPIC },
          { ...TopicSpecs.shardDecisions, name: c.DETECTOR_SHARD_DECISIONS_TOPIC },
        ],
        { partitions: c.KAFKA_TOPIC_PARTITIONS, replicationFactor: c.KAFKA_REPLICATION_FACTOR },
      );
      await this.hot.merge.start();
      await this.hot.shards.start();
      this.hooks.log.info({ hotZones: c.DETECTOR_HOT_ZONES }, 'hot zones split over shards');
    }
    this.lag.start();
    this.hooks.log.info(
      { topic: c.DETECTOR_QUERIES_TOPIC, group: c.DETECTOR_GROUP_ID },
      'detector consuming',
    );
  }

  /** Before consuming: the first real flood then meets compiled code (core/boot-warm-up.ts). */
  private warmUp(): void {
    const r = bootWarmUp(settingsFrom(this.config), { shards: this.hot !== null });
    const cold = r.alerts.detector === 0 || (this.hot !== null && r.alerts.shardStage === 0);
    if (cold)
      this.hooks.log.warn(
        { ...r },
        'boot warm-up: the synthetic flood raised no alert under these settings; the flood code paths compile during the first real one',
      );
    else this.hooks.log.info({ ...r }, 'boot warm-up: synthetic flood scored');
  }

  /** Final checkpoints and output flush (the pipeline's stop), then Redis. */
  async stop(): Promise<void> {
    await this.lag.stop();
    await this.hot?.shards.stop();
    await this.hot?.merge.stop();
    await this.pipeline.stop();
    this.redisHealth?.stop();
    await this.redis?.quit();
  }
}
