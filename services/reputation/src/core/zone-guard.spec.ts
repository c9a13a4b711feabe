import { type Alert, type BlocklistEntry, type KnownNames } from '@sluice/contracts';
import { readCdb } from './cdb';
import {
  dnsdistConfigLua,
  dnsdistGuardCdb,
  dnsdistGuardKv,
  dnsdistKv,
  wireName,
} from './dnsdist-kv';
import { renderDnsdistLua, textLine, toDecision } from './render';
import { rpzRecordsByZone } from './rpz';
import { decideGuard, guardChanged, type GuardSettings } from './zone-guard';
import { zoneFileNames } from './zone-file';

const cfg: GuardSettings = {
  enabled: true,
  action: 'refused',
  actionWithZoneData: 'nxdomain',
  holdMs: 60_000,
  staleMs: 30_000,
  allMinQps: 50,
  maxLeakShare: 0.05,
  maxNames: 100,
  shadow: false,
  allowZones: ['rum.victim.test', 'other.test'],
};

const alert = (phase: Alert['phase'], over: Partial<Alert> = {}): Alert =>
  ({
    v: 1,
    alertId: 'victim.test@1000',
    zone: 'victim.test',
    phase,
    onset: 1000,
    at: 3000,
    endedAt: phase === 'ended' ? 90_000 : null,
    qps: 2000,
    excessQps: 1900,
    neverSeenQps: 1950,
    ...over,
  }) as Alert;

const names = (list: string[], alertId = 'victim.test@1000'): KnownNames => ({
  v: 1,
  zone: 'victim.test',
  alertId,
  asOf: 1000,
  names: list,
  truncated: false,
});

describe('decideGuard', () => {
  it('waits for the known names: a guard without them would refuse the whole zone', () => {
    expect(
      decideGuard(
        { alert: alert('started'), names: null, zoneData: null, leak: null },
        null,
        5,
        cfg,
      ),
    ).toBeNull();
    // Names of another alert do not count either.
    const stale = names(['www.victim.test'], 'victim.test@1');
    expect(
      decideGuard(
        { alert: alert('started'), names: stale, zoneData: null, leak: null },
        null,
        5,
        cfg,
      ),
    ).toBeNull();
  });

  it('guards every client at once when the flood is large (nothing is scoped per resolver yet)', () => {
    const g = decideGuard(
      {
        alert: alert('started'),
        names: names(['www.victim.test', 'elsewhere.test']),
        zoneData: null,
        leak: null,
      },
      null,
      5000,
      cfg,
    )!;
    expect(g.id).toBe('g:victim.test');
    expect(g.scope).toEqual({ kind: 'zone', zone: 'victim.test' });
    expect(g.action).toBe('refused');
    expect(g.guard).toMatchObject({
      appliesTo: 'all',
      // The apex always; names outside the zone never.
      knownNames: ['victim.test', 'www.victim.test'],
      allowedSubtrees: ['rum.victim.test'],
      sources: ['traffic'],
      alertEndedAt: null,
    });
    expect(g.createdAt).toBe(5000);
    expect(g.expiresAt).toBe(5000 + 60_000);
  });

  it('keeps to offending resolvers for a small flood, widens when they leak, never narrows', () => {
    const small = alert('started', { excessQps: 20, neverSeenQps: 20 });
    const first = decideGuard(
      { alert: small, names: names([]), zoneData: null, leak: null },
      null,
      5000,
      cfg,
    )!;
    expect(first.guard!.appliesTo).toBe('offenders');
    const covered = decideGuard(
      { alert: small, names: names([]), zoneData: null, leak: { qps: 60, share: 0.02 } },
      first,
      6000,
      cfg,
    )!;
    expect(covered.guard!.appliesTo).toBe('offenders');
    const leaking = decideGuard(
      { alert: small, names: names([]), zoneData: null, leak: { qps: 60, share: 0.4 } },
      covered,
      7000,
      cfg,
    )!;
    expect(leaking.guard!.appliesTo).toBe('all');
    expect(leaking.createdAt).toBe(5000);
    const later = decideGuard(
      { alert: small, names: names([]), zoneData: null, leak: { qps: 0, share: 0 } },
      leaking,
      8000,
      cfg,
    )!;
    expect(later.guard!.appliesTo).toBe('all');
  });

  it('follows the alert: ended → holds for holdMs, and an ended alert never starts a guard', () => {
    const on = decideGuard(
      { alert: alert('started'), names: names(['www.victim.test']), zoneData: null, leak: null },
      null,
      5000,
      cfg,
    )!;
    const off = decideGuard(
      { alert: alert('ended'), names: null, zoneData: null, leak: null },
      on,
      90_000,
      cfg,
    )!;
    expect(off.guard!.alertEndedAt).toBe(90_000);
    expect(off.guard!.knownNames).toEqual(on.guard!.knownNames);
    expect(off.expiresAt).toBe(90_000 + 60_000);
    expect(guardChanged(on, off, 1000)).toBe(true);
    expect(
      decideGuard(
        { alert: alert('ended'), names: names([]), zoneData: null, leak: null },
        null,
        5,
        cfg,
      ),
    ).toBeNull();
  });

  it('merges the zone file with the traffic, caps the list and says so', () => {
    const g = decideGuard(
      {
        alert: alert('started'),
        names: names(['www.victim.test']),
        zoneData: {
          source: 'zone-file:/z',
          names: ['mail.victim.test', 'a.victim.test', 'b.victim.test'],
        },
        leak: null,
      },
      null,
      0,
      { ...cfg, maxNames: 3 },
    )!;
    expect(g.guard!.knownNames).toEqual(['victim.test', 'mail.victim.test', 'a.victim.test']);
    expect(g.guard!.namesTruncated).toBe(true);
    expect(g.guard!.sources).toEqual(['traffic', 'zone-file:/z']);
    // With the zone's own data every name it has is known: unknown names do not exist.
    expect(g.action).toBe('nxdomain');
  });

  it('zone data: wildcards become subtrees that pass, empty non-terminals are known', () => {
    const g = decideGuard(
      {
        alert: alert('started'),
        names: null,
        zoneData: { source: 'axfr:x', names: ['*.wild.victim.test', 'deep.sub.victim.test'] },
        leak: null,
      },
      null,
      0,
      cfg,
    )!;
    expect(g.guard!.knownNames).toEqual(['victim.test', 'deep.sub.victim.test', 'sub.victim.test']);
    expect(g.guard!.allowedSubtrees).toEqual(['rum.victim.test', 'wild.victim.test']);
  });

  it('is off when disabled, shadow when asked', () => {
    const input = { alert: alert('started'), names: names([]), zoneData: null, leak: null };
    expect(decideGuard(input, null, 0, { ...cfg, enabled: false })).toBeNull();
    expect(decideGuard(input, null, 0, { ...cfg, shadow: true })!.shadow).toBe(true);
  });
});

const guard = decideGuard(
  {
    alert: alert('started'),
    names: names(['www.victim.test', 'Api.Victim.Test', 'beacon.rum.victim.test']),
    zoneData: null,
    leak: null,
  },
  null,
  0,
  cfg,
)!;
const guardClient: BlocklistEntry = {
  v: 1,
  id: 'rz:127.0.0.9|victim.test',
  scope: { kind: 'resolver-zone', resolver: '127.0.0.9', zone: 'victim.test' },
  action: 'guard',
  reason: 'r',
  score: 80,
  createdAt: 0,
  expiresAt: 60_000,
  shadow: false,
};

describe('zone guard outputs', () => {
  it('dnsdist: zone (wire) → scope:action, subtrees → pass, known names (text) → 1', () => {
    const kv = new Map(
      dnsdistGuardKv([guard]).map(([k, v]) => [k.toString('latin1'), v.toString()]),
    );
    expect(kv.get(wireName('victim.test').toString('latin1'))).toBe('all:refused');
    expect(wireName('WWW.Victim.Test.')).toEqual(
      Buffer.from('\x03www\x06victim\x04test\x00', 'latin1'),
    );
    expect(kv.get(wireName('rum.victim.test').toString('latin1'))).toBe('pass');
    expect(kv.get('www.victim.test')).toBe('1');
    expect(kv.get('api.victim.test')).toBe('1');
    expect(kv.get('victim.test')).toBe('1');
    // Shadow guards are published, never enforced.
    expect(dnsdistGuardKv([{ ...guard, shadow: true }])).toEqual([]);
  });

  it('dnsdist: guard clients are listed for the offenders-only guard rules', () => {
    const kv = dnsdistKv([guardClient], { v4: [24], v6: [48] });
    expect([...kv.values()]).toEqual(['victim.test guard']);
    const lua = dnsdistConfigLua({
      clientsCdbPath: '/c.cdb',
      guardCdbPath: '/g.cdb',
      v4: [24],
      v6: [48],
    });
    expect(lua).toContain('KeyValueLookupKeySuffix(0, true), "sluice.zone"');
    expect(lua).toContain('TagRule("sluice.zone", "all:refused"), TagRule("sluice.known", "")');
    expect(lua).toContain(
      'KeyValueStoreLookupRule(sluiceClients, KeyValueLookupKeySourceIP(24, 48))',
    );
    // Lua only for listed clients (and a NOTIFY from Sluice), never for every query.
    expect(lua).not.toMatch(/addAction\(AllRule\(\), LuaAction/);
    expect(lua).toContain('sluiceNotifiers:addMask("127.0.0.0/8")');
    expect(lua).toContain('OpcodeRule(DNSOpcode.Notify), NetmaskGroupRule(sluiceNotifiers)');
    expect(lua).toContain('RCodeAction(DNSRCode.NXDOMAIN, {aa=true})');
    const opts = { clientsCdbPath: '/c', guardCdbPath: '/g', v4: [], v6: [] };
    const elsewhere = dnsdistConfigLua({ ...opts, notifyFrom: ['10.0.0.0/8'] });
    expect(elsewhere).toContain('sluiceNotifiers:addMask("10.0.0.0/8")');
    expect(elsewhere).not.toContain('127.0.0.0/8');
    expect(dnsdistConfigLua({ ...opts, notifyFrom: [] })).not.toContain('OpcodeRule');
  });

  it('RPZ: passthru per known name plus its own wildcard, zone wildcard, subtrees pass; guard clients no trigger', () => {
    const zones = rpzRecordsByZone([guard, guardClient], 'rpz.sluice');
    const records = zones.get('victim.test.rpz.sluice')!.map((r) => `${r.name} ${r.target}`);
    const at = (n: string) => `${n}.victim.test.rpz.sluice`;
    expect(records).toEqual(
      expect.arrayContaining([
        `${at('victim.test')} rpz-passthru.`,
        `${at('*.victim.test')} rpz-drop.`,
        `${at('www.victim.test')} rpz-passthru.`,
        `${at('*.www.victim.test')} rpz-drop.`,
        `${at('api.victim.test')} rpz-passthru.`,
        `${at('rum.victim.test')} rpz-passthru.`,
        `${at('*.rum.victim.test')} rpz-passthru.`,
      ]),
    );
    expect(records).toHaveLength(8);
    expect(records.some((r) => r.includes('rpz-client-ip'))).toBe(false);
  });

  it('feed: a ZoneGuard decision a bouncer can act on, and zone-scoped client decisions', () => {
    expect(toDecision(guard, 0)).toMatchObject({
      scope: 'ZoneGuard',
      value: 'victim.test',
      zone: 'victim.test',
      type: 'refused',
      guard: { appliesTo: 'all', knownNames: guard.guard!.knownNames },
    });
    expect(toDecision(guardClient, 0)).toMatchObject({
      scope: 'IpZone',
      value: '127.0.0.9 victim.test',
      type: 'guard',
    });
    expect(textLine(guard)).toMatch(/^refused\tzone\tall:5-known-names\tvictim\.test\t/);
  });

  it('dnsdist Lua snippet: a name set and suffix rule, no Lua per query', () => {
    const lua = renderDnsdistLua([guard, guardClient]);
    expect(lua).toContain('known[1]:add(newDNSName("www.victim.test"))');
    expect(lua).toContain('NotRule(QNameSetRule(known[1]))');
    expect(lua).toContain('NotRule(SuffixMatchNodeRule(pass[1]))');
    expect(lua).toContain('RCodeAction(DNSRCode.REFUSED)');
  });

  it('scales: 150,000 known names render to RPZ without hitting the argument limit', () => {
    const many = Array.from({ length: 150_000 }, (_, i) => `h${i}.victim.test`);
    const big = decideGuard(
      { alert: alert('started'), names: names(many), zoneData: null, leak: null },
      null,
      0,
      { ...cfg, maxNames: 200_000 },
    )!;
    const zones = rpzRecordsByZone([big], 'rpz.sluice');
    expect(zones.get('victim.test.rpz.sluice')!.length).toBe(2 * 150_000 + 2 + 2);
  });

  it('CDB round trip of the guard store', () => {
    const file = dnsdistGuardCdb([guard]);
    expect(readCdb(file, Buffer.from('www.victim.test'))?.toString()).toBe('1');
    expect(readCdb(file, wireName('victim.test'))?.toString()).toBe('all:refused');
    expect(readCdb(file, Buffer.from('zz.victim.test'))).toBeNull();
  });
});

describe('zoneFileNames', () => {
  it('collects owner names: $ORIGIN, @, relative, blank owner, comments, parentheses', () => {
    const text = `$TTL 3600
$ORIGIN victim.test.
@   IN SOA ns1 hostmaster (
        2024010101 ; serial
        3600 600 86400 60 )
    IN NS ns1
ns1 IN A 192.0.2.1
www IN A 192.0.2.2 ; the web
    IN AAAA 2001:db8::2
mail.victim.test. IN MX 10 mx.elsewhere.test.
txt IN TXT "a ; not a comment"
$ORIGIN sub.victim.test.
deep IN A 192.0.2.3
`;
    expect(zoneFileNames(text, 'victim.test').sort()).toEqual(
      [
        'victim.test',
        'ns1.victim.test',
        'www.victim.test',
        'mail.victim.test',
        'txt.victim.test',
        'deep.sub.victim.test',
      ].sort(),
    );
  });

  it('reads dig axfr output (absolute owners)', () => {
    const text = `; <<>> DiG 9.18 <<>> axfr victim.test
victim.test.\t60\tIN\tSOA\tns. h. 1 60 30 86400 60
www.victim.test.\t60\tIN\tA\t192.0.2.80
victim.test.\t60\tIN\tSOA\tns. h. 1 60 30 86400 60
`;
    expect(zoneFileNames(text, 'victim.test')).toEqual(['victim.test', 'www.victim.test']);
  });
});
