import { parseIpBytes } from '@sluice/dns';

/**
 * Builds capture files: classic pcap (µs) or pcapng, with Ethernet (optionally 802.1Q-tagged),
 * Linux SLL/SLL2 or raw-IP framing around IPv4/IPv6 UDP and TCP. The one capture writer of the
 * repo: `sluice simulate` (via ./pcap.ts), the ingest's fixture generator, specs and benchmark.
 */

export interface Endpoint {
  ip: string;
  port: number;
}

export type Framing = 'ethernet' | 'sll' | 'sll2' | 'raw';

export interface FrameOptions {
  framing?: Framing;
  /** 802.1Q VLAN ids, outermost first (Ethernet only). */
  vlans?: number[];
}

const LINKTYPES: Record<Framing, number> = { ethernet: 1, sll: 113, sll2: 276, raw: 101 };

export function ipBytes(ip: string): Buffer {
  const bytes = parseIpBytes(ip);
  if (bytes === null) throw new Error(`not an IP address: ${JSON.stringify(ip)}`);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}

function checksum(buf: Buffer): number {
  let sum = 0;
  for (let i = 0; i + 1 < buf.length; i += 2) sum += buf.readUInt16BE(i);
  if (buf.length % 2) sum += buf[buf.length - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export function udpSegment(src: Endpoint, dst: Endpoint, payload: Buffer): Buffer {
  const udp = Buffer.alloc(8 + payload.length);
  udp.writeUInt16BE(src.port, 0);
  udp.writeUInt16BE(dst.port, 2);
  udp.writeUInt16BE(udp.length, 4);
  payload.copy(udp, 8);
  return udp;
}

export function tcpSegment(
  src: Endpoint,
  dst: Endpoint,
  payload: Buffer,
  seq: number,
  flags: { syn?: boolean; ack?: boolean; fin?: boolean; psh?: boolean } = { ack: true, psh: true },
): Buffer {
  const tcp = Buffer.alloc(20 + payload.length);
  tcp.writeUInt16BE(src.port, 0);
  tcp.writeUInt16BE(dst.port, 2);
  tcp.writeUInt32BE(seq >>> 0, 4);
  tcp.writeUInt32BE(0, 8);
  tcp[12] = 5 << 4;
  tcp[13] = (flags.fin ? 1 : 0) | (flags.syn ? 2 : 0) | (flags.psh ? 8 : 0) | (flags.ack ? 16 : 0);
  tcp.writeUInt16BE(65535, 14);
  payload.copy(tcp, 20);
  return tcp;
}

/** An IP packet (v4 or v6 by address) carrying a transport segment (protocol 17 UDP, 6 TCP). */
export function ipPacket(srcIp: string, dstIp: string, protocol: number, segment: Buffer): Buffer {
  const src = ipBytes(srcIp);
  const dst = ipBytes(dstIp);
  if (src.length === 4) {
    const ip = Buffer.alloc(20 + segment.length);
    ip[0] = 0x45;
    ip.writeUInt16BE(ip.length, 2);
    ip.writeUInt16BE(0x4000, 6); // DF
    ip[8] = 64;
    ip[9] = protocol;
    src.copy(ip, 12);
    dst.copy(ip, 16);
    ip.writeUInt16BE(checksum(ip.subarray(0, 20)), 10);
    segment.copy(ip, 20);
    return ip;
  }
  const ip = Buffer.alloc(40 + segment.length);
  ip.writeUInt32BE(0x60000000, 0);
  ip.writeUInt16BE(segment.length, 4);
  ip[6] = protocol;
  ip[7] = 64;
  src.copy(ip, 8);
  dst.copy(ip, 24);
  segment.copy(ip, 40);
  if (protocol === 17 && segment.length >= 8) {
    // UDP over IPv6 must carry a checksum (RFC 8200 §8.1); computed over the pseudo-header.
    const pseudo = Buffer.alloc(40);
    src.copy(pseudo, 0);
    dst.copy(pseudo, 16);
    pseudo.writeUInt32BE(segment.length, 32);
    pseudo[39] = 17;
    ip.writeUInt16BE(0, 46);
    ip.writeUInt16BE(checksum(Buffer.concat([pseudo, ip.subarray(40)])) || 0xffff, 46);
  }
  return ip;
}

/** Wrap an IP packet in the chosen link layer. */
export function frame(ip: Buffer, options: FrameOptions = {}): Buffer {
  const etherType = ip[0]! >> 4 === 6 ? 0x86dd : 0x0800;
  switch (options.framing ?? 'ethernet') {
    case 'ethernet': {
      const vlans = options.vlans ?? [];
      const header = Buffer.alloc(14 + vlans.length * 4);
      Buffer.from([0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02]).copy(header, 0);
      let at = 12;
      for (const vid of vlans) {
        header.writeUInt16BE(0x8100, at);
        header.writeUInt16BE(vid & 0x0fff, at + 2);
        at += 4;
      }
      header.writeUInt16BE(etherType, at);
      return Buffer.concat([header, ip]);
    }
    case 'sll': {
      const header = Buffer.alloc(16);
      header.writeUInt16BE(0, 0); // to us
      header.writeUInt16BE(1, 2); // ARPHRD_ETHER
      header.writeUInt16BE(6, 4);
      header.writeUInt16BE(etherType, 14);
      return Buffer.concat([header, ip]);
    }
    case 'sll2': {
      const header = Buffer.alloc(20);
      header.writeUInt16BE(etherType, 0);
      header.writeUInt32BE(1, 4); // interface index
      header.writeUInt16BE(1, 8); // ARPHRD_ETHER
      header[11] = 6;
      return Buffer.concat([header, ip]);
    }
    case 'raw':
      return ip;
  }
}

/** A framed IPv4/IPv6 UDP datagram. */
export function udpFrame(
  src: Endpoint,
  dst: Endpoint,
  payload: Buffer,
  options: FrameOptions = {},
): Buffer {
  return frame(ipPacket(src.ip, dst.ip, 17, udpSegment(src, dst, payload)), options);
}

interface CaptureRecord {
  ts: number;
  data: Buffer;
  origLength: number;
}

/** Collects packets and serialises them as pcap or pcapng (one interface). */
export class CaptureWriter {
  private readonly records: CaptureRecord[] = [];

  constructor(readonly framing: Framing = 'ethernet') {}

  get linkType(): number {
    return LINKTYPES[this.framing];
  }

  /** ts in epoch ms (fractions down to µs kept). */
  add(ts: number, data: Buffer, origLength = data.length): void {
    this.records.push({ ts, data, origLength });
  }

  udp(ts: number, src: Endpoint, dst: Endpoint, payload: Buffer, vlans?: number[]): void {
    this.add(ts, udpFrame(src, dst, payload, { framing: this.framing, vlans }));
  }

  tcp(
    ts: number,
    src: Endpoint,
    dst: Endpoint,
    payload: Buffer,
    seq: number,
    flags?: Parameters<typeof tcpSegment>[4],
  ): void {
    this.add(
      ts,
      frame(ipPacket(src.ip, dst.ip, 6, tcpSegment(src, dst, payload, seq, flags)), {
        framing: this.framing,
      }),
    );
  }

  toPcap(): Buffer {
    return Buffer.concat([
      pcapHeader(this.linkType),
      ...this.records.map((r) => pcapRecord(r.ts, r.data, r.origLength)),
    ]);
  }

  toPcapng(): Buffer {
    return Buffer.concat([
      pcapngHeader(this.linkType),
      ...this.records.map((r) => pcapngPacket(r.ts, r.data, r.origLength)),
    ]);
  }
}

export function pcapHeader(linkType: number, snaplen = 65535): Buffer {
  const h = Buffer.alloc(24);
  h.writeUInt32LE(0xa1b2c3d4, 0);
  h.writeUInt16LE(2, 4);
  h.writeUInt16LE(4, 6);
  h.writeUInt32LE(snaplen, 16);
  h.writeUInt32LE(linkType, 20);
  return h;
}

export function pcapRecord(ts: number, data: Buffer, origLength = data.length): Buffer {
  const r = Buffer.alloc(16 + data.length);
  const micros = Math.round(ts * 1000);
  r.writeUInt32LE(Math.floor(micros / 1e6), 0);
  r.writeUInt32LE(micros % 1e6, 4);
  r.writeUInt32LE(data.length, 8);
  r.writeUInt32LE(origLength, 12);
  data.copy(r, 16);
  return r;
}

/** Section header + one interface (µs resolution, the pcapng default). */
export function pcapngHeader(linkType: number): Buffer {
  const shb = Buffer.alloc(28);
  shb.writeUInt32LE(0x0a0d0d0a, 0);
  shb.writeUInt32LE(28, 4);
  shb.writeUInt32LE(0x1a2b3c4d, 8);
  shb.writeUInt16LE(1, 12);
  shb.writeUInt16LE(0, 14);
  shb.writeBigInt64LE(-1n, 16);
  shb.writeUInt32LE(28, 24);
  const idb = Buffer.alloc(20);
  idb.writeUInt32LE(1, 0);
  idb.writeUInt32LE(20, 4);
  idb.writeUInt16LE(linkType, 8);
  idb.writeUInt32LE(65535, 12);
  idb.writeUInt32LE(20, 16);
  return Buffer.concat([shb, idb]);
}

export function pcapngPacket(ts: number, data: Buffer, origLength = data.length): Buffer {
  const padded = Math.ceil(data.length / 4) * 4;
  const length = 32 + padded;
  const b = Buffer.alloc(length);
  const micros = BigInt(Math.round(ts * 1000));
  b.writeUInt32LE(6, 0);
  b.writeUInt32LE(length, 4);
  b.writeUInt32LE(0, 8);
  b.writeUInt32LE(Number(micros >> 32n), 12);
  b.writeUInt32LE(Number(micros & 0xffffffffn), 16);
  b.writeUInt32LE(data.length, 20);
  b.writeUInt32LE(origLength, 24);
  data.copy(b, 28);
  b.writeUInt32LE(length, length - 4);
  return b;
}
