import { formatIp } from './ip';
import { ipBytes } from '@sluice/traffic-sim';

describe('formatIp', () => {
  it.each([
    '192.0.2.1',
    '2001:db8::1',
    '::1',
    '::',
    'fe80::1:0:0:2',
    '2001:db8:0:1:1:1:1:1',
    '::ffff:192.0.2.7',
  ])('round-trips %s', (ip) => {
    expect(formatIp(ipBytes(ip))).toBe(ip);
  });

  it('rejects other lengths', () => {
    expect(formatIp(Buffer.alloc(5))).toBeNull();
  });
});
