import { existsSync, unlinkSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import {
  ConnectionDeadlines,
  type DeadlineReason,
  type DeadlineSettings,
} from '../core/connection-deadlines';
import { FrameStreamSession, type SessionOutput } from '../core/frame-streams';
import { type AssemblerOptions } from '../core/query-assembler';
import { DnstapIngest } from '../core/sources';
import { type ZoneMapper } from '../core/zone-mapper';
import { type IngestMetrics } from '../metrics/ingest.metrics';
import { type QueryPublisher } from '../publish/query.publisher';

/** Limits on each dnstap connection (INGEST_DNSTAP_*). */
export interface DnstapConnectionSettings extends DeadlineSettings {
  /** Open connections per listener; more are refused and counted. */
  maxConnections: number;
}

/** The configuration defaults (ingest.config.ts), for callers that build a listener by hand. */
export const DEFAULT_DNSTAP_CONNECTION: DnstapConnectionSettings = {
  handshakeMs: 5000,
  frameMs: 10_000,
  idleMs: 0,
  maxConnections: 64,
};

export interface ListenerDeps {
  zones: ZoneMapper;
  publisher: QueryPublisher;
  metrics: IngestMetrics;
  assembler: AssemblerOptions;
  maxFrameBytes: number;
  dnstap?: DnstapConnectionSettings;
  /** The clock deadlines are measured on (tests pass one they advance themselves). */
  clock?: () => number;
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
}

/** Why a connection ended: sluice_ingest_connections_closed_total{reason}. */
export type ConnectionCloseReason =
  'stop' | 'eof' | 'protocol-error' | DeadlineReason | 'connection-limit' | 'shutdown';

interface Connection {
  socket: Socket;
  session: FrameStreamSession;
  ingest: DnstapIngest;
  deadlines: ConnectionDeadlines;
  lastData: number;
  closeReason: ConnectionCloseReason | null;
  /** Process the session's outputs (writes, frames, errors, close). */
  handle(): void;
  out: SessionOutput[];
  /** Resolves when the socket has closed and the connection was counted. */
  closed: Promise<void>;
}

/**
 * Frame Streams receiver for dnstap, on a unix socket (NSD, BIND, Knot) or TCP (dnsdist,
 * Unbound). Every connection has its own handshake state and its own query/response pairing;
 * a misbehaving sender is counted and disconnected without touching the others.
 *
 * It never makes a sender wait: every connection is read as fast as bytes arrive, and while
 * the publish queue is at its bound data frames are dropped undecoded and counted
 * (sluice_ingest_dropped_total{reason="queue-full"}) instead of pausing the socket, which would
 * block the nameserver's dnstap writer. What one connection may hold is bounded: a frame of at
 * most maxFrameBytes, for at most the frame deadline; connections that do not finish their
 * handshake, stall mid-frame or (optionally) go idle are cut (ConnectionDeadlines), and at most
 * maxConnections are open.
 */
export class DnstapListener {
  private readonly server: Server;
  private readonly connections = new Set<Connection>();
  private readonly timer: NodeJS.Timeout;
  private readonly settings: DnstapConnectionSettings;
  private readonly now: () => number;
  private readonly tick: number;
  private lastCheck: number;

  constructor(
    private readonly kind: 'dnstap-unix' | 'dnstap-tcp',
    private readonly deps: ListenerDeps,
  ) {
    this.settings = deps.dnstap ?? DEFAULT_DNSTAP_CONNECTION;
    this.now = deps.clock ?? Date.now;
    this.server = createServer((socket) => this.accept(socket));
    const s = this.settings;
    this.tick = Math.max(
      50,
      Math.min(1000, s.handshakeMs / 4, s.frameMs / 4, s.idleMs > 0 ? s.idleMs / 4 : 1000),
    );
    this.lastCheck = Date.now();
    this.timer = setInterval(() => this.check(), this.tick);
    this.timer.unref();
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Bytes of incomplete frames held by all connections (≤ maxConnections × maxFrameBytes). */
  get bufferedBytes(): number {
    let n = 0;
    for (const c of this.connections) n += c.session.bufferedBytes;
    return n;
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

  /**
   * Stop accepting, then half-close every connection and keep reading what its sender already
   * wrote until it closes (a nameserver sees EOF, closes and reconnects to the next ingest), for
   * at most `graceMs`; then cut what is left.
   */
  async close(graceMs = 1000): Promise<void> {
    clearInterval(this.timer);
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const c of this.connections) {
      c.closeReason ??= 'shutdown';
      if (!c.socket.destroyed) c.socket.end();
    }
    if (this.connections.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all([...this.connections].map((c) => c.closed)),
        new Promise((r) => (timer = setTimeout(r, graceMs))),
      ]);
      clearTimeout(timer);
    }
    for (const c of this.connections) c.socket.destroy();
    await closed;
  }

  /** Judge each connection's deadlines (a timer calls this; tests may too, after moving the clock). */
  check(): void {
    // A late tick means the event loop was stalled: data a sender wrote meanwhile may still be
    // unread, so no deadline is judged until the loop has had a turn to read it.
    const wall = Date.now();
    const stalled = wall - this.lastCheck > 2 * this.tick + 100;
    this.lastCheck = wall;
    if (stalled) return;
    const now = this.now();
    const pairWait = Math.max(1000, this.deps.assembler.pairWindowMs);
    for (const c of this.connections) {
      const expired = c.deadlines.expired(now);
      if (expired !== null) {
        this.expire(c, expired);
        continue;
      }
      // Held queries of an idle connection still go out (with no rcode) after the pair window.
      if (c.ingest.pendingQueries > 0 && now - c.lastData > pairWait) c.ingest.flush();
    }
  }

  private expire(c: Connection, reason: DeadlineReason): void {
    if (c.deadlines.isClosing || c.session.finished) {
      // STOP/FINISH or an error was exchanged and the peer did not close: its reason stands.
      c.socket.destroy();
      return;
    }
    c.closeReason = reason;
    if (reason === 'idle-timeout') {
      c.ingest.flush();
      c.socket.destroy();
      return;
    }
    const limit =
      reason === 'handshake-timeout' ? this.settings.handshakeMs : this.settings.frameMs;
    c.session.abort(
      reason === 'handshake-timeout' ? 'fstrm-handshake-timeout' : 'fstrm-frame-timeout',
      reason === 'handshake-timeout'
        ? `no START within ${limit} ms of connecting`
        : `a frame incomplete for ${limit} ms (${c.session.bufferedBytes} bytes held)`,
      c.out,
    );
    c.handle();
  }

  private accept(socket: Socket): void {
    const { deps, kind } = this;
    const closedTotal = deps.metrics.connectionsClosed;
    if (this.connections.size >= this.settings.maxConnections) {
      closedTotal.inc({ listener: kind, reason: 'connection-limit' });
      socket.on('error', () => undefined);
      socket.destroy();
      return;
    }
    const session = new FrameStreamSession({
      bidirectional: true,
      maxDataFrame: deps.maxFrameBytes,
    });
    const ingest = new DnstapIngest(kind, {
      zones: deps.zones,
      sink: deps.publisher,
      assembler: deps.assembler,
    });
    const now = this.now();
    const inputs = deps.metrics.inputs.labels({ source: kind });
    const dropped = deps.metrics.dropped.labels({ source: kind, reason: 'queue-full' });
    const publisher = deps.publisher;
    const out: SessionOutput[] = [];
    let failed = false;
    let finished = false;
    let onClosed: () => void = () => undefined;
    const closed = new Promise<void>((r) => (onClosed = r));
    const conn: Connection = {
      closed,
      socket,
      session,
      ingest,
      deadlines: new ConnectionDeadlines(this.settings, now),
      lastData: now,
      closeReason: null,
      out,
      handle: () => {
        for (const o of out) {
          switch (o.kind) {
            case 'write':
              if (!socket.destroyed) socket.write(o.bytes);
              break;
            case 'data':
              inputs.inc();
              // The publish queue is full: drop undecoded rather than make the sender wait.
              if (publisher.congested) dropped.inc();
              else ingest.frame(o.frame);
              break;
            case 'error':
              failed = true;
              conn.closeReason ??= 'protocol-error';
              ingest.framingError(o.reason, o.raw, o.detail);
              deps.log.warn(
                { listener: kind, reason: o.reason, detail: o.detail },
                'dnstap sender rejected',
              );
              break;
            case 'close':
              ingest.flush();
              conn.closeReason ??= 'stop';
              conn.deadlines.closing(this.now());
              // After STOP, let FINISH go out; after a protocol error there is nothing to say.
              if (failed) socket.destroy();
              else if (!socket.destroyed) socket.end();
              break;
          }
        }
        out.length = 0;
      },
    };
    this.connections.add(conn);
    deps.metrics.connections.inc({ listener: kind });

    socket.on('data', (chunk: Buffer) => {
      const t = this.now();
      conn.lastData = t;
      const before = session.framesSeen;
      session.push(chunk, out);
      conn.handle();
      conn.deadlines.onRead(
        t,
        session.framesSeen - before,
        session.bufferedBytes,
        session.handshakeDone,
      );
    });
    const finish = () => {
      if (finished) return;
      finished = true;
      // The peer closed first: anything but a clean STOP is a sender that vanished. A
      // connection this side cut (deadline, shutdown) was counted for that already.
      conn.closeReason ??= 'eof';
      if (conn.closeReason === 'eof' || conn.closeReason === 'stop') session.end(out);
      conn.handle();
      ingest.flush();
      this.connections.delete(conn);
      deps.metrics.connections.dec({ listener: kind });
      closedTotal.inc({ listener: kind, reason: conn.closeReason });
      onClosed();
    };
    socket.on('end', finish);
    socket.on('close', finish);
    socket.on('error', () => {
      // ECONNRESET and friends: 'close' follows and counts the vanished sender.
    });
  }
}
