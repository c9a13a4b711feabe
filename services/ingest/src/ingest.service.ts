import {
  Inject,
  Injectable,
  Logger,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { kafkaConfigFrom } from '@sluice/config';
import { createKafka } from '@sluice/kafka';
import { Readiness, Registry } from '@sluice/service-kit';
import { Partitioners, type Producer } from 'kafkajs';
import { type IngestConfig } from './config/ingest.config';
import { ZoneMapper } from './core/zone-mapper';
import { DnstapListener, type ListenerDeps } from './listeners/dnstap.listener';
import { UdpMirrorListener } from './listeners/udp-mirror.listener';
import { IngestMetrics } from './metrics/ingest.metrics';
import { QueryPublisher } from './publish/query.publisher';

export const INGEST_CONFIG = Symbol('INGEST_CONFIG');

/** Connects the producer, then opens every configured listener; closes them in reverse. */
@Injectable()
export class IngestService implements OnModuleInit, OnModuleDestroy {
  private readonly log = new Logger('ingest');
  private producer: Producer | null = null;
  private publisher: QueryPublisher | null = null;
  private readonly listeners: { close(): Promise<void> }[] = [];

  constructor(
    @Inject(INGEST_CONFIG) private readonly config: IngestConfig,
    private readonly registry: Registry,
    private readonly readiness: Readiness,
  ) {}

  async onModuleInit(): Promise<void> {
    const c = this.config;
    const log = {
      info: (obj: object, msg: string) => this.log.log({ ...obj, msg }),
      warn: (obj: object, msg: string) => this.log.warn({ ...obj, msg }),
      error: (obj: object, msg: string) => this.log.error({ ...obj, msg }),
    };
    const kafka = createKafka(kafkaConfigFrom(c, 'sluice-ingest'), log);
    this.producer = kafka.producer({
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await this.producer.connect();
    let connected = true;
    this.producer.on(this.producer.events.DISCONNECT, () => (connected = false));
    this.producer.on(this.producer.events.CONNECT, () => (connected = true));
    this.readiness.register('kafka', () => connected);

    const metrics = new IngestMetrics(this.registry);
    const publisher = new QueryPublisher(
      this.producer,
      {
        queriesTopic: c.INGEST_QUERIES_TOPIC,
        deadLetterTopic: c.INGEST_DEADLETTER_TOPIC,
        batchEvents: c.INGEST_BATCH_EVENTS,
        lingerMs: c.INGEST_LINGER_MS,
        maxBufferedBatches: c.INGEST_MAX_BUFFERED_BATCHES,
        maxBufferedBytes: c.INGEST_MAX_BUFFERED_BYTES,
        deadLetterSampleRate: c.INGEST_DEADLETTER_SAMPLE_RATE,
      },
      metrics,
      log,
    );
    this.publisher = publisher;
    const deps: ListenerDeps = {
      zones: new ZoneMapper(c.INGEST_SERVED_ZONES),
      publisher,
      metrics,
      assembler: { pairWindowMs: c.INGEST_PAIR_WINDOW_MS, maxPending: 100_000 },
      maxFrameBytes: c.INGEST_MAX_FRAME_BYTES,
      dnstap: {
        handshakeMs: c.INGEST_DNSTAP_HANDSHAKE_TIMEOUT_MS,
        frameMs: c.INGEST_DNSTAP_FRAME_TIMEOUT_MS,
        idleMs: c.INGEST_DNSTAP_IDLE_TIMEOUT_MS,
        maxConnections: c.INGEST_DNSTAP_MAX_CONNECTIONS,
      },
      log,
    };
    if (c.INGEST_DNSTAP_SOCKET) {
      const l = new DnstapListener('dnstap-unix', deps);
      await l.listenUnix(c.INGEST_DNSTAP_SOCKET);
      this.listeners.push(l);
      this.log.log(`dnstap on unix socket ${c.INGEST_DNSTAP_SOCKET}`);
    }
    if (c.INGEST_DNSTAP_TCP) {
      const l = new DnstapListener('dnstap-tcp', deps);
      const a = await l.listenTcp(c.INGEST_DNSTAP_TCP.host, c.INGEST_DNSTAP_TCP.port);
      this.listeners.push(l);
      this.log.log(`dnstap on tcp ${a.address}:${a.port}`);
    }
    if (c.INGEST_UDP_MIRROR) {
      const l = new UdpMirrorListener(deps);
      const a = await l.listen(c.INGEST_UDP_MIRROR.host, c.INGEST_UDP_MIRROR.port);
      this.listeners.push(l);
      this.log.log(`UDP mirror on ${a.address}:${a.port}`);
    }
    if (this.listeners.length === 0)
      this.log.warn(
        'no listener configured: set INGEST_DNSTAP_SOCKET, INGEST_DNSTAP_TCP or INGEST_UDP_MIRROR',
      );
  }

  async onModuleDestroy(): Promise<void> {
    for (const l of this.listeners.splice(0).reverse()) await l.close();
    await this.publisher?.flush();
    await this.producer?.disconnect();
  }
}
