import { SluiceError } from '@sluice/contracts';
import { loadReputationConfig } from './reputation.config';

describe('loadReputationConfig', () => {
  it('has working defaults', () => {
    const c = loadReputationConfig({});
    expect(c.REPUTATION_HALF_LIFE_MS).toBe(600_000);
    // Safe to enforce by default: offenders get the zone guard, resolvers and networks are never
    // blocked outright, and replays of old captures run on their own event clock.
    expect(c.BLOCK_ACTION_RESOLVER_ZONE).toBe('guard');
    expect(c.BLOCK_OUTRIGHT_NETWORKS).toBe(false);
    expect(c.BLOCK_OUTRIGHT_RESOLVERS).toBe(false);
    expect(c.GUARD_ENABLED).toBe(true);
    expect(c.REPUTATION_CLOCK).toBe('auto');
    expect(c.BLOCK_SHADOW).toEqual(new Set());
    expect(c.DNSDIST_PREFIX_V4).toEqual([24]);
    expect(c.RPZ_TSIG_KEYS).toEqual([]);
  });

  it('bounds Redis with caps an operator sets, each refused by name when unusable', () => {
    const c = loadReputationConfig({});
    expect(c.REPUTATION_MAX_SUBJECTS).toBe(200_000);
    expect(c.REPUTATION_MAX_MEMBERS).toBe(1000);
    expect(() => loadReputationConfig({ REPUTATION_MAX_SUBJECTS: '500' })).toThrow(
      /REPUTATION_MAX_SUBJECTS.*1000/,
    );
    expect(() =>
      loadReputationConfig({ REPUTATION_MAX_MEMBERS: '4', REPUTATION_ROLLUP_MIN_RESOLVERS: '5' }),
    ).toThrow(/REPUTATION_MAX_MEMBERS.*REPUTATION_ROLLUP_MIN_RESOLVERS/);
    expect(loadReputationConfig({ REPUTATION_MAX_MEMBERS: '5' }).REPUTATION_MAX_MEMBERS).toBe(5);
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

  it('parses shadow kinds and zone files', () => {
    const c = loadReputationConfig({
      BLOCK_SHADOW: 'zone, prefix-zone',
      GUARD_ZONE_FILES: 'Example.COM.=/etc/nsd/example.com.zone',
    });
    expect(c.BLOCK_SHADOW).toEqual(new Set(['zone', 'prefix-zone']));
    expect(c.GUARD_ZONE_FILES).toEqual([
      { zone: 'example.com', path: '/etc/nsd/example.com.zone' },
    ]);
    expect(loadReputationConfig({ BLOCK_SHADOW: 'true' }).BLOCK_SHADOW.size).toBe(7);
  });

  it('refuses a guard action when guards are off, naming the setting', () => {
    expect(() => loadReputationConfig({ GUARD_ENABLED: 'false' })).toThrow(
      /BLOCK_ACTION_RESOLVER_ZONE/,
    );
    expect(
      loadReputationConfig({
        GUARD_ENABLED: 'false',
        BLOCK_ACTION_RESOLVER_ZONE: 'refused',
        BLOCK_ACTION_PREFIX_ZONE: 'refused',
        BLOCK_ACTION_ASN_ZONE: 'refused',
      }).GUARD_ENABLED,
    ).toBe(false);
  });

  it.each([
    ['ALLOWLIST_NETWORKS', '10.0.0.0/33'],
    ['ALLOWLIST_ASNS', 'google'],
    ['BLOCK_ACTION_RESOLVER', 'blackhole'],
    ['RPZ_TSIG_KEYS', 'no-secret'],
    ['REPUTATION_CLOCK', 'sundial'],
    ['DNSDIST_PREFIX_V4', '40'],
    ['BLOCK_THRESHOLD_PREFIX', '101'],
    ['BLOCK_ACTION_RESOLVER', 'guard'],
    ['BLOCK_SHADOW', 'zone,everything'],
    ['REPUTATION_MAX_PREFIX_V4', '16'],
    ['REPUTATION_MAX_PREFIX_V6', '32'],
    ['GUARD_ACTION', 'guard'],
    ['GUARD_MAX_LEAK_SHARE', '2'],
    ['GUARD_ZONE_FILES', 'example.com'],
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
