import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * The ports to pick from: 20000 up to the kernel's ephemeral range. A port inside that range can
 * be free when checked and taken a moment later by any outgoing connection (a Kafka or Redis
 * client) before the service under test listens on it: EADDRINUSE, a flaky test.
 */
export function testPortRange(): [number, number] {
  let ephemeralFrom = 32_768;
  try {
    const [from] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
    if (from !== undefined && Number.isInteger(from) && from > 1024) ephemeralFrom = from;
  } catch {
    // Not Linux: keep the IANA default's start.
  }
  // Below the ephemeral range when there is room for it, else the old high range.
  return ephemeralFrom - 20_000 >= 4_096 ? [20_000, ephemeralFrom] : [20_000, 60_000];
}

/** A port free for both TCP and UDP on 127.0.0.1, outside the ephemeral range (nameservers need both). */
export async function freePort(): Promise<number> {
  const [from, to] = testPortRange();
  for (let i = 0; i < 50; i++) {
    const port = from + Math.floor(Math.random() * (to - from));
    const ok = await new Promise<boolean>((resolve) => {
      const t = createServer();
      t.once('error', () => resolve(false));
      t.listen(port, '127.0.0.1', () => {
        const u = createSocket('udp4');
        u.once('error', () => u.close(() => t.close(() => resolve(false))));
        u.bind(port, '127.0.0.1', () => u.close(() => t.close(() => resolve(true))));
      });
    });
    if (ok) return port;
  }
  throw new Error('no free TCP+UDP port on 127.0.0.1 after 50 tries');
}
