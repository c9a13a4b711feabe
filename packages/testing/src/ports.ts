import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

/** A port free for both TCP and UDP on 127.0.0.1, from the high range (nameservers need both). */
export async function freePort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = 20_000 + Math.floor(Math.random() * 40_000);
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
