import { isIPv4, isIPv6 } from 'node:net';
import * as dnsPacket from 'dns-packet';
import { type QueryEvent } from '@sluice/contracts';

/** Wire length of an uncompressed name (labels + length bytes + root). */
function nameLength(name: string): number {
  return name === '' ? 1 : Buffer.byteLength(name) + 2;
}

/**
 * dns-packet only knows named types (no HTTPS, no TYPEnnn), so the question is encoded as A and
 * its QTYPE field overwritten: any numeric qtype survives, exactly as on the wire.
 */
function withQtype(wire: Buffer, e: QueryEvent): Buffer {
  wire.writeUInt16BE(e.qtype, 12 + nameLength(e.qname));
  return wire;
}

/** DNS wire bytes of the query an event describes (dns-packet, so the encoding is standard). */
export function encodeQuery(e: QueryEvent): Buffer {
  const wire = dnsPacket.encode({
    type: 'query',
    id: e.id,
    flags: (e.rd ? dnsPacket.RECURSION_DESIRED : 0) | (e.cd ? dnsPacket.CHECKING_DISABLED : 0),
    questions: [{ type: 'A', class: 'IN', name: e.qname }],
    additionals:
      e.ednsSize === null
        ? []
        : [
            {
              type: 'OPT',
              name: '.',
              udpPayloadSize: e.ednsSize,
              extendedRcode: 0,
              ednsVersion: 0,
              flags: e.do ? dnsPacket.DNSSEC_OK : 0,
              flag_do: e.do,
              options: [],
            },
          ],
  });
  return withQtype(wire, e);
}

/** The authoritative answer header for an event with an rcode (no records: enough for rcode analysis). */
export function encodeResponse(e: QueryEvent): Buffer {
  const wire = dnsPacket.encode({
    type: 'response',
    id: e.id,
    flags: dnsPacket.AUTHORITATIVE_ANSWER | ((e.rcode ?? 0) & 0xf),
    questions: [{ type: 'A', class: 'IN', name: e.qname }],
  });
  return withQtype(wire, e);
}

export function ipv4Bytes(ip: string): Buffer {
  if (!isIPv4(ip)) throw new RangeError(`not an IPv4 address: ${ip}`);
  return Buffer.from(ip.split('.').map(Number));
}

export function ipv6Bytes(ip: string): Buffer {
  if (!isIPv6(ip)) throw new RangeError(`not an IPv6 address: ${ip}`);
  const [head = '', tail] = ip.split('::');
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((h) => parseInt(h, 16)));
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  const groups = [...left, ...Array<number>(8 - left.length - right.length).fill(0), ...right];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}
