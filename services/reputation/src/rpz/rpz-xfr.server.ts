import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import { type BlocklistEntry } from '@sluice/contracts';
import { decodeDnsPacket } from '../core/dns-wire';
import { RpzZoneSet } from '../core/rpz-zones';
import { type TsigKey } from '../core/tsig';
import { answerRequest, buildNotify, type XfrOutcome } from '../core/xfr';
import { type BlocklistSink } from '../reputation.pipeline';

export interface RpzServerOptions {
  host: string;
  port: number;
  origin: string;
  initialSerial: number;
  keys: TsigKey[];
  requireTsig: boolean;
  /** host:port of secondaries to NOTIFY after each change. */
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

  constructor(private readonly o: RpzServerOptions) {
    this.zones = new RpzZoneSet(o.origin, o.initialSerial);
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
      if (msg.length >= 3 && (msg[2]! & 0x80) !== 0) return this.onNotifyAck(msg);
      try {
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
      let tries = 0;
      const send = () => {
        if (!this.udp || tries++ >= 5 || this.acked.has(id)) {
          this.acked.delete(id);
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

  private readonly acked = new Set<number>();

  private onNotifyAck(msg: Buffer): void {
    try {
      const p = decodeDnsPacket(msg);
      if ((((p.flags ?? 0) >> 11) & 0xf) === 4) {
        this.acked.add(p.id ?? 0);
        this.notifiesAcked++;
      }
    } catch {
      // a malformed ack only means we retry
    }
  }

  private count(outcome: XfrOutcome, transport: 'udp' | 'tcp'): void {
    this.served[outcome] = (this.served[outcome] ?? 0) + 1;
    this.o.onServed?.(outcome, transport);
  }

  private onTcp(sock: Socket): void {
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
        try {
          const { messages, outcome } = answerRequest(msg, this.zones, this.o, 'tcp');
          this.count(outcome, 'tcp');
          for (const m of messages) {
            const head = Buffer.alloc(2);
            head.writeUInt16BE(m.length);
            sock.write(Buffer.concat([head, m]));
          }
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
