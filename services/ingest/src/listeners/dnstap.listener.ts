import { existsSync, unlinkSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { FrameStreamSession, type SessionOutput } from '../core/frame-streams';
import { type AssemblerOptions } from '../core/query-assembler';
import { DnstapIngest } from '../core/sources';
import { type ZoneMapper } from '../core/zone-mapper';
import { type IngestMetrics } from '../metrics/ingest.metrics';
import { type QueryPublisher } from '../publish/query.publisher';

export interface ListenerDeps {
  zones: ZoneMapper;
  publisher: QueryPublisher;
  metrics: IngestMetrics;
  assembler: AssemblerOptions;
  maxFrameBytes: number;
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
}

interface Connection {
  socket: Socket;
  ingest: DnstapIngest;
  lastData: number;
}

/**
 * Frame Streams receiver for dnstap, on a unix socket (NSD, BIND, Knot) or TCP (dnsdist,
 * Unbound). Every connection has its own handshake state and its own query/response pairing;
 * a misbehaving sender is counted and disconnected without touching the others.
 */
export class DnstapListener {
  private readonly server: Server;
  private readonly connections = new Set<Connection>();
  private readonly idleTimer: NodeJS.Timeout;

  constructor(
    private readonly kind: 'dnstap-unix' | 'dnstap-tcp',
    private readonly deps: ListenerDeps,
  ) {
    this.server = createServer((socket) => this.accept(socket));
    // Held queries of an idle connection still go out (with no rcode) after the pair window.
    this.idleTimer = setInterval(() => {
      const now = Date.now();
      for (const c of this.connections) {
        if (
          c.ingest.pendingQueries > 0 &&
          now - c.lastData > Math.max(1000, deps.assembler.pairWindowMs)
        )
          c.ingest.flush();
      }
    }, 1000);
    this.idleTimer.unref();
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  async listenUnix(path: string): Promise<void> {
    // A socket file left by a previous run would make listen() fail with EADDRINUSE.
    if (existsSync(path)) unlinkSync(path);
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(path, () => resolve());
    });
  }

  async listenTcp(host: string, port: number): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => resolve());
    });
    return this.server.address() as AddressInfo;
  }

  async close(): Promise<void> {
    clearInterval(this.idleTimer);
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const c of this.connections) {
      c.ingest.flush();
      c.socket.destroy();
    }
    this.connections.clear();
    await closed;
  }

  private accept(socket: Socket): void {
    const { deps } = this;
    const session = new FrameStreamSession({
      bidirectional: true,
      maxDataFrame: deps.maxFrameBytes,
    });
    const ingest = new DnstapIngest(this.kind, {
      zones: deps.zones,
      sink: deps.publisher,
      assembler: deps.assembler,
    });
    const conn: Connection = { socket, ingest, lastData: Date.now() };
    this.connections.add(conn);
    deps.metrics.connections.inc({ listener: this.kind });
    const inputs = deps.metrics.inputs.labels({ source: this.kind });
    const out: SessionOutput[] = [];
    let closed = false;
    let failed = false;

    const handle = () => {
      for (const o of out) {
        switch (o.kind) {
          case 'write':
            if (!socket.destroyed) socket.write(o.bytes);
            break;
          case 'data':
            inputs.inc();
            ingest.frame(o.frame);
            break;
          case 'error':
            failed = true;
            ingest.framingError(o.reason, o.raw, o.detail);
            deps.log.warn(
              { listener: this.kind, reason: o.reason, detail: o.detail },
              'dnstap sender rejected',
            );
            break;
          case 'close':
            ingest.flush();
            // After STOP, let FINISH go out; after a protocol error there is nothing to say.
            if (failed) socket.destroy();
            else if (!socket.destroyed) socket.end();
            break;
        }
      }
      out.length = 0;
    };

    socket.on('data', (chunk: Buffer) => {
      conn.lastData = Date.now();
      session.push(chunk, out);
      handle();
      if (deps.publisher.congested && !socket.isPaused()) {
        // Kafka is behind: stop reading; the sender's own queue absorbs or drops (and counts) it.
        socket.pause();
        void deps.publisher.whenUncongested().then(() => {
          if (!socket.destroyed) socket.resume();
        });
      }
    });
    const finish = () => {
      if (closed) return;
      closed = true;
      session.end(out);
      handle();
      ingest.flush();
      this.connections.delete(conn);
      deps.metrics.connections.dec({ listener: this.kind });
    };
    socket.on('end', finish);
    socket.on('close', finish);
    socket.on('error', () => {
      // ECONNRESET and friends: 'close' follows and counts the vanished sender.
    });
  }
}
