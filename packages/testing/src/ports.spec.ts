import { readFileSync } from 'node:fs';
import { freePort, testPortRange } from './ports';

describe('freePort', () => {
  it('picks ports below the kernel ephemeral range (a client socket cannot take them first)', async () => {
    const ephemeralFrom = Number(
      readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0],
    );
    const [from, to] = testPortRange();
    expect(to).toBeLessThanOrEqual(ephemeralFrom);
    for (let i = 0; i < 20; i++) {
      const port = await freePort();
      expect(port).toBeGreaterThanOrEqual(from);
      expect(port).toBeLessThan(ephemeralFrom);
    }
  });
});
