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

/**
 * The authoritative answer for an event with an rcode: the header, the question and `ancount`
 * A records (their data is not what matters: NOERROR with none is NODATA).
 */
export function encodeResponse(e: QueryEvent): Buffer {
  const answers = Array.from({ length: e.ancount ?? 0 }, () => ({
    type: 'A' as const,
    name: e.qname,
    ttl: 300,
    data: '192.0.2.1',
  }));
  const wire = dnsPacket.encode({
    type: 'response',
    id: e.id,
    flags: dnsPacket.AUTHORITATIVE_ANSWER | ((e.rcode ?? 0) & 0xf),
    questions: [{ type: 'A', class: 'IN', name: e.qname }],
    answers,
  });
  return withQtype(wire, e);
}
