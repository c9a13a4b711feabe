import { kafkaConfigFrom, redisConfigFrom } from '@sluice/config';
import {
  BatchingProducer,
  ConsumerLagMonitor,
  type ConsumerSupervision,
  createKafka,
  type Kafka,
  type KafkaLogSink,
  type PartitionLag,
} from '@sluice/kafka';
import { createRedis, RedisHealth, type Redis } from '@sluice/redis';
import { type EnrichmentConfig } from './config/enrichment.config';
import { EnrichmentData, type ReloadEvent } from './data/enrichment-data';
import { AlertsConsumer } from './kafka/alerts.consumer';
import { type OffenderCounters, OffendersConsumer } from './kafka/offenders.consumer';
import { ReportRepository } from './report/report.repository';
import { ReportService } from './report/report.service';

export function loadEnrichmentData(config: EnrichmentConfig): EnrichmentData {
  return EnrichmentData.load({
    asnMmdb: config.ENRICH_ASN_MMDB,
    countryMmdb: config.ENRICH_COUNTRY_MMDB,
    cacheSize: config.ENRICH_CACHE_SIZE,
  });
}

export interface RuntimeHooks extends OffenderCounters {
  log?: KafkaLogSink & { info(obj: object, msg: string): void };
  reloaded?(event: ReloadEvent): void;
  /** A consumer is down for good (rebuilds failed): the service exits for its supervisor. */
  fatal?(error: unknown): void;
}

/**
 * Everything the service runs, without Nest: data, Redis, Kafka, consumers. The Nest module
 * wraps it; integration tests and benchmarks drive it directly.
 */
export class EnrichmentRuntime {
  readonly data: EnrichmentData;
  readonly redis: Redis;
  private readonly redisHealth: RedisHealth;
  readonly repository: ReportRepository;
  readonly reports: ReportService;
  private kafka: Kafka | null = null;
  private producer: BatchingProducer | null = null;
  private offenders: OffendersConsumer | null = null;
  private alerts: AlertsConsumer | null = null;
  private lag: ConsumerLagMonitor | null = null;

  /** Give `data` when it was loaded earlier (the Nest module loads it before Nest starts). */
  constructor(
    private readonly config: EnrichmentConfig,
    private readonly hooks: RuntimeHooks,
    data?: EnrichmentData,
  ) {
    // Data first: a missing or corrupt file stops boot before anything connects.
    this.data = data ?? loadEnrichmentData(config);
    this.redis = createRedis(redisConfigFrom(config));
    this.redisHealth = new RedisHealth(this.redis);
    this.repository = new ReportRepository(this.redis, {
      bucketSeconds: config.REPORT_BUCKET_SECONDS,
      retentionDays: config.REPORT_RETENTION_DAYS,
      evidencePerResolver: config.REPORT_EVIDENCE_PER_RESOLVER,
      maxRows: config.REPORT_MAX_RESOLVER_ROWS,
    });
    this.reports = new ReportService(this.repository);
  }

  /** Committed-offset lag of both consumer groups (sluice_kafka_consumer_lag). */
  consumerLag(): readonly PartitionLag[] {
    return this.lag?.snapshot() ?? [];
  }

  /** Redis connected and answering (a hung Redis keeps its connection `ready`). */
  get redisHealthy(): boolean {
    return this.redisHealth.healthy;
  }

  /** Both consumers joined and consuming (false from a crash until they rejoin). */
  get consuming(): boolean {
    return !!this.offenders?.ready && !!this.alerts?.ready;
  }

  async start(): Promise<void> {
    const c = this.config;
    await this.redis.connect();
    this.redisHealth.start();
    await this.repository.saveDataSources(this.data.enricher.attributions);
    if (c.ENRICH_MMDB_WATCH)
      this.data.watch(c.ENRICH_MMDB_WATCH_INTERVAL_MS, (e) => {
        this.hooks.reloaded?.(e);
        if (e.ok)
          void this.repository
            .saveDataSources(this.data.enricher.attributions)
            .catch(() => undefined);
      });
    this.kafka = createKafka(kafkaConfigFrom(c, 'sluice-enrichment'), this.hooks.log);
    this.producer = new BatchingProducer(this.kafka);
    await this.producer.connect();
    const supervision: ConsumerSupervision = {
      log: this.hooks.log,
      onFatal: (error) => this.hooks.fatal?.(error),
    };
    this.offenders = new OffendersConsumer(
      this.kafka,
      this.producer,
      this.data.enricher,
      this.repository,
      {
        groupId: c.ENRICH_CONSUMER_GROUP,
        inputTopic: c.ENRICH_OFFENDERS_TOPIC,
        outputTopic: c.ENRICH_OUTPUT_TOPIC,
        deadLetterTopic: c.ENRICH_DEADLETTER_TOPIC,
      },
      this.hooks,
      supervision,
    );
    this.alerts = new AlertsConsumer(
      this.kafka,
      this.repository,
      { groupId: `${c.ENRICH_CONSUMER_GROUP}-alerts`, topic: c.ENRICH_ALERTS_TOPIC },
      (reason) => this.hooks.bad(reason),
      supervision,
    );
    await Promise.all([this.offenders.start(), this.alerts.start()]);
    this.lag = new ConsumerLagMonitor(this.kafka, [
      { groupId: c.ENRICH_CONSUMER_GROUP, topics: [c.ENRICH_OFFENDERS_TOPIC] },
      { groupId: `${c.ENRICH_CONSUMER_GROUP}-alerts`, topics: [c.ENRICH_ALERTS_TOPIC] },
    ]);
    this.lag.start();
  }

  async stop(): Promise<void> {
    this.data.close();
    await this.lag?.stop().catch(() => undefined);
    await Promise.allSettled([this.offenders?.stop(), this.alerts?.stop()]);
    await this.producer?.disconnect().catch(() => undefined);
    this.redisHealth.stop();
    this.redis.disconnect();
  }
}
