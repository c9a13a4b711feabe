import { AddressTexts } from '@sluice/dns';

/** Link-layer types (LINKTYPE_* from tcpdump.org/linktypes.html). */
export const LinkType = {
  NULL: 0,
  ETHERNET: 1,
  RAW: 101,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
  LOOP: 108,
} as const;

export type PacketErrorReason =
  | 'link-unsupported'
  | 'link-truncated'
  | 'ip-truncated'
  | 'ip-bad-header'
  | 'ip-fragment'
  | 'udp-truncated'
  | 'tcp-truncated';

/** A transport segment or datagram to/from port 53. */
export interface DnsSegment {
  ts: number;
  src: string;
  srcPort: number;
  dst: string;
  dstPort: number;
  protocol: 'udp' | 'tcp';
  /**
   * The payload is data[start, end): `data` is the capture chunk the packet sits in, so no
   * Buffer view is made per packet (segmentPayload() makes one when needed). Valid only until
   * the reader moves on: whatever keeps payload bytes must copy them.
   */
  data: Buffer;
  start: number;
  end: number;
  /** TCP only. */
  seq: number;
  syn: boolean;
  fin: boolean;
  rst: boolean;
}

export function segmentPayload(s: DnsSegment): Buffer {
  return s.data.subarray(s.start, s.end);
}

export type PacketResult =
  | { kind: 'dns'; segment: DnsSegment }
  /** Valid traffic that is not DNS (ARP, other ports, ICMP…): skipped, not an error. */
  | { kind: 'ignored' }
  | { kind: 'error'; reason: PacketErrorReason; detail: string };

const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;
const ETH_VLAN = 0x8100;
const ETH_QINQ = 0x88a8;
const ETH_QINQ_OLD = 0x9100;

/** What PacketDecoder.decodeView found: a DNS segment (fields in the view), ignored, or an error. */
export const PACKET_DNS = 0;
export const PACKET_IGNORED = 1;
export const PACKET_ERROR = 2;
export type PacketKind = typeof PACKET_DNS | typeof PACKET_IGNORED | typeof PACKET_ERROR;

const EMPTY = Buffer.alloc(0);

/**
 * One packet's transport fields, written in place by PacketDecoder.decodeView: the capture path
 * reuses one view for every packet, so a packet costs no object and its addresses are not turned
 * into text (they stay bytes in `data`, at srcAt/dstAt) unless someone asks.
 */
export class PacketView {
  /** 4 (IPv4) or 16 (IPv6): the length of the addresses at data[srcAt] and data[dstAt]. */
  addressLength: 4 | 16 = 4;
  srcAt = 0;
  dstAt = 0;
  srcPort = 0;
  dstPort = 0;
  udp = true;
  /** The payload is data[start, end) (see DnsSegment). */
  data: Buffer = EMPTY;
  start = 0;
  end = 0;
  /** TCP only: sequence number and flags byte. */
  seq = 0;
  flags = 0;
  /** PACKET_ERROR only. */
  reason: PacketErrorReason = 'link-truncated';
  detail = '';
}

const IGNORED: PacketResult = { kind: 'ignored' };

export class PacketDecoder {
  private readonly view = new PacketView();
  private readonly texts = new AddressTexts();
  /** dnsPort[p] = 1 for a DNS port (two Set lookups per packet were measurable). */
  private readonly dnsPort = new Uint8Array(65536);

  constructor(dnsPorts: ReadonlySet<number> = new Set([53])) {
    for (const p of dnsPorts) if (p >= 0 && p < 65536) this.dnsPort[p] = 1;
  }

  decode(ts: number, linkType: number, data: Buffer): PacketResult {
    return this.decodeAt(ts, linkType, data, 0, data.length);
  }

  /** decode() of the packet at data[start, end), without a Buffer view of the packet. */
  decodeAt(ts: number, linkType: number, data: Buffer, start: number, end: number): PacketResult {
    const v = this.view;
    const kind = this.decodeView(linkType, data, start, end, v);
    if (kind === PACKET_IGNORED) return IGNORED;
    if (kind === PACKET_ERROR) return { kind: 'error', reason: v.reason, detail: v.detail };
    return { kind: 'dns', segment: this.segmentOf(ts, v) };
  }

  /** The DnsSegment of a view decodeView filled (addresses as text). */
  segmentOf(ts: number, v: PacketView): DnsSegment {
    return {
      ts,
      src: this.texts.textAt(v.data, v.srcAt, v.addressLength),
      srcPort: v.srcPort,
      dst: this.texts.textAt(v.data, v.dstAt, v.addressLength),
      dstPort: v.dstPort,
      protocol: v.udp ? 'udp' : 'tcp',
      data: v.data,
      start: v.start,
      end: v.end,
      seq: v.seq,
      syn: (v.flags & 0x02) !== 0,
      fin: (v.flags & 0x01) !== 0,
      rst: (v.flags & 0x04) !== 0,
    };
  }

  /** Text of an address decodeView pointed at (each address formatted once, see AddressTexts). */
  addressText(data: Buffer, at: number, length: 4 | 16): string {
    return this.texts.textAt(data, at, length);
  }

  /**
   * The capture reader's hot path: decodes the packet at data[start, end) into `out` and says
   * what it is. Nothing is allocated for a DNS packet.
   */
  decodeView(
    linkType: number,
    data: Buffer,
    start: number,
    end: number,
    out: PacketView,
  ): PacketKind {
    const length = end - start;
    let offset: number;
    let etherType: number;
    switch (linkType) {
      case LinkType.ETHERNET: {
        if (length < 14) return fail(out, 'link-truncated', 'Ethernet header cut short');
        etherType = u16(data, start + 12);
        offset = start + 14;
        // 802.1Q and 802.1ad (QinQ): any number of stacked tags.
        while (etherType === ETH_VLAN || etherType === ETH_QINQ || etherType === ETH_QINQ_OLD) {
          if (end < offset + 4) return fail(out, 'link-truncated', 'VLAN tag cut short');
          etherType = u16(data, offset + 2);
          offset += 4;
        }
        break;
      }
      case LinkType.LINUX_SLL:
        if (length < 16) return fail(out, 'link-truncated', 'Linux cooked (SLL) header cut short');
        etherType = u16(data, start + 14);
        offset = start + 16;
        break;
      case LinkType.LINUX_SLL2:
        if (length < 20)
          return fail(out, 'link-truncated', 'Linux cooked v2 (SLL2) header cut short');
        etherType = u16(data, start);
        offset = start + 20;
        break;
      case LinkType.RAW:
      case 12: // DLT_RAW as some BSDs number it
      case 14:
        if (length < 1) return fail(out, 'link-truncated', 'empty raw IP packet');
        etherType = data[start]! >> 4 === 6 ? ETH_IPV6 : ETH_IPV4;
        offset = start;
        break;
      case LinkType.IPV4:
        etherType = ETH_IPV4;
        offset = start;
        break;
      case LinkType.IPV6:
        etherType = ETH_IPV6;
        offset = start;
        break;
      case LinkType.NULL:
      case LinkType.LOOP: {
        if (length < 4) return fail(out, 'link-truncated', 'loopback header cut short');
        // BSD loopback: address family in host (NULL) or network (LOOP) byte order.
        const family =
          linkType === LinkType.LOOP
            ? data.readUInt32BE(start)
            : Math.min(data.readUInt32LE(start), data.readUInt32BE(start));
        etherType = family === 2 ? ETH_IPV4 : [24, 28, 30].includes(family) ? ETH_IPV6 : 0;
        offset = start + 4;
        break;
      }
      default:
        return fail(out, 'link-unsupported', `link type ${linkType}`);
    }
    if (etherType === ETH_IPV4) return this.ipv4(data, offset, end, out);
    if (etherType === ETH_IPV6) return this.ipv6(data, offset, end, out);
    return PACKET_IGNORED;
  }

  private ipv4(data: Buffer, at: number, limit: number, out: PacketView): PacketKind {
    if (limit < at + 20) return fail(out, 'ip-truncated', 'IPv4 header cut short');
    const vihl = data[at]!;
    if (vihl >> 4 !== 4)
      return fail(out, 'ip-bad-header', `IP version ${vihl >> 4} in an IPv4 frame`);
    const ihl = (vihl & 0x0f) * 4;
    if (ihl < 20) return fail(out, 'ip-bad-header', `IPv4 header length ${ihl}`);
    const total = u16(data, at + 2);
    if (total < ihl)
      return fail(out, 'ip-bad-header', `IPv4 total length ${total} < header ${ihl}`);
    if (limit < at + total)
      return fail(out, 'ip-truncated', `IPv4 packet of ${total} bytes, ${limit - at} captured`);
    const fragment = u16(data, at + 6);
    const protocol = data[at + 9]!;
    if (protocol !== 6 && protocol !== 17) return PACKET_IGNORED;
    // Fragments are not reassembled (DNS over UDP rarely fragments queries); counted instead.
    if ((fragment & 0x2000) !== 0 || (fragment & 0x1fff) !== 0)
      return fail(out, 'ip-fragment', 'fragmented IPv4 datagram');
    out.addressLength = 4;
    out.srcAt = at + 12;
    out.dstAt = at + 16;
    return this.transport(protocol, data, at + ihl, at + total, out);
  }

  private ipv6(data: Buffer, at: number, limit: number, out: PacketView): PacketKind {
    if (limit < at + 40) return fail(out, 'ip-truncated', 'IPv6 header cut short');
    if (data[at]! >> 4 !== 6)
      return fail(out, 'ip-bad-header', `IP version ${data[at]! >> 4} in an IPv6 frame`);
    const payloadLength = u16(data, at + 4);
    const end = at + 40 + payloadLength;
    if (limit < end)
      return fail(
        out,
        'ip-truncated',
        `IPv6 payload of ${payloadLength} bytes, ${limit - at - 40} captured`,
      );
    let next = data[at + 6]!;
    let offset = at + 40;
    // Extension headers: hop-by-hop, routing, destination options; fragments are counted.
    for (;;) {
      if (next === 0 || next === 43 || next === 60) {
        if (end < offset + 8) return fail(out, 'ip-truncated', 'IPv6 extension header cut short');
        const len = (data[offset + 1]! + 1) * 8;
        next = data[offset]!;
        offset += len;
        if (offset > end)
          return fail(out, 'ip-bad-header', 'IPv6 extension header past the payload');
        continue;
      }
      if (next === 44) return fail(out, 'ip-fragment', 'fragmented IPv6 datagram');
      break;
    }
    if (next !== 6 && next !== 17) return PACKET_IGNORED;
    out.addressLength = 16;
    out.srcAt = at + 8;
    out.dstAt = at + 24;
    return this.transport(next, data, offset, end, out);
  }

  private transport(
    protocol: number,
    data: Buffer,
    at: number,
    end: number,
    out: PacketView,
  ): PacketKind {
    const segLength = end - at;
    const udp = protocol === 17;
    if (segLength < (udp ? 8 : 20))
      return udp
        ? fail(out, 'udp-truncated', 'UDP header cut short')
        : fail(out, 'tcp-truncated', 'TCP header cut short');
    const srcPort = u16(data, at);
    const dstPort = u16(data, at + 2);
    if (this.dnsPort[srcPort] === 0 && this.dnsPort[dstPort] === 0) return PACKET_IGNORED;
    if (udp) {
      const length = u16(data, at + 4);
      if (length < 8 || length > segLength)
        return fail(out, 'udp-truncated', `UDP length ${length}, ${segLength} bytes present`);
      out.start = at + 8;
      out.end = at + length;
      out.seq = 0;
      out.flags = 0;
    } else {
      const dataOffset = (data[at + 12]! >> 4) * 4;
      if (dataOffset < 20 || dataOffset > segLength)
        return fail(out, 'tcp-truncated', `TCP data offset ${dataOffset}`);
      out.start = at + dataOffset;
      out.end = end;
      out.seq = data.readUInt32BE(at + 4);
      out.flags = data[at + 13]!;
    }
    out.udp = udp;
    out.srcPort = srcPort;
    out.dstPort = dstPort;
    out.data = data;
    return PACKET_DNS;
  }
}

function fail(out: PacketView, reason: PacketErrorReason, detail: string): PacketKind {
  out.reason = reason;
  out.detail = detail;
  return PACKET_ERROR;
}

/** Big-endian u16 at a position the caller has bounds-checked (readUInt16BE re-checks). */
function u16(buf: Buffer, at: number): number {
  return (buf[at]! << 8) | buf[at + 1]!;
}
