import { createWriteStream } from 'node:fs';
import { isIPv6 } from 'node:net';
import { type Writable } from 'node:stream';
import { type QueryEvent } from '@sluice/contracts';
import { encodeQuery, encodeResponse, ipv4Bytes, ipv6Bytes } from './wire';

export interface PcapOptions {
  /** The authoritative server the queries go to. */
  serverV4?: string;
  serverV6?: string;
  /** Also write the server's response for events that carry an rcode. */
  withResponses?: boolean;
}

const SERVER_MAC = Buffer.from([0x02, 0, 0, 0, 0, 0x53]);
const CLIENT_MAC = Buffer.from([0x02, 0, 0, 0, 0, 0x01]);

/** Classic libpcap (not pcapng), microsecond timestamps, LINKTYPE_ETHERNET. */
export function pcapGlobalHeader(): Buffer {
  const h = Buffer.alloc(24);
  h.writeUInt32LE(0xa1b2c3d4, 0);
  h.writeUInt16LE(2, 4);
  h.writeUInt16LE(4, 6);
  h.writeInt32LE(0, 8);
  h.writeUInt32LE(0, 12);
  h.writeUInt32LE(65535, 16);
  h.writeUInt32LE(1, 20);
  return h;
}

function checksum16(...parts: Buffer[]): number {
  let sum = 0;
  for (const p of parts) {
    for (let i = 0; i + 1 < p.length; i += 2) sum += p.readUInt16BE(i);
    if (p.length % 2 === 1) sum += p[p.length - 1]! << 8;
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** One Ethernet/IPv4|IPv6/UDP frame carrying `payload`. */
export function udpFrame(
  src: string,
  sport: number,
  dst: string,
  dport: number,
  payload: Buffer,
): Buffer {
  const v6 = isIPv6(src);
  const udp = Buffer.alloc(8);
  udp.writeUInt16BE(sport, 0);
  udp.writeUInt16BE(dport, 2);
  udp.writeUInt16BE(8 + payload.length, 4);
  const eth = Buffer.alloc(14);
  const toServer = dport === 53;
  (toServer ? SERVER_MAC : CLIENT_MAC).copy(eth, 0);
  (toServer ? CLIENT_MAC : SERVER_MAC).copy(eth, 6);
  if (v6) {
    eth.writeUInt16BE(0x86dd, 12);
    const s = ipv6Bytes(src);
    const d = ipv6Bytes(dst);
    const ip = Buffer.alloc(40);
    ip.writeUInt32BE(0x60000000, 0);
    ip.writeUInt16BE(8 + payload.length, 4);
    ip[6] = 17;
    ip[7] = 64;
    s.copy(ip, 8);
    d.copy(ip, 24);
    const pseudo = Buffer.alloc(40);
    s.copy(pseudo, 0);
    d.copy(pseudo, 16);
    pseudo.writeUInt32BE(8 + payload.length, 32);
    pseudo[39] = 17;
    // UDP over IPv6 must carry a checksum (RFC 8200 §8.1).
    udp.writeUInt16BE(checksum16(pseudo, udp, payload) || 0xffff, 6);
    return Buffer.concat([eth, ip, udp, payload]);
  }
  eth.writeUInt16BE(0x0800, 12);
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + 8 + payload.length, 2);
  ip[8] = 64;
  ip[9] = 17;
  ipv4Bytes(src).copy(ip, 12);
  ipv4Bytes(dst).copy(ip, 16);
  ip.writeUInt16BE(checksum16(ip), 10);
  return Buffer.concat([eth, ip, udp, payload]);
}

function record(tsMs: number, frame: Buffer): Buffer {
  const h = Buffer.alloc(16);
  const sec = Math.floor(tsMs / 1000);
  h.writeUInt32LE(sec, 0);
  h.writeUInt32LE(Math.min(999_999, Math.round((tsMs - sec * 1000) * 1000)), 4);
  h.writeUInt32LE(frame.length, 8);
  h.writeUInt32LE(frame.length, 12);
  return Buffer.concat([h, frame]);
}

/** The pcap records (query, and response when asked and known) for one event. */
export function pcapRecords(e: QueryEvent, options: PcapOptions = {}): Buffer[] {
  const server = isIPv6(e.resolver)
    ? (options.serverV6 ?? '2001:db8::53')
    : (options.serverV4 ?? '192.0.2.53');
  const out = [record(e.ts, udpFrame(e.resolver, e.resolverPort, server, 53, encodeQuery(e)))];
  if (options.withResponses && e.rcode !== null) {
    out.push(
      record(e.ts + 0.2, udpFrame(server, 53, e.resolver, e.resolverPort, encodeResponse(e))),
    );
  }
  return out;
}

/** Stream events into `out` as a pcap; resolves with the number of packets written. */
export async function writePcapTo(
  out: Writable,
  events: Iterable<QueryEvent>,
  options: PcapOptions = {},
): Promise<number> {
  const write = (chunk: Buffer) =>
    out.write(chunk) ? Promise.resolve() : new Promise<void>((r) => out.once('drain', () => r()));
  await write(pcapGlobalHeader());
  let packets = 0;
  let pending: Buffer[] = [];
  for (const e of events) {
    for (const r of pcapRecords(e, options)) {
      pending.push(r);
      packets++;
    }
    if (pending.length >= 512) {
      await write(Buffer.concat(pending));
      pending = [];
    }
  }
  if (pending.length) await write(Buffer.concat(pending));
  return packets;
}

export async function writePcapFile(
  path: string,
  events: Iterable<QueryEvent>,
  options: PcapOptions = {},
): Promise<number> {
  const out = createWriteStream(path);
  const done = new Promise<void>((resolve, reject) => {
    out.once('finish', resolve);
    out.once('error', reject);
  });
  const packets = await writePcapTo(out, events, options);
  out.end();
  await done;
  return packets;
}
