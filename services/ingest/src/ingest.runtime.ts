import { type Registry, type ServiceLog } from '@sluice/service-kit';
import { type IngestConfig } from './config/ingest.config';
import { ZoneMapper } from './core/zone-mapper';
import { DnstapListener, type ListenerDeps } from './listeners/dnstap.listener';
import { UdpMirrorListener } from './listeners/udp-mirror.listener';
import { openPublisher, type OpenPublisher } from './publish/open-publisher';

export interface IngestRuntimeHooks {
  log: ServiceLog;
  /** Where the sluice_ingest_* metrics are registered (a fresh one when absent). */
  registry?: Registry;
}

/**
 * Everything the ingest runs, without Nest: the Kafka publisher and the listeners feeding it.
 * Start order: producer connected, then each configured listener (dnstap unix, dnstap TCP, UDP
 * mirror); stop is the reverse, the publisher flushed last. The Nest service wraps it.
 */
export class IngestRuntime {
  private readonly log: ServiceLog;
  private open: OpenPublisher | null = null;
  private readonly listeners: { close(): Promise<void> }[] = [];

  constructor(
    private readonly config: IngestConfig,
    private readonly hooks: IngestRuntimeHooks,
  ) {
    this.log = hooks.log;
  }

  /** The producer is connected to the cluster (false until started). */
  get connected(): boolean {
    return this.open?.connected ?? false;
  }

  async start(): Promise<void> {
    const c = this.config;
    const log = this.log;
    const open = await openPublisher(c, 'sluice-ingest', log, this.hooks.registry);
    this.open = open;
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
      log.info(
        { socket: c.INGEST_DNSTAP_SOCKET },
        `dnstap on unix socket ${c.INGEST_DNSTAP_SOCKET}`,
      );
    }
    if (c.INGEST_DNSTAP_TCP) {
      const l = new DnstapListener('dnstap-tcp', deps);
      const a = await l.listenTcp(c.INGEST_DNSTAP_TCP.host, c.INGEST_DNSTAP_TCP.port);
      this.listeners.push(l);
      log.info({ address: a.address, port: a.port }, `dnstap on tcp ${a.address}:${a.port}`);
    }
    if (c.INGEST_UDP_MIRROR) {
      const l = new UdpMirrorListener(deps);
      const a = await l.listen(c.INGEST_UDP_MIRROR.host, c.INGEST_UDP_MIRROR.port);
      this.listeners.push(l);
      log.info({ address: a.address, port: a.port }, `UDP mirror on ${a.address}:${a.port}`);
    }
    if (this.listeners.length === 0)
      log.warn(
        {},
        'no listener configured: set INGEST_DNSTAP_SOCKET, INGEST_DNSTAP_TCP or INGEST_UDP_MIRROR',
      );
  }

  async stop(): Promise<void> {
    for (const l of this.listeners.splice(0).reverse()) await l.close();
    await this.open?.close();
  }
}
