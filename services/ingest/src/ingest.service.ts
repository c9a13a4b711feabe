import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { PinoLogger, Readiness, Registry, serviceLog, type ServiceLog } from '@sluice/service-kit';
import { type IngestConfig } from './config/ingest.config';
import { ZoneMapper } from './core/zone-mapper';
import { DnstapListener, type ListenerDeps } from './listeners/dnstap.listener';
import { UdpMirrorListener } from './listeners/udp-mirror.listener';
import { openPublisher, type OpenPublisher } from './publish/open-publisher';

export const INGEST_CONFIG = Symbol('INGEST_CONFIG');

/** Connects the producer, then opens every configured listener; closes them in reverse. */
@Injectable()
export class IngestService implements OnModuleInit, OnModuleDestroy {
  private readonly log: ServiceLog;
  private open: OpenPublisher | null = null;
  private readonly listeners: { close(): Promise<void> }[] = [];

  constructor(
    @Inject(INGEST_CONFIG) private readonly config: IngestConfig,
    private readonly registry: Registry,
    private readonly readiness: Readiness,
    logger: PinoLogger,
  ) {
    this.log = serviceLog(logger, 'ingest');
  }

  async onModuleInit(): Promise<void> {
    const c = this.config;
    const log = this.log;
    const open = await openPublisher(c, 'sluice-ingest', log, this.registry);
    this.open = open;
    this.readiness.register('kafka', () => open.connected);
    const { publisher, metrics } = open;
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
      this.log.info(
        { socket: c.INGEST_DNSTAP_SOCKET },
        `dnstap on unix socket ${c.INGEST_DNSTAP_SOCKET}`,
      );
    }
    if (c.INGEST_DNSTAP_TCP) {
      const l = new DnstapListener('dnstap-tcp', deps);
      const a = await l.listenTcp(c.INGEST_DNSTAP_TCP.host, c.INGEST_DNSTAP_TCP.port);
      this.listeners.push(l);
      this.log.info({ address: a.address, port: a.port }, `dnstap on tcp ${a.address}:${a.port}`);
    }
    if (c.INGEST_UDP_MIRROR) {
      const l = new UdpMirrorListener(deps);
      const a = await l.listen(c.INGEST_UDP_MIRROR.host, c.INGEST_UDP_MIRROR.port);
      this.listeners.push(l);
      this.log.info({ address: a.address, port: a.port }, `UDP mirror on ${a.address}:${a.port}`);
    }
    if (this.listeners.length === 0)
      this.log.warn(
        {},
        'no listener configured: set INGEST_DNSTAP_SOCKET, INGEST_DNSTAP_TCP or INGEST_UDP_MIRROR',
      );
  }

  async onModuleDestroy(): Promise<void> {
    for (const l of this.listeners.splice(0).reverse()) await l.close();
    await this.open?.close();
  }
}
