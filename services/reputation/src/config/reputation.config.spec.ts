import { SluiceError } from '@sluice/contracts';
import { loadReputationConfig } from './reputation.config';

describe('loadReputationConfig', () => {
  it('has working defaults', () => {
    const c = loadReputationConfig({});
    expect(c.REPUTATION_HALF_LIFE_MS).toBe(600_000);
    expect(c.BLOCK_ACTION_RESOLVER_ZONE).toBe('refused');
    expect(c.DNSDIST_PREFIX_V4).toEqual([24]);
    expect(c.RPZ_TSIG_KEYS).toEqual([]);
  });

  it('parses lists: ASNs, TSIG keys, networks', () => {
    const c = loadReputationConfig({
      ALLOWLIST_ASNS: 'AS15169, 13335',
      RPZ_TSIG_KEYS: 'k1:c2VjcmV0',
      ALLOWLIST_NETWORKS: '192.0.2.0/24,2001:db8::/32,8.8.8.8',
      DNSDIST_PREFIX_V4: '24,16',
    });
    expect(c.ALLOWLIST_ASNS).toEqual([15169, 13335]);
    expect(c.RPZ_TSIG_KEYS).toEqual([{ name: 'k1', secret: 'c2VjcmV0' }]);
    expect(c.DNSDIST_PREFIX_V4).toEqual([24, 16]);
  });

  it.each([
    ['ALLOWLIST_NETWORKS', '10.0.0.0/33'],
    ['ALLOWLIST_ASNS', 'google'],
    ['BLOCK_ACTION_RESOLVER', 'blackhole'],
    ['RPZ_TSIG_KEYS', 'no-secret'],
    ['REPUTATION_CLOCK', 'sundial'],
    ['DNSDIST_PREFIX_V4', '40'],
    ['BLOCK_THRESHOLD_PREFIX', '101'],
  ])('names the bad variable %s', (name, value) => {
    let error: unknown;
    try {
      loadReputationConfig({ [name]: value });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SluiceError);
    expect((error as Error).message).toContain(name);
  });
});
