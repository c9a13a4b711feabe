import * as dnsPacket from 'dns-packet';
import { normaliseName } from '@sluice/dns';

/**
 * Reads an AXFR answer (RFC 5936): the messages' answer records, from the first SOA to the
 * closing SOA. Returns the owner names once complete, or null while more messages are needed.
 * Throws on a refusal or a malformed message, saying which.
 */
export class AxfrNameCollector {
  private readonly names = new Set<string>();
  private soas = 0;

  /** Keeps at most `cap` + 1 names (enough to know the list was truncated); reads to the end. */
  constructor(
    private readonly zone: string,
    private readonly cap = Infinity,
  ) {}

  /** Feeds one DNS message (without the TCP length prefix). */
  add(message: Buffer): string[] | null {
    let packet: dnsPacket.Packet;
    try {
      packet = dnsPacket.decode(message);
    } catch (cause) {
      throw new Error(`AXFR of ${this.zone}: malformed message`, { cause });
    }
    const rcode = (packet as { rcode?: string }).rcode ?? 'NOERROR';
    if (rcode !== 'NOERROR')
      throw new Error(`AXFR of ${this.zone} refused by the primary: ${rcode}`);
    for (const a of packet.answers ?? []) {
      if (a.type === 'SOA') this.soas++;
      if (a.type === 'TSIG') continue;
      if (this.names.size <= this.cap) this.names.add(normaliseName(a.name));
      if (this.soas === 2) return [...this.names];
    }
    if (this.soas === 0)
      throw new Error(`AXFR of ${this.zone}: the answer does not start with a SOA`);
    return null;
  }
}

/** The AXFR query for a zone (signed by the caller when a TSIG key is configured). */
export function axfrQuery(zone: string, id: number): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id,
    flags: 0,
    questions: [{ type: 'AXFR', name: normaliseName(zone), class: 'IN' }],
  });
}
