import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { kafkaConfigFrom, redisConfigFrom } from '@sluice/config';
import { ConsumerLagMonitor, createKafka } from '@sluice/kafka';
import { createRedis, RedisHealth, type Redis } from '@sluice/redis';
import {
  exitForSupervisor,
  PinoLogger,
  Readiness,
  Registry,
  registerConsumerLag,
  serviceLog,
  type ServiceLog,
} from '@sluice/service-kit';
import { CheckpointRepository } from './checkpoint.repository';
import { settingsFrom, type DetectorConfig } from './config/detector.config';
import { DetectorPipeline } from './detector-pipeline.service';

export const DETECTOR_CONFIG = Symbol('DETECTOR_CONFIG');

/** Starts the pipeline after boot, stops it (final checkpoint, flush) on shutdown. */
@Injectable()
export class DetectorService implements OnApplicationBootstrap, OnApplicationShutdown {
  private pipeline: DetectorPipeline | null = null;
  private redis: Redis | null = null;
  private redisHealth: RedisHealth | null = null;
  private lag: ConsumerLagMonitor | null = null;
  private readonly log: ServiceLog;

  constructor(
    @Inject(DETECTOR_CONFIG) private readonly config: DetectorConfig,
    private readonly readiness: Readiness,
    private readonly registry: Registry,
    logger: PinoLogger,
  ) {
    this.log = serviceLog(logger, 'detector');
  }

  async onApplicationBootstrap(): Promise<void> {
    const c = this.config;
    const kafka = createKafka(kafkaConfigFrom(c, 'sluice-detector'), this.log);
    if (c.DETECTOR_CHECKPOINT) {
      this.redis = createRedis(redisConfigFrom(c));
      await this.redis.connect();
      this.redisHealth = new RedisHealth(this.redis);
      this.redisHealth.start();
    }
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
      checkpoints: this.redis ? new CheckpointRepository(this.redis, c.DETECTOR_GROUP_ID) : null,
      checkpointIntervalMs: c.DETECTOR_CHECKPOINT_INTERVAL_MS,
      registry: this.registry,
      log: this.log,
      // The consumer could not be rebuilt in-process: exit non-zero so the supervisor restarts
      // us (state resumes from the Redis checkpoints) rather than stay up without consuming.
      onFatal: (error) => exitForSupervisor(this.log, 'the Kafka consumer is down', error),
    });
    this.readiness.register('kafka-consumer', () => this.pipeline?.isRunning ?? false);
    // Checkpoints: a batch is committed only after its checkpoint is saved (when one is due).
    if (this.redisHealth) {
      const health = this.redisHealth;
      this.readiness.register('redis', () => health.healthy);
    }
    await this.pipeline.start();
    this.lag = new ConsumerLagMonitor(
      kafka,
      [{ groupId: c.DETECTOR_GROUP_ID, topics: [c.DETECTOR_QUERIES_TOPIC] }],
      { onError: (e) => this.log.debug({ err: String(e) }, 'consumer lag not read') },
    );
    this.lag.start();
    registerConsumerLag(this.registry, this.lag);
    this.log.info(
      { topic: c.DETECTOR_QUERIES_TOPIC, group: c.DETECTOR_GROUP_ID },
      'detector consuming',
    );
  }

  async onApplicationShutdown(): Promise<void> {
    await this.lag?.stop();
    await this.pipeline?.stop();
    this.redisHealth?.stop();
    await this.redis?.quit();
  }
}
