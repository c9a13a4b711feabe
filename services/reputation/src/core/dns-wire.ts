import * as dnsPacket from 'dns-packet';

/**
 * dns-packet.decode with the header counts capped to what the message could hold (the same
 * guard as the ingest's decodeDnsPacket). dns-packet allocates an array per count before reading
 * a record: a 12-byte datagram announcing 65,535 of each costs ~2.5 ms of the service's event
 * loop. A question takes at least 5 bytes and a record 11, so a larger count fails inside the
 * capped entries anyway: same result, error included, at a fraction of the cost.
 */
export function decodeDnsPacket(buf: Buffer): dnsPacket.DecodedPacket {
  if (buf.length < 12) return dnsPacket.decode(buf);
  const room = buf.length - 12;
  let capped: Buffer | null = null;
  for (let i = 0; i < 4; i++) {
    const cap = Math.floor(room / (i === 0 ? 5 : 11)) + 1;
    if (buf.readUInt16BE(4 + 2 * i) > cap)
      (capped ??= Buffer.from(buf)).writeUInt16BE(cap, 4 + 2 * i);
  }
  return dnsPacket.decode(capped ?? buf);
}
