import * as dnsPacket from 'dns-packet';
import { type BlocklistEntry } from '@sluice/contracts';
import { decayFactor, decayTo, fold, type Decayed } from './decay';
import { scoreOf, subjectKinds, type ScoringConfig, type SubjectState } from './scoring';
import { BlockPolicy, overCap, type PolicyConfig, type SubjectContext } from './policy';
import { readCdb, writeCdb } from './cdb';
import { dnsdistKv } from './dnsdist-kv';
import { renderDnsdistLua, renderRpz, renderText, toDecision, goDuration } from './render';
import { RpzZoneSet } from './rpz-zones';
import { testPolicyConfig } from '../../test/fixtures/policy';
import { answerRequest, buildNotify } from './xfr';
import { findTsig, signMessage, verifyMessage, type TsigKey } from './tsig';

const HL = 60_000;
const scoring: ScoringConfig = {
  halfLifeMs: HL,
  minAttackQueries: 100,
  rollupMinResolvers: 3,
  resolverMinZones: 2,
};
const policyCfg: PolicyConfig = testPolicyConfig({
  ...scoring,
  entryTtlMs: 300_000,
  maxEntries: 1000,
  allowNetworks: ['192.0.2.0/24'],
  allowAsns: [64999],
  allowZones: ['rum.example'],
});
const ctx = (over: Partial<SubjectContext> = {}): SubjectContext => ({
  resolver: '198.51.100.7',
  zone: 'victim.example',
  prefix: '198.51.100.0/24',
  asn: 64500,
  asOrg: 'EXAMPLE-ISP',
  resolverKind: 'isp',
  resolverOperator: null,
  alertId: 'alert-1',
  ...over,
});
const state = (
  attack: number,
  total: number,
  members = 1,
  protectedInside = false,
): SubjectState => ({
  attack,
  total,
  ts: 1_000_000,
  members,
  protectedInside,
});

describe('decay', () => {
  it('halves after one half-life', () => {
    expect(decayFactor(HL, HL)).toBeCloseTo(0.5);
    expect(decayTo({ attack: 100, total: 200, ts: 0 }, 2 * HL, HL).attack).toBeCloseTo(25);
  });

  it('folds contributions the same in any order (late records count as of their event time)', () => {
    const obs: Array<[number, number, number]> = [
      [10, 20, 0],
      [30, 30, 45_000],
      [5, 50, 10_000],
      [70, 80, 200_000],
    ];
    const inOrder = [...obs]
      .sort((a, b) => a[2] - b[2])
      .reduce((s, [a, t, ts]) => fold(s, a, t, ts, HL), null as Decayed | null)!;
    const shuffled = [obs[3]!, obs[1]!, obs[0]!, obs[2]!].reduce(
      (s, [a, t, ts]) => fold(s, a, t, ts, HL),
      null as Decayed | null,
    )!;
    expect(shuffled.ts).toBe(200_000);
    expect(shuffled.attack).toBeCloseTo(inOrder.attack, 9);
    expect(shuffled.total).toBeCloseTo(inOrder.total, 9);
    const direct = obs.reduce((s, [a, , ts]) => s + a * decayFactor(200_000 - ts, HL), 0);
    expect(shuffled.attack).toBeCloseTo(direct, 9);
  });
});

describe('scoring', () => {
  it('uses the attack ratio, so a big mixed resolver scores below a small pure one', () => {
    const bigIsp = scoreOf('resolver-zone', state(5_000, 100_000), 1_000_000, scoring);
    const small = scoreOf('resolver-zone', state(400, 410), 1_000_000, scoring);
    expect(bigIsp.score).toBeCloseTo(5);
    expect(small.score).toBeGreaterThan(95);
  });

  it('needs volume: a handful of attack queries is not confident', () => {
    expect(scoreOf('resolver-zone', state(10, 10), 1_000_000, scoring).score).toBeCloseTo(10);
  });

  it('decays: the score drops once the decayed attack volume falls under the confidence level', () => {
    const s = state(400, 400);
    expect(scoreOf('resolver-zone', s, 1_000_000 + HL, scoring).score).toBe(100);
    expect(scoreOf('resolver-zone', s, 1_000_000 + 4 * HL, scoring).score).toBeCloseTo(25);
  });

  it('rolls up: a prefix needs several offending resolvers', () => {
    expect(scoreOf('prefix', state(1000, 1000, 1), 1_000_000, scoring).score).toBeCloseTo(33.33, 1);
    expect(scoreOf('prefix', state(1000, 1000, 3), 1_000_000, scoring).score).toBe(100);
  });
});

describe('BlockPolicy', () => {
  const policy = new BlockPolicy(policyCfg);
  const now = 1_000_000;

  it('blocks a (resolver, zone) pair above the threshold with an expiry and a readable reason', () => {
    const d = policy.decide(
      { kind: 'resolver-zone', state: state(900, 1000), context: ctx() },
      now,
      null,
    );
    expect(d.entry).toMatchObject({
      id: 'rz:198.51.100.7|victim.example',
      scope: { kind: 'resolver-zone', resolver: '198.51.100.7', zone: 'victim.example' },
      action: 'refused',
      createdAt: now,
      expiresAt: now + 300_000,
      score: 90,
      shadow: false,
    });
    expect(d.entry?.reason).toContain('90% of 1000');
    expect(d.entry?.reason).toContain('alert alert-1');
  });

  it('refresh keeps createdAt and extends the expiry', () => {
    const first = policy.decide(
      { kind: 'resolver-zone', state: state(900, 1000), context: ctx() },
      now,
      null,
    ).entry!;
    const again = policy.decide(
      { kind: 'resolver-zone', state: state(900, 1000), context: ctx() },
      now + 60_000,
      first,
    ).entry!;
    expect(again.createdAt).toBe(now);
    expect(again.expiresAt).toBe(now + 360_000);
  });

  it('never blocks public resolvers outright, only their traffic to the attacked zone', () => {
    const pub = ctx({
      resolver: '8.8.8.8',
      resolverKind: 'mirai-default',
      asn: 15169,
      prefix: '8.8.8.0/24',
    });
    expect(
      policy.decide({ kind: 'resolver', state: state(1000, 1000, 5), context: pub }, now, null)
        .skipped,
    ).toBe('protected-resolver');
    expect(
      policy.decide({ kind: 'resolver-zone', state: state(1000, 1000), context: pub }, now, null)
        .entry?.id,
    ).toBe('rz:8.8.8.8|victim.example');
    expect(
      policy.decide({ kind: 'prefix', state: state(1000, 1000, 5, true), context: pub }, now, null)
        .skipped,
    ).toBe('protected-network');
  });

  it('allowlisted networks and ASNs only get (resolver, zone) entries; allowlisted zones none', () => {
    const allowed = ctx({ resolver: '192.0.2.9', prefix: '192.0.2.0/25' });
    expect(
      policy.decide({ kind: 'resolver', state: state(1000, 1000, 5), context: allowed }, now, null)
        .skipped,
    ).toBe('protected-resolver');
    expect(
      policy.decide({ kind: 'prefix', state: state(1000, 1000, 5), context: allowed }, now, null)
        .skipped,
    ).toBe('protected-network');
    expect(
      policy.decide(
        { kind: 'asn', state: state(1000, 1000, 5), context: ctx({ asn: 64999 }) },
        now,
        null,
      ).skipped,
    ).toBe('protected-network');
    expect(
      policy.decide(
        {
          kind: 'resolver-zone',
          state: state(1000, 1000),
          context: ctx({ zone: 'x.rum.example' }),
        },
        now,
        null,
      ).skipped,
    ).toBe('zone-allowlisted');
    expect(policy.isZoneAllowed('RUM.example.')).toBe(true);
    expect(policy.isZoneAllowed('notrum.example')).toBe(false);
  });

  it('blocks an ISP resolver outright only when it hit several zones', () => {
    expect(
      policy.decide({ kind: 'resolver', state: state(1000, 1000, 1), context: ctx() }, now, null)
        .skipped,
    ).toBe('below-threshold');
    expect(
      policy.decide({ kind: 'resolver', state: state(1000, 1000, 2), context: ctx() }, now, null)
        .entry?.action,
    ).toBe('drop');
  });

  it('blocks no resolver outright unless opted in (BLOCK_OUTRIGHT_RESOLVERS)', () => {
    const off = new BlockPolicy({ ...policyCfg, outrightResolvers: false });
    const bot = { kind: 'resolver' as const, state: state(1000, 1000, 2), context: ctx() };
    expect(off.decide(bot, now, null).skipped).toBe('outright-disabled');
    expect(policy.decide(bot, now, null).entry?.action).toBe('drop');
    // Its per-zone entry is unaffected.
    expect(
      off.decide({ ...bot, kind: 'resolver-zone', state: state(1000, 1000) }, now, null).entry,
    ).not.toBeNull();
  });

  it("never blocks outright a subject whose decayed sums show its users' queries", () => {
    // A big ISP resolver forwarding a flood to two zones: 9 % of its queries are its users', too
    // few per record to mark it, many over the flood. Outright it would lose every zone.
    const isp = state(9100, 10000, 2);
    const decide = (kind: 'resolver' | 'prefix' | 'asn', s = isp) =>
      policy.decide({ kind, state: s, context: ctx() }, now, null);
    expect(decide('resolver').score.score).toBeGreaterThan(80);
    expect(decide('resolver').skipped).toBe('legitimate-traffic');
    expect(decide('prefix', state(9100, 10000, 3)).skipped).toBe('legitimate-traffic');
    expect(decide('asn', state(9400, 10000, 3)).skipped).toBe('legitimate-traffic');
    // A bot-only resolver: its few filter misses (under 5 %) do not protect it.
    expect(decide('resolver', state(9700, 10000, 2)).entry?.action).toBe('drop');
    // Nor do fewer non-attack queries than REPUTATION_LEGIT_MIN_QUERIES (5), whatever their share.
    const small = new BlockPolicy({ ...policyCfg, minAttackQueries: 20 });
    const decideSmall = (s: SubjectState) =>
      small.decide({ kind: 'resolver', state: s, context: ctx() }, now, null);
    expect(decideSmall(state(40, 44, 2)).entry?.action).toBe('drop');
    expect(decideSmall(state(40, 45, 2)).skipped).toBe('legitimate-traffic');
    // The per-zone entry of the same sums still stands (its clients get the zone's refusal).
    expect(
      policy.decide({ kind: 'resolver-zone', state: isp, context: ctx() }, now, null).entry?.action,
    ).toBe('refused');
  });

  it('marks entries as shadow in dry-run mode', () => {
    const shadow = new BlockPolicy({ ...policyCfg, shadow: new Set(subjectKinds) });
    expect(
      shadow.decide({ kind: 'resolver-zone', state: state(900, 1000), context: ctx() }, now, null)
        .entry?.shadow,
    ).toBe(true);
  });

  it('caps the list by dropping the lowest scores first', () => {
    const e = (id: string, score: number) => ({ id, score, expiresAt: 1 }) as BlocklistEntry;
    expect(overCap([e('a', 90), e('b', 55), e('c', 70), e('d', 60)], 2)).toEqual(['b', 'd']);
    expect(overCap([e('a', 90)], 2)).toEqual([]);
  });
});

const entry = (over: Partial<BlocklistEntry> & Pick<BlocklistEntry, 'scope'>): BlocklistEntry => ({
  v: 1,
  id: `id-${JSON.stringify(over.scope)}`,
  action: 'drop',
  reason: 'test',
  score: 90,
  createdAt: 0,
  expiresAt: 3_600_000,
  shadow: false,
  ...over,
});
const sample: BlocklistEntry[] = [
  entry({
    scope: { kind: 'resolver-zone', resolver: '127.0.0.2', zone: 'victim.test' },
    action: 'refused',
  }),
  entry({ scope: { kind: 'resolver', resolver: '203.0.113.5' } }),
  entry({ scope: { kind: 'prefix', prefix: '198.51.100.0/24' }, action: 'nxdomain' }),
  entry({ scope: { kind: 'asn', asn: 64500 } }),
  entry({ scope: { kind: 'resolver', resolver: '203.0.113.6' }, shadow: true }),
];

describe('renderers', () => {
  it('CrowdSec-shaped decisions', () => {
    expect(toDecision(sample[0]!, 0)).toMatchObject({
      scope: 'IpZone',
      value: '127.0.0.2 victim.test',
      zone: 'victim.test',
      type: 'refused',
      duration: '1h0m0s',
    });
    expect(toDecision(sample[3]!, 0)).toMatchObject({ scope: 'AS', value: '64500' });
    // CrowdSec bouncer libraries decode `id` as an integer: stable, numeric, distinct per entry.
    const ids = sample.map((e) => toDecision(e, 0).id);
    expect(ids.every((id) => Number.isSafeInteger(id))).toBe(true);
    expect(new Set(ids).size).toBe(sample.length);
    expect(toDecision(sample[0]!, 5).id).toBe(ids[0]);
    expect(toDecision(sample[0]!, 0).entryId).toBe(sample[0]!.id);
    expect(goDuration(61_000)).toBe('1m1s');
  });

  it('plain text, one entry per line', () => {
    const lines = renderText(sample).trim().split('\n');
    expect(lines).toHaveLength(5);
    expect(lines[0]).toBe(
      'refused\tresolver-zone\t127.0.0.2\tvictim.test\t1970-01-01T01:00:00.000Z\t90\tenforce',
    );
  });

  it('RPZ: outright blocks in the origin, (resolver, zone) in the per-zone policy zone, shadow left out', () => {
    const main = renderRpz(sample, { origin: 'rpz.sluice', zoneName: 'rpz.sluice', serial: 7 });
    expect(main).toContain('32.5.113.0.203.rpz-client-ip CNAME rpz-drop.');
    expect(main).toContain('24.0.100.51.198.rpz-client-ip CNAME .');
    expect(main).not.toContain('203.0.113.6'.split('.').reverse().join('.'));
    const perZone = renderRpz(sample, {
      origin: 'rpz.sluice',
      zoneName: 'victim.test.rpz.sluice',
      serial: 7,
    });
    expect(perZone).toContain('32.2.0.0.127.rpz-client-ip CNAME rpz-drop.');
    expect(perZone).toContain('SOA localhost. hostmaster.localhost. 7 ');
  });

  it('dnsdist Lua: AND of netmask and qname suffix for (resolver, zone)', () => {
    const lua = renderDnsdistLua(sample);
    expect(lua).toContain('AndRule({NetmaskGroupRule(nmg[1]), SuffixMatchNodeRule(smn[1])})');
    expect(lua).toContain('RCodeAction(DNSRCode.REFUSED)');
    expect(lua).toContain('LogAction("", false)');
    expect(lua).toContain('-- a:64500'.replace('a:64500', sample[3]!.id));
  });
});

describe('ASN entries apply through their networks', () => {
  const asn = entry({
    scope: { kind: 'asn', asn: 64501 },
    networks: ['192.0.2.0/24', '198.51.100.0/24', '10.0.0.0/22'],
    action: 'drop',
  });
  const overlapping = entry({
    scope: { kind: 'prefix', prefix: '198.51.100.0/24' },
    action: 'nxdomain',
  });

  it('become client-IP triggers in the origin zone, one owner per network', () => {
    const rpz = renderRpz([overlapping, asn], {
      origin: 'rpz.sluice',
      zoneName: 'rpz.sluice',
      serial: 1,
    });
    expect(rpz).toContain('24.0.2.0.192.rpz-client-ip CNAME rpz-drop.');
    expect(rpz).toContain('22.0.0.0.10.rpz-client-ip CNAME rpz-drop.');
    expect(rpz.match(/24\.0\.100\.51\.198\.rpz-client-ip/g)).toHaveLength(1);
  });

  it('become dnsdist keys at the looked-up masks only, and Lua masks', () => {
    const kv = dnsdistKv([asn], { v4: [24], v6: [] });
    expect(kv.get(Buffer.from([192, 0, 2, 0]).toString('latin1'))).toBe('. drop');
    expect(kv.size).toBe(2); // the /22 has no matching lookup mask
    expect(renderDnsdistLua([asn])).toContain('addMask("10.0.0.0/22")');
  });

  it('an ASN entry without networks is not enforceable by address', () => {
    expect(
      renderRpz([sample[3]!], { origin: 'rpz.sluice', zoneName: 'rpz.sluice', serial: 1 }),
    ).not.toContain('rpz-client-ip');
  });
});

describe('CDB for dnsdist', () => {
  it('round-trips keys through the cdb format', () => {
    const recs: Array<[Uint8Array, Uint8Array]> = Array.from({ length: 600 }, (_, i) => [
      Buffer.from(`k${i}`),
      Buffer.from(`v${i}`),
    ]);
    const file = writeCdb(recs);
    for (const i of [0, 1, 299, 599])
      expect(readCdb(file, Buffer.from(`k${i}`))?.toString()).toBe(`v${i}`);
    expect(readCdb(file, Buffer.from('nope'))).toBeNull();
  });

  it('keys addresses in network byte order, zone rules before outright ones', () => {
    const kv = dnsdistKv(
      [...sample, entry({ scope: { kind: 'resolver', resolver: '127.0.0.2' } })],
      { v4: [24], v6: [] },
    );
    expect(kv.get(Buffer.from([127, 0, 0, 2]).toString('latin1'))).toBe(
      'victim.test refused;. drop',
    );
    expect(kv.get(Buffer.from([198, 51, 100, 0]).toString('latin1'))).toBe('. nxdomain');
    expect(kv.has(Buffer.from([203, 0, 113, 6]).toString('latin1'))).toBe(false);
  });
});

const key: TsigKey = { name: 'sluice-xfr', secret: Buffer.alloc(32, 7).toString('base64') };

describe('TSIG', () => {
  it('signs and verifies; tampering and wrong keys fail', () => {
    const q = dnsPacket.encode({
      type: 'query',
      id: 42,
      questions: [{ type: 'SOA', name: 'rpz.sluice' }],
    });
    const { msg } = signMessage(q, key);
    expect(findTsig(msg)?.keyName).toBe('sluice-xfr');
    expect(verifyMessage(msg, [key]).ok).toBe(true);
    const bad = Buffer.from(msg);
    bad[13] = bad[13]! ^ 1;
    expect(verifyMessage(bad, [key])).toMatchObject({ ok: false, reason: 'badsig' });
    expect(verifyMessage(msg, [{ ...key, name: 'other' }])).toMatchObject({
      ok: false,
      reason: 'badkey',
    });
    expect(verifyMessage(msg, [key], Date.now() + 3_600_000)).toMatchObject({
      ok: false,
      reason: 'badtime',
    });
  });

  it('answers a TSIG record that runs past the message with FORMERR (it threw a RangeError)', () => {
    // The rpz-xfr-server fuzz target's counterexample: a signed SOA query with 9 bytes of its
    // TSIG record repeated, so the MAC length points past the end. The server logged an ERROR
    // (and dropped the TCP connection) for each such query from a hostile client.
    const found = Buffer.from(
      '5a5a000000010000000000010372707a06736c7569636500000600010b736c756963652d66757a7a0000fa652d' +
        '66757a7a0000fa00ff00000000003d0b686d61632d7368613235360000006b0ccfa0012c0020bba70ae528ad' +
        'c4dd40a3b95a764923cac80a18e86532cf1380300197100873c55a5a00000000',
      'hex',
    );
    expect(verifyMessage(found, [key])).toEqual({ ok: false, reason: 'malformed' });
    const zones = new RpzZoneSet('rpz.sluice', 100);
    for (const requireTsig of [true, false]) {
      const r = answerRequest(found, zones, { keys: [key], requireTsig }, 'udp');
      expect(r.outcome).toBe('formerr');
      expect(dnsPacket.decode(r.messages[0]!)).toMatchObject({ id: 0x5a5a, rcode: 'FORMERR' });
    }
  });

  it('spends microseconds on a request announcing 65,535 of every record', () => {
    // dns-packet allocated an array per header count first: ~2.5 ms per 12-byte datagram, on
    // the event loop the Kafka consumer and the HTTP feed share.
    const hostile = Buffer.from('5a5a0000ffffffffffffffff', 'hex');
    const zones = new RpzZoneSet('rpz.sluice', 100);
    const start = process.hrtime.bigint();
    for (let i = 0; i < 2_000; i++)
      expect(answerRequest(hostile, zones, { keys: [key], requireTsig: true }, 'udp').outcome).toBe(
        'formerr',
      );
    expect(Number(process.hrtime.bigint() - start) / 1e6).toBeLessThan(1_000);
  });
});

describe('RPZ zone server against a hostile client (rpz-xfr-server fuzz findings)', () => {
  it('answers a question it cannot echo faithfully with FORMERR, never a malformed answer', () => {
    // An IXFR whose second label length became 60: the name swallowed bytes that are not UTF-8,
    // dns-packet decoded them as U+FFFD and the NOTAUTH answer echoed a longer, broken label.
    const found = Buffer.from(
      '5a5a000000010000000100000676696374696d3c746573740372707a06736c756963650000fb000106766963' +
        '74696d04746573740372707a06736c7569636500000600010000000000160000fffffff00000000000000000' +
        '0000000000000000',
      'hex',
    );
    const zones = new RpzZoneSet('rpz.sluice', 100);
    for (const requireTsig of [true, false]) {
      const r = answerRequest(found, zones, { keys: [key], requireTsig }, 'udp');
      expect(r.outcome).toBe('formerr');
      for (const m of r.messages)
        expect(dnsPacket.decode(m)).toMatchObject({ id: 0x5a5a, rcode: 'FORMERR' });
    }
  });

  it('does not keep a zone per made-up name a client asks about', () => {
    const zones = new RpzZoneSet('rpz.sluice', 100);
    const stored = () => (zones as unknown as { zones: Map<string, unknown> }).zones.size;
    for (let i = 0; i < 1_000; i++) {
      const q = dnsPacket.encode({
        type: 'query',
        id: i,
        questions: [{ type: 'SOA', name: `made-up-${i}.rpz.sluice` }],
      });
      expect(answerRequest(q, zones, { keys: [], requireTsig: false }, 'udp').outcome).toBe('soa');
    }
    expect(stored()).toBe(0);
    // Unknown zones are still served empty, at the first serial, and transfer from there.
    expect(zones.head('victim.test.rpz.sluice')).toEqual({
      name: 'victim.test.rpz.sluice',
      serial: 100,
    });
    expect(zones.diffsSince('victim.test.rpz.sluice', 100)).toEqual([]);
  });
});

describe('RPZ zone server', () => {
  const zones = new RpzZoneSet('rpz.sluice', 100);
  const opts = { keys: [key], requireTsig: true };
  const ask = (name: string, type: 'SOA' | 'AXFR' | 'IXFR', serial?: number, signed = true) => {
    const wire = dnsPacket.encode({
      type: 'query',
      id: 9,
      questions: [{ type, name }],
      authorities:
        serial === undefined
          ? []
          : [
              {
                type: 'SOA',
                name,
                ttl: 0,
                data: {
                  mname: 'x',
                  rname: 'y',
                  serial,
                  refresh: 0,
                  retry: 0,
                  expire: 0,
                  minimum: 0,
                },
              },
            ],
    });
    return answerRequest(signed ? signMessage(wire, key).msg : wire, zones, opts, 'tcp');
  };
  const rrs = (messages: Buffer[]) => messages.flatMap((m) => dnsPacket.decode(m).answers ?? []);

  it('refuses unsigned requests when TSIG is required', () => {
    expect(ask('rpz.sluice', 'SOA', undefined, false).outcome).toBe('notauth');
  });

  it('serves AXFR, then IXFR diffs; responses are signed', () => {
    zones.update([sample[0]!, sample[1]!], 0);
    const s1 = zones.get('rpz.sluice')!.serial;
    expect(s1).toBe(101);
    const axfr = ask('rpz.sluice', 'AXFR');
    const answers = rrs(axfr.messages);
    expect(answers.map((a) => a.type)).toEqual(['SOA', 'NS', 'CNAME', 'SOA']);
    expect(findTsig(axfr.messages[0]!)?.keyName).toBe('sluice-xfr');
    zones.update([sample[0]!, sample[2]!], 0);
    const s2 = zones.get('rpz.sluice')!.serial;
    const ixfr = ask('rpz.sluice', 'IXFR', s1);
    expect(ixfr.outcome).toBe('ixfr');
    const diff = rrs(ixfr.messages).map(
      (a) => `${a.type} ${a.name} ${a.type === 'SOA' ? a.data.serial : ''}`,
    );
    expect(diff).toEqual([
      `SOA rpz.sluice ${s2}`,
      `SOA rpz.sluice ${s1}`,
      'CNAME 32.5.113.0.203.rpz-client-ip.rpz.sluice ',
      `SOA rpz.sluice ${s2}`,
      'CNAME 24.0.100.51.198.rpz-client-ip.rpz.sluice ',
      `SOA rpz.sluice ${s2}`,
    ]);
    expect(ask('rpz.sluice', 'IXFR', s2).outcome).toBe('ixfr-uptodate');
    expect(ask('rpz.sluice', 'IXFR', 1).outcome).toBe('axfr');
    expect(rrs(ask('victim.test.rpz.sluice', 'AXFR').messages).map((a) => a.name)).toContain(
      '32.2.0.0.127.rpz-client-ip.victim.test.rpz.sluice',
    );
    expect(ask('example.com', 'SOA').outcome).toBe('refused');
  });

  it('builds signed NOTIFY messages', () => {
    const n = buildNotify('rpz.sluice', 5, 1, key);
    const p = dnsPacket.decode(n);
    expect(((p.flags ?? 0) >> 11) & 0xf).toBe(4);
    expect(verifyMessage(n, [key]).ok).toBe(true);
  });
});
