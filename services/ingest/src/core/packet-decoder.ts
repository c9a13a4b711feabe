import { formatIpBytes, formatIpv4Cached } from '@sluice/dns';

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

const IGNORED: PacketResult = { kind: 'ignored' };
const err = (reason: PacketErrorReason, detail: string): PacketResult => ({
  kind: 'error',
  reason,
  detail,
});

export class PacketDecoder {
  constructor(private readonly dnsPorts: ReadonlySet<number> = new Set([53])) {}

  decode(ts: number, linkType: number, data: Buffer): PacketResult {
    return this.decodeAt(ts, linkType, data, 0, data.length);
  }

  /**
   * decode() of the packet at data[start, end): the capture reader's hot path, which spares a
   * Buffer view per packet (the UDP payload is the only view made).
   */
  decodeAt(ts: number, linkType: number, data: Buffer, start: number, end: number): PacketResult {
    const length = end - start;
    let offset: number;
    let etherType: number;
    switch (linkType) {
      case LinkType.ETHERNET: {
        if (length < 14) return err('link-truncated', 'Ethernet header cut short');
        etherType = data.readUInt16BE(start + 12);
        offset = start + 14;
        // 802.1Q and 802.1ad (QinQ): any number of stacked tags.
        while (etherType === ETH_VLAN || etherType === ETH_QINQ || etherType === ETH_QINQ_OLD) {
          if (end < offset + 4) return err('link-truncated', 'VLAN tag cut short');
          etherType = data.readUInt16BE(offset + 2);
          offset += 4;
        }
        break;
      }
      case LinkType.LINUX_SLL:
        if (length < 16) return err('link-truncated', 'Linux cooked (SLL) header cut short');
        etherType = data.readUInt16BE(start + 14);
        offset = start + 16;
        break;
      case LinkType.LINUX_SLL2:
        if (length < 20) return err('link-truncated', 'Linux cooked v2 (SLL2) header cut short');
        etherType = data.readUInt16BE(start);
        offset = start + 20;
        break;
      case LinkType.RAW:
      case 12: // DLT_RAW as some BSDs number it
      case 14:
        if (length < 1) return err('link-truncated', 'empty raw IP packet');
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
        if (length < 4) return err('link-truncated', 'loopback header cut short');
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
        return err('link-unsupported', `link type ${linkType}`);
    }
    if (etherType === ETH_IPV4) return this.ipv4(ts, data, offset, end);
    if (etherType === ETH_IPV6) return this.ipv6(ts, data, offset, end);
    return IGNORED;
  }

  private ipv4(ts: number, data: Buffer, at: number, limit: number): PacketResult {
    if (limit < at + 20) return err('ip-truncated', 'IPv4 header cut short');
    const vihl = data[at]!;
    if (vihl >> 4 !== 4) return err('ip-bad-header', `IP version ${vihl >> 4} in an IPv4 frame`);
    const ihl = (vihl & 0x0f) * 4;
    if (ihl < 20) return err('ip-bad-header', `IPv4 header length ${ihl}`);
    const total = data.readUInt16BE(at + 2);
    if (total < ihl) return err('ip-bad-header', `IPv4 total length ${total} < header ${ihl}`);
    if (limit < at + total)
      return err('ip-truncated', `IPv4 packet of ${total} bytes, ${limit - at} captured`);
    const fragment = data.readUInt16BE(at + 6);
    const protocol = data[at + 9]!;
    if (protocol !== 6 && protocol !== 17) return IGNORED;
    // Fragments are not reassembled (DNS over UDP rarely fragments queries); counted instead.
    if ((fragment & 0x2000) !== 0 || (fragment & 0x1fff) !== 0)
      return err('ip-fragment', 'fragmented IPv4 datagram');
    const src = formatIpv4Cached(data, at + 12);
    const dst = formatIpv4Cached(data, at + 16);
    return this.transport(ts, protocol, src, dst, data, at + ihl, at + total);
  }

  private ipv6(ts: number, data: Buffer, at: number, limit: number): PacketResult {
    if (limit < at + 40) return err('ip-truncated', 'IPv6 header cut short');
    if (data[at]! >> 4 !== 6)
      return err('ip-bad-header', `IP version ${data[at]! >> 4} in an IPv6 frame`);
    const payloadLength = data.readUInt16BE(at + 4);
    const end = at + 40 + payloadLength;
    if (limit < end)
      return err(
        'ip-truncated',
        `IPv6 payload of ${payloadLength} bytes, ${limit - at - 40} captured`,
      );
    let next = data[at + 6]!;
    let offset = at + 40;
    // Extension headers: hop-by-hop, routing, destination options; fragments are counted.
    for (;;) {
      if (next === 0 || next === 43 || next === 60) {
        if (end < offset + 8) return err('ip-truncated', 'IPv6 extension header cut short');
        const len = (data[offset + 1]! + 1) * 8;
        next = data[offset]!;
        offset += len;
        if (offset > end) return err('ip-bad-header', 'IPv6 extension header past the payload');
        continue;
      }
      if (next === 44) return err('ip-fragment', 'fragmented IPv6 datagram');
      break;
    }
    if (next !== 6 && next !== 17) return IGNORED;
    const src = formatIpBytes(data, at + 8, 16)!;
    const dst = formatIpBytes(data, at + 24, 16)!;
    return this.transport(ts, next, src, dst, data, offset, end);
  }

  private transport(
    ts: number,
    protocol: number,
    src: string,
    dst: string,
    data: Buffer,
    at: number,
    end: number,
  ): PacketResult {
    const segLength = end - at;
    const udp = protocol === 17;
    if (segLength < (udp ? 8 : 20))
      return udp
        ? err('udp-truncated', 'UDP header cut short')
        : err('tcp-truncated', 'TCP header cut short');
    const srcPort = data.readUInt16BE(at);
    const dstPort = data.readUInt16BE(at + 2);
    if (!this.dnsPorts.has(srcPort) && !this.dnsPorts.has(dstPort)) return IGNORED;
    let payloadStart: number;
    let payloadEnd: number;
    let seq = 0;
    let flags = 0;
    if (udp) {
      const length = data.readUInt16BE(at + 4);
      if (length < 8 || length > segLength)
        return err('udp-truncated', `UDP length ${length}, ${segLength} bytes present`);
      payloadStart = at + 8;
      payloadEnd = at + length;
    } else {
      const dataOffset = (data[at + 12]! >> 4) * 4;
      if (dataOffset < 20 || dataOffset > segLength)
        return err('tcp-truncated', `TCP data offset ${dataOffset}`);
      payloadStart = at + dataOffset;
      payloadEnd = end;
      seq = data.readUInt32BE(at + 4);
      flags = data[at + 13]!;
    }
    return {
      kind: 'dns',
      segment: {
        ts,
        src,
        srcPort,
        dst,
        dstPort,
        protocol: udp ? 'udp' : 'tcp',
        data,
        start: payloadStart,
        end: payloadEnd,
        seq,
        syn: (flags & 0x02) !== 0,
        fin: (flags & 0x01) !== 0,
        rst: (flags & 0x04) !== 0,
      },
    };
  }
}
