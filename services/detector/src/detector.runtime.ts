import { kafkaConfigFrom, redisConfigFrom } from '@sluice/config';
import { ConsumerLagMonitor, createKafka, type PartitionLag } from '@sluice/kafka';
import { createRedis, RedisHealth, type Redis } from '@sluice/redis';
import { type ServiceLog } from '@sluice/service-kit';
import { type Registry } from 'prom-client';
import { settingsFrom, type DetectorConfig } from './config/detector.config';
import { DetectorPipeline } from './detector.pipeline';
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

  constructor(
    private readonly config: DetectorConfig,
    private readonly hooks: DetectorRuntimeHooks,
  ) {
    const c = config;
    const log = hooks.log;
    const kafka = createKafka(kafkaConfigFrom(c, 'sluice-detector'), log);
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
    this.lag = new ConsumerLagMonitor(
      kafka,
      [{ groupId: c.DETECTOR_GROUP_ID, topics: [c.DETECTOR_QUERIES_TOPIC] }],
      { onError: (e) => log.debug({ err: String(e) }, 'consumer lag not read') },
    );
  }

  /** The consumer is in its group and consuming (false from a crash until it rejoins). */
  get consuming(): boolean {
    return this.pipeline.isRunning;
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
    if (this.redis && this.redisHealth) {
      await this.redis.connect();
      this.redisHealth.start();
    }
    await this.pipeline.start();
    this.lag.start();
    this.hooks.log.info(
      { topic: c.DETECTOR_QUERIES_TOPIC, group: c.DETECTOR_GROUP_ID },
      'detector consuming',
    );
  }

  /** Final checkpoints and output flush (the pipeline's stop), then Redis. */
  async stop(): Promise<void> {
    await this.lag.stop();
    await this.pipeline.stop();
    this.redisHealth?.stop();
    await this.redis?.quit();
  }
}
