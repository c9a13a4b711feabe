import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { clientSubnetAddress } from '../core/dns-decode';
import { DatagramIngest } from '../core/sources';
import { type ListenerDeps } from './dnstap.listener';

/**
 * Receives copies of client queries (dnsdist `TeeAction`). A UDP sender cannot be paused, so
 * while the publish queue is at its bound copies are dropped undecoded and counted
 * (sluice_ingest_dropped_total{source="udp-mirror",reason="queue-full"}) rather than buffered
 * without bound. The resolver is the EDNS Client
 * Subnet address when dnsdist added one (TeeAction(..., true)), else the datagram's sender.
 */
export class UdpMirrorListener {
  private socket: Socket | null = null;
  private readonly ingest: DatagramIngest;
  private readonly flushTimer: NodeJS.Timeout;

  constructor(private readonly deps: ListenerDeps) {
    this.ingest = new DatagramIngest('udp-mirror', {
      zones: deps.zones,
      sink: deps.publisher,
      assembler: deps.assembler,
    });
    this.flushTimer = setInterval(
      () => this.ingest.flush(),
      Math.max(1000, deps.assembler.pairWindowMs),
    );
    this.flushTimer.unref();
  }

  async listen(host: string, port: number): Promise<{ address: string; port: number }> {
    const socket = createSocket({
      type: isIPv6(host) ? 'udp6' : 'udp4',
      recvBufferSize: 8 * 1024 * 1024,
    });
    this.socket = socket;
    const inputs = this.deps.metrics.inputs.labels({ source: 'udp-mirror' });
    const dropped = this.deps.metrics.dropped.labels({
      source: 'udp-mirror',
      reason: 'queue-full',
    });
    socket.on('message', (msg, rinfo) => {
      inputs.inc();
      if (this.deps.publisher.congested) {
        dropped.inc();
        return;
      }
      const resolver = clientSubnetAddress(msg) ?? rinfo.address;
      this.ingest.datagram(msg, Date.now(), resolver, rinfo.port);
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, host, () => resolve());
    });
    socket.on('error', (err) => this.deps.log.warn({ err }, 'UDP mirror socket error'));
    return socket.address();
  }

  async close(): Promise<void> {
    clearInterval(this.flushTimer);
    this.ingest.flush();
    const socket = this.socket;
    this.socket = null;
    if (socket) await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
}
