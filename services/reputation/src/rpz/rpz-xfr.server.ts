import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, isIP, type Server, type Socket } from 'node:net';
import { type BlocklistEntry } from '@sluice/contracts';
import { ClientAllowlist } from '../core/client-allowlist';
import { decodeDnsPacket } from '../core/dns-wire';
import { RpzZoneSet } from '../core/rpz-zones';
import { type TsigKey } from '../core/tsig';
import { answerRequest, buildNotify, refuse, type XfrOutcome } from '../core/xfr';
import { type BlocklistSink } from '../reputation.pipeline';

export interface RpzServerOptions {
  host: string;
  port: number;
  origin: string;
  initialSerial: number;
  keys: TsigKey[];
  /** Refuse unsigned requests; with no keys, refuse every request. */
  requireTsig: boolean;
  /** Client networks served (RPZ_XFR_ALLOW); others get REFUSED whatever their key. */
  allow: readonly string[];
  maxRecordsPerMessage?: number;
  maxMessageBytes?: number;
  /** host:port of secondaries to NOTIFY after each change (and the only ones whose acks count). */
  notify: Array<{ host: string; port: number }>;
  onServed?: (outcome: XfrOutcome, transport: 'udp' | 'tcp') => void;
  onError?: (error: unknown, where: string) => void;
}

/**
 * Serves the policy zones over DNS: SOA/IXFR on UDP, SOA/AXFR/IXFR on TCP (RFC 7766 framing),
 * and sends NOTIFY (retried, TSIG-signed when a key is configured) when a zone changes.
 */
export class RpzXfrServer implements BlocklistSink {
  readonly name = 'rpz';
  readonly zones: RpzZoneSet;
  private tcp: Server | null = null;
  private udp: UdpSocket | null = null;
  private notifyId = 1;
  private readonly pendingNotifies = new Set<NodeJS.Timeout>();
  notifiesAcked = 0;
  /** Requests answered, by outcome (also exported as a metric). */
  readonly served: Partial<Record<XfrOutcome, number>> = {};
  private readonly allowlist: ClientAllowlist;

  constructor(private readonly o: RpzServerOptions) {
    this.zones = new RpzZoneSet(o.origin, o.initialSerial);
    this.allowlist = new ClientAllowlist(o.allow);
  }

  async start(): Promise<{ port: number }> {
    const tcp = createServer((sock) => this.onTcp(sock));
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(this.o.port, this.o.host, () => resolve());
    });
    this.tcp = tcp;
    const addr = tcp.address();
    const port = typeof addr === 'object' && addr ? addr.port : this.o.port;
    const udp = createSocket(this.o.host.includes(':') ? 'udp6' : 'udp4');
    udp.on('message', (msg, rinfo) => {
      // NOTIFY acknowledgements come back to this socket too.
      if (msg.length >= 3 && (msg[2]! & 0x80) !== 0) return this.onNotifyAck(msg, rinfo);
      try {
        if (!this.allowlist.allows(rinfo.address)) {
          this.count('denied', 'udp');
          const r = refuse(msg);
          if (r) udp.send(r, rinfo.port, rinfo.address);
          return;
        }
        const { messages, outcome } = answerRequest(msg, this.zones, this.o, 'udp');
        this.count(outcome, 'udp');
        for (const m of messages) udp.send(m, rinfo.port, rinfo.address);
      } catch (e) {
        this.o.onError?.(e, 'udp');
      }
    });
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(port, this.o.host, () => resolve());
    });
    this.udp = udp;
    return { port };
  }

  async refresh(entries: readonly BlocklistEntry[]): Promise<void> {
    const changed = this.zones.update(entries);
    for (const zone of changed) this.notify(zone);
    return Promise.resolve();
  }

  private notify(zone: string): void {
    const view = this.zones.get(zone);
    if (!view || !this.udp) return;
    for (const target of this.o.notify) {
      const id = this.notifyId++ & 0xffff;
      const msg = buildNotify(zone, view.serial, id, this.o.keys[0]);
      this.pending.set(id, target);
      let tries = 0;
      const send = () => {
        if (!this.udp || tries++ >= 5 || !this.pending.has(id)) {
          this.pending.delete(id);
          return;
        }
        this.udp.send(msg, target.port, target.host);
        const t = setTimeout(() => {
          this.pendingNotifies.delete(t);
          send();
        }, 2000);
        this.pendingNotifies.add(t);
      };
      send();
    }
  }

  /** NOTIFY id → the secondary it went to: only that secondary's answer stops the retries. */
  private readonly pending = new Map<number, { host: string; port: number }>();

  private onNotifyAck(msg: Buffer, from: { address: string; port: number }): void {
    try {
      const p = decodeDnsPacket(msg);
      const id = p.id ?? 0;
      const target = this.pending.get(id);
      if ((((p.flags ?? 0) >> 11) & 0xf) !== 4 || !target || target.port !== from.port) return;
      if (isIP(target.host) && !sameAddress(target.host, from.address)) return;
      this.pending.delete(id);
      this.notifiesAcked++;
    } catch {
      // a malformed ack only means we retry
    }
  }

  private count(outcome: XfrOutcome, transport: 'udp' | 'tcp'): void {
    this.served[outcome] = (this.served[outcome] ?? 0) + 1;
    this.o.onServed?.(outcome, transport);
  }

  private onTcp(sock: Socket): void {
    const allowed = this.allowlist.allows(sock.remoteAddress ?? '');
    let buf = Buffer.alloc(0);
    sock.setTimeout(30_000, () => sock.destroy());
    sock.on('error', () => sock.destroy());
    sock.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2) {
        const len = buf.readUInt16BE(0);
        if (buf.length < 2 + len) break;
        const msg = buf.subarray(2, 2 + len);
        buf = buf.subarray(2 + len);
        if (!allowed) {
          // One REFUSED, then the connection is closed: nothing more is read from it.
          this.count('denied', 'tcp');
          const r = refuse(msg);
          if (r) sock.write(frame(r));
          sock.end();
          buf = Buffer.alloc(0);
          return;
        }
        try {
          const { messages, outcome } = answerRequest(msg, this.zones, this.o, 'tcp');
          this.count(outcome, 'tcp');
          for (const m of messages) sock.write(frame(m));
        } catch (e) {
          this.o.onError?.(e, 'tcp');
          sock.destroy();
        }
      }
    });
  }

  async stop(): Promise<void> {
    for (const t of this.pendingNotifies) clearTimeout(t);
    this.pendingNotifies.clear();
    const udp = this.udp;
    this.udp = null;
    if (udp) await new Promise<void>((r) => udp.close(() => r()));
    const tcp = this.tcp;
    this.tcp = null;
    if (tcp) await new Promise<void>((r) => tcp.close(() => r()));
  }
}

/** RFC 7766 framing: a two-byte length, then the message. */
function frame(m: Buffer): Buffer {
  const head = Buffer.alloc(2);
  head.writeUInt16BE(m.length);
  return Buffer.concat([head, m]);
}

const sameAddress = (a: string, b: string): boolean =>
  a.replace(/^::ffff:/i, '').toLowerCase() === b.replace(/^::ffff:/i, '').toLowerCase();
