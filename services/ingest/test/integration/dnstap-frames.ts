import * as dnsPacket from 'dns-packet';
import { ipBytes } from '@sluice/traffic-sim';
import { encodeDnstap } from '../../src/core/dnstap';

/**
 * One AUTH_QUERY dnstap frame, unique per (sender, i): resolver 10.0.<sender>.1, qname
 * n<i>.s<sender>.victim.example — a consumer can tell exactly which frames of a sender arrived.
 */
export function authQuery(sender: number, i: number): Buffer {
  return encodeDnstap({
    type: 1,
    identity: `sender-${sender}`,
    socketFamily: 1,
    socketProtocol: 1,
    queryAddress: ipBytes(`10.0.${sender >> 8}.${sender & 255}`),
    queryPort: 1000 + (i % 60_000),
    queryTimeSec: 1_700_000_000 + Math.floor(i / 1000),
    queryTimeNsec: (i % 1000) * 1000,
    queryMessage: dnsPacket.encode({
      type: 'query',
      id: i & 0xffff,
      flags: dnsPacket.RECURSION_DESIRED,
      questions: [{ type: 'A', name: `n${i}.s${sender}.victim.example` }],
    }),
  });
}

/** The sender and frame index of a record made from authQuery (null for anything else). */
export function senderOf(qname: string): { sender: number; i: number } | null {
  const m = /^n(\d+)\.s(\d+)\.victim\.example$/.exec(qname);
  return m ? { sender: Number(m[2]), i: Number(m[1]) } : null;
}
