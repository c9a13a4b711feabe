import * as dnsPacket from 'dns-packet';

/**
 * dns-packet.decode, refusing up front a header that announces many more questions and records
 * than the message can hold (a question takes at least 5 bytes, a record 11) — the guard the
 * ingest's decoder has. dns-packet allocates an array per count before reading anything: a
 * 12-byte datagram announcing 65,535 of each cost ~2.5 ms of the event loop the Kafka consumer
 * and the HTTP feed share, and failed anyway.
 */
export function decodeDnsPacket(buf: Buffer): dnsPacket.DecodedPacket {
  if (buf.length >= 12) {
    const qd = buf.readUInt16BE(4);
    const rr = buf.readUInt16BE(6) + buf.readUInt16BE(8) + buf.readUInt16BE(10);
    if (qd + rr > 64 && qd * 5 + rr * 11 > buf.length - 12)
      throw new Error('the header counts more questions and records than the message holds');
  }
  return dnsPacket.decode(buf);
}
