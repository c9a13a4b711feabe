import { loadReputationConfig } from '../config/reputation.config';
import { ClientAllowlist } from './client-allowlist';

describe('ClientAllowlist (RPZ_XFR_ALLOW)', () => {
  const list = new ClientAllowlist(['192.0.2.0/28', '2001:db8::/64', '127.0.0.1']);

  it.each([
    ['192.0.2.1', true],
    ['192.0.2.15', true],
    ['192.0.2.16', false],
    ['::ffff:192.0.2.3', true],
    ['2001:db8::53', true],
    ['2001:db8:0:1::53', false],
    ['127.0.0.1', true],
    ['127.0.0.2', false],
    ['', false],
    ['not-an-address', false],
  ])('%s → %s', (address, allowed) => {
    expect(list.allows(address)).toBe(allowed);
  });

  it('allows nothing when empty', () => {
    expect(new ClientAllowlist([]).allows('127.0.0.1')).toBe(false);
  });
});

describe('RPZ security settings', () => {
  const base = { KAFKA_BROKERS: '127.0.0.1:9092' };
  const error = (env: Record<string, string>): string => {
    try {
      loadReputationConfig({ ...base, ...env });
      return '';
    } catch (e) {
      return (e as Error).message;
    }
  };

  it('defaults to loopback clients, 400 records and 16 KiB a message', () => {
    const c = loadReputationConfig(base);
    expect(c.RPZ_XFR_ALLOW).toEqual(['127.0.0.0/8', '::1']);
    expect(c.RPZ_XFR_MAX_RECORDS).toBe(400);
    expect(c.RPZ_XFR_MAX_MESSAGE_BYTES).toBe(16_384);
  });

  it.each([
    ['RPZ_XFR_ALLOW', 'everyone'],
    ['RPZ_XFR_ALLOW', '10.0.0.0/33'],
    ['RPZ_XFR_MAX_RECORDS', '0'],
    ['RPZ_XFR_MAX_MESSAGE_BYTES', '512'],
    ['RPZ_XFR_MAX_MESSAGE_BYTES', '70000'],
  ])('stops on %s=%s naming it', (name, value) => {
    expect(error({ [name]: value })).toContain(`${name}:`);
  });

  it('refuses a NOTIFY target the allowlist would refuse the transfer', () => {
    expect(error({ RPZ_NOTIFY: '192.0.2.53:53' })).toContain(
      'RPZ_NOTIFY: 192.0.2.53:53 is outside RPZ_XFR_ALLOW',
    );
    expect(error({ RPZ_NOTIFY: '192.0.2.53:53', RPZ_XFR_ALLOW: '192.0.2.0/24' })).toBe('');
    // host names are resolved when sent: not checked here
    expect(error({ RPZ_NOTIFY: 'ns2.example:53' })).toBe('');
  });
});
