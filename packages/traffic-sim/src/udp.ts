import { createSocket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { type QueryEvent } from '@sluice/contracts';
import { encodeQuery } from './wire';

export interface SendUdpOptions {
  host: string;
  port: number;
  /** Replay speed against event time: 1 = real time, 10 = ten times faster, 0 = as fast as possible. */
  speed?: number;
  /** Called every 1000 packets with the count so far. */
  onProgress?: (sent: number) => void;
}

/**
 * Send each event's query as one UDP datagram to host:port (e.g. a nameserver or the ingest's
 * mirror listener). The source address is this host's: only pcap output keeps the resolver address.
 */
export async function sendUdp(
  events: Iterable<QueryEvent>,
  options: SendUdpOptions,
): Promise<number> {
  const socket = createSocket(isIPv6(options.host) ? 'udp6' : 'udp4');
  const speed = options.speed ?? 1;
  const wallStart = performance.now();
  let firstTs: number | null = null;
  let sent = 0;
  try {
    for (const e of events) {
      firstTs ??= e.ts;
      if (speed > 0) {
        const due = (e.ts - firstTs) / speed - (performance.now() - wallStart);
        if (due > 2) await new Promise((r) => setTimeout(r, due));
      }
      const payload = encodeQuery(e);
      await new Promise<void>((resolve, reject) =>
        socket.send(payload, options.port, options.host, (err) => (err ? reject(err) : resolve())),
      );
      sent++;
      if (sent % 1000 === 0) options.onProgress?.(sent);
    }
  } finally {
    socket.close();
  }
  return sent;
}
