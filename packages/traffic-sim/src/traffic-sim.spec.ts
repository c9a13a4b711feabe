import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as dnsPacket from 'dns-packet';
import { ipPacket, udpSegment } from './capture-writer';
import { MIRAI_ALPHABET } from './names';
import { writePcapFile } from './pcap';
import {
  benignZoneQps,
  simulate,
  simulateLabelled,
  zonesOf,
  type LabelledEvent,
  type ScenarioSpec,
} from './scenario';
import { type StreamSpec } from './stream-kinds';
import { activeSpans, streamQpsAt } from './stream-shape';
import { encodeQuery } from './wire';

const spec: ScenarioSpec = {
  seed: 7,
  startTime: 1_700_000_000_000,
  durationMs: 4_000,
  zones: 5,
  benignQps: 200,
  withResponses: true,
  streams: [{ kind: 'mirai', zone: 'victim.example', startMs: 2_000, durationMs: 2_000, qps: 300 }],
};

describe('simulate', () => {
  it('is reproducible by seed and differs across seeds', () => {
    const a = [...simulate(spec)];
    const b = [...simulate(spec)];
    const c = [...simulate({ ...spec, seed: 8 })];
    expect(a).toEqual(b);
    expect(a.map((e) => e.qname)).not.toEqual(c.map((e) => e.qname));
  });

  it('emits time-ordered events within the scenario and attacks only after onset', () => {
    const events = [...simulateLabelled(spec)];
    for (let i = 1; i < events.length; i++)
      expect(events[i]!.event.ts).toBeGreaterThanOrEqual(events[i - 1]!.event.ts);
    const attack = events.filter((e) => e.origin === 'mirai');
    expect(attack.length).toBeGreaterThan(400);
    expect(Math.min(...attack.map((e) => e.event.ts))).toBeGreaterThanOrEqual(
      spec.startTime + 2_000,
    );
  });

  it('generates Mirai names exactly as the bot does', () => {
    const mirai = [...simulateLabelled(spec)]
      .filter((e) => e.origin === 'mirai')
      .map((e) => e.event);
    for (const e of mirai) {
      const [label, ...rest] = e.qname.split('.');
      expect(label).toMatch(new RegExp(`^[${MIRAI_ALPHABET}]{12}$`));
      expect(rest.join('.')).toBe('victim.example');
      expect(e).toMatchObject({ qtype: 1, rd: true, ednsSize: null, zone: 'victim.example' });
    }
  });
});

describe('adversarial stream shapes', () => {
  const T = 1_700_000_000_000;
  const base = (stream: StreamSpec, over: Partial<ScenarioSpec> = {}): ScenarioSpec => ({
    seed: 11,
    startTime: T,
    durationMs: stream.startMs + stream.durationMs + 2_000,
    zones: 4,
    benignQps: 200,
    withResponses: true,
    streams: [stream],
    ...over,
  });
  const attack = (spec: ScenarioSpec) =>
    [...simulateLabelled(spec)].filter((e) => e.origin !== 'benign').map((e) => e.event);
  /** Attack queries per `bucketMs` bucket, from the stream's start. */
  const buckets = (spec: ScenarioSpec, bucketMs: number): number[] => {
    const s = spec.streams![0]!;
    const out = new Array<number>(Math.ceil(s.durationMs / bucketMs)).fill(0);
    for (const e of attack(spec)) out[Math.floor((e.ts - T - s.startMs) / bucketMs)]!++;
    return out;
  };

  it('ramps the rate linearly from 0 to qps over rampMs, then holds it', () => {
    const stream: StreamSpec = {
      kind: 'randomlabel',
      zone: 'acme.com',
      startMs: 5_000,
      durationMs: 60_000,
      qps: 2_000,
      rampMs: 40_000,
    };
    const spec = base(stream, { benignQps: 0 });
    const events = attack(spec);
    const counts = buckets(spec, 5_000);
    // Expected per 5 s bucket: qps × mean ramp factor over it (2.5 k, 7.5 k … then 10 k flat).
    counts.forEach((n, i) => {
      const mid = stream.startMs + i * 5_000 + 2_500;
      const expected = streamQpsAt(stream, mid) * 5;
      expect(Math.abs(n - expected)).toBeLessThan(5 * Math.sqrt(expected) + 5);
    });
    // Within the first second the density still rises (inverse-CDF draws, not uniform).
    const first = events.filter((e) => e.ts < T + stream.startMs + 4_000);
    const early = first.filter((e) => e.ts < T + stream.startMs + 2_000).length;
    expect(early / first.length).toBeGreaterThan(0.15);
    expect(early / first.length).toBeLessThan(0.35);
    expect(events.every((e) => e.ts >= T + 5_000)).toBe(true);
  });

  it('pulses on and off, at qps while on and nothing while off', () => {
    const stream: StreamSpec = {
      kind: 'mirai',
      zone: 'acme.com',
      startMs: 3_000,
      durationMs: 95_000,
      qps: 500,
      onMs: 10_000,
      offMs: 20_000,
    };
    const spec = base(stream);
    expect(activeSpans(stream)).toEqual([
      { startMs: 3_000, endMs: 13_000 },
      { startMs: 33_000, endMs: 43_000 },
      { startMs: 63_000, endMs: 73_000 },
      { startMs: 93_000, endMs: 98_000 },
    ]);
    const events = attack(spec);
    expect(events.filter((e) => (e.ts - T - stream.startMs) % 30_000 >= 10_000)).toEqual([]);
    const perPulse = [0, 0, 0, 0];
    for (const e of events) perPulse[Math.floor((e.ts - T - 3_000) / 30_000)]!++;
    for (const [i, n] of perPulse.entries()) {
      const expected = i === 3 ? 2_500 : 5_000;
      expect(Math.abs(n - expected)).toBeLessThan(5 * Math.sqrt(expected));
    }
  });

  it('combines a ramp with pulses (the envelope runs on while the stream is off)', () => {
    const stream: StreamSpec = {
      kind: 'hex',
      zone: 'acme.com',
      startMs: 0,
      durationMs: 40_000,
      qps: 1_000,
      rampMs: 40_000,
      onMs: 5_000,
      offMs: 5_000,
    };
    const counts = buckets(base(stream, { benignQps: 0 }), 5_000);
    counts.forEach((n, i) => {
      if (i % 2 === 1) expect(n).toBe(0);
      // Mean factor over [5i, 5i+5) s of a 40 s ramp: (2i+1)/16.
      else expect(Math.abs(n - (5_000 * (2 * i + 1)) / 16)).toBeLessThan(200);
    });
  });

  it('puts nested labels under a few existing host names of the zone', () => {
    const stream: StreamSpec = {
      kind: 'nested',
      zone: 'acme.com',
      startMs: 10_000,
      durationMs: 5_000,
      qps: 1_000,
      parents: 4,
    };
    const spec = base(stream, { durationMs: 15_000 });
    const all = [...simulateLabelled(spec)];
    const benignHosts = new Set(
      all
        .filter((e) => e.origin === 'benign' && e.event.zone === 'acme.com' && e.event.rcode === 0)
        .map((e) => e.event.qname.slice(0, -'.acme.com'.length)),
    );
    const parents = new Set<string>();
    for (const { event: e } of all.filter((x) => x.origin === 'nested')) {
      const m = /^([a-z0-9]{6,14})\.(.+)\.acme\.com$/.exec(e.qname);
      expect(m).not.toBeNull();
      parents.add(m![2]!);
      expect(e).toMatchObject({ zone: 'acme.com', rcode: 3, ancount: 0 });
    }
    expect(parents.size).toBe(4);
    for (const p of parents) expect(benignHosts).toContain(p);
    // A zone outside the benign mix (a flood on a silent zone) still gets plausible parents.
    const silent = attack(base({ ...stream, zone: 'silent.example' }, { withResponses: false }));
    expect(zonesOf(base(stream))).not.toContain('silent.example');
    expect(silent.length).toBeGreaterThan(4_000);
    expect(new Set(silent.map((e) => e.qname.split('.')[1]))).toEqual(
      new Set(['www', 'cdn', 'mail', 'api']),
    );
    expect(silent.every((e) => e.rcode === null && e.ancount === null)).toBe(true);
  });

  it('carries a shared-resolver flood on the benign mix resolvers, public ones included', () => {
    const stream: StreamSpec = {
      kind: 'mirai',
      zone: 'acme.com',
      startMs: 0,
      durationMs: 30_000,
      qps: 300,
    };
    const share = (spec: ScenarioSpec) => {
      const all = [...simulateLabelled(spec)];
      const benign = new Set(all.filter((e) => e.origin === 'benign').map((e) => e.event.resolver));
      const flood = all.filter((e) => e.origin !== 'benign').map((e) => e.event.resolver);
      const publicShare =
        flood.filter((r) => /^(8\.8\.|1\.[01]\.|9\.9\.|208\.67|2001:4860|2606:4700)/.test(r))
          .length / flood.length;
      return {
        shared: flood.filter((r) => benign.has(r)).length / flood.length,
        publicShare,
      };
    };
    const own = share(base(stream, { benignQps: 1_000 }));
    const shared = share(base({ ...stream, sharedResolvers: true }, { benignQps: 1_000 }));
    // Mirai's own pool only meets the mix at 8.8.8.8 (one of its defaults).
    expect(own.shared).toBeLessThan(0.1);
    expect(shared.shared).toBeGreaterThan(0.97);
    expect(shared.publicShare).toBeGreaterThan(0.3);
    expect(shared.publicShare).toBeLessThan(0.4);
    // With a resolver count: only that many ISP resolvers (the most popular), plus public ones.
    const few = attack(base({ ...stream, sharedResolvers: true, resolvers: 20 }));
    expect(new Set(few.map((e) => e.resolver)).size).toBeLessThanOrEqual(20 + 8);
  });

  it.each([
    [1_000, 3_000, 1_500],
    [5_000, 3_000, 1_500],
    [200, 500, 100],
  ])(
    'wordlist of %i names at %i qps from %i resolvers: names repeat, drawn uniformly per resolver',
    (vocabulary, qps, resolvers) => {
      const stream: StreamSpec = {
        kind: 'wordlist',
        zone: 'acme.com',
        startMs: 0,
        durationMs: 10_000,
        qps,
        resolvers,
        vocabulary,
      };
      const events = attack(base(stream));
      expect(Math.abs(events.length - qps * 10)).toBeLessThan(5 * Math.sqrt(qps * 10));
      const names = new Set(events.map((e) => e.qname));
      expect(names.size).toBeLessThanOrEqual(vocabulary);
      // Uniform over the list: nearly every name comes up, each ~qps·10/vocabulary times.
      expect(names.size).toBeGreaterThan(0.95 * Math.min(vocabulary, events.length));
      expect(new Set(events.map((e) => e.resolver)).size).toBeLessThanOrEqual(resolvers);
      const shape = /^[a-z]+(-?[a-z]+)+\d*\.acme\.com$/;
      expect(events.filter((e) => !shape.test(e.qname))).toEqual([]);
      expect(events.filter((e) => e.rcode !== 3 || e.ancount !== 0)).toEqual([]);
      // Each resolver draws uniformly from the list: its distinct names (its cache misses) are
      // what k uniform draws from `vocabulary` give, k = its query count.
      const perResolver = new Map<string, string[]>();
      for (const e of events) {
        const list = perResolver.get(e.resolver);
        if (list) list.push(e.qname);
        else perResolver.set(e.resolver, [e.qname]);
      }
      let distinct = 0;
      let expected = 0;
      for (const list of perResolver.values()) {
        distinct += new Set(list).size;
        expected += vocabulary * (1 - Math.pow(1 - 1 / vocabulary, list.length));
      }
      expect(Math.abs(distinct - expected) / events.length).toBeLessThan(0.01);
    },
  );

  it('replays a fixed scraped list: each resolver walks it in order, existing names answer', () => {
    const stream: StreamSpec = {
      kind: 'replay',
      zone: 'acme.com',
      startMs: 20_000,
      durationMs: 20_000,
      qps: 1_000,
      resolvers: 400,
      vocabulary: 300,
    };
    const spec = base(stream, { durationMs: 40_000 });
    const all = [...simulateLabelled(spec)];
    const replay = all.filter((e) => e.origin === 'replay').map((e) => e.event);
    const names = new Set(replay.map((e) => e.qname));
    expect(names.size).toBeGreaterThan(280);
    expect(names.size).toBeLessThanOrEqual(300);
    // Each resolver asks ~50 names of a 300-name list: no repeats within one pass.
    const byResolver = new Map<string, string[]>();
    for (const e of replay) {
      const list = byResolver.get(e.resolver);
      if (list) list.push(e.qname);
      else byResolver.set(e.resolver, [e.qname]);
    }
    for (const list of byResolver.values()) expect(new Set(list).size).toBe(list.length);
    // Consecutive names of one resolver follow the list's order: the successor of a name is
    // the same whichever resolver asked it.
    const next = new Map<string, string>();
    let checked = 0;
    for (const list of byResolver.values())
      for (let i = 1; i < list.length; i++) {
        const seen = next.get(list[i - 1]!);
        if (seen !== undefined) {
          expect(list[i]).toBe(seen);
          checked++;
        }
        next.set(list[i - 1]!, list[i]!);
      }
    expect(checked).toBeGreaterThan(1_000);
    // Names the zone has (asked by its users, answered NOERROR) answer NOERROR; the rest NXDOMAIN.
    const existing = new Set(
      all.filter((e) => e.origin === 'benign' && e.event.rcode === 0).map((e) => e.event.qname),
    );
    const ok = replay.filter((e) => e.rcode === 0);
    expect(ok.length).toBeGreaterThan(0);
    expect(ok.length / replay.length).toBeLessThan(0.2);
    // (Users ask only part of the zone's vocabulary in 40 s: not every NOERROR name shows up.)
    expect(ok.filter((e) => existing.has(e.qname)).length).toBeGreaterThan(ok.length / 2);
    expect(replay.filter((e) => e.rcode === 3 && existing.has(e.qname))).toEqual([]);
  });

  it.each<StreamSpec['kind']>(['nested', 'wordlist', 'replay'])(
    '%s is reproducible by seed (shapes and sharing included) and differs across seeds',
    (kind) => {
      const spec = base(
        {
          kind,
          zone: 'acme.com',
          startMs: 1_000,
          durationMs: 6_000,
          qps: 400,
          rampMs: 3_000,
          onMs: 2_000,
          offMs: 1_000,
          sharedResolvers: true,
        },
        { durationMs: 8_000 },
      );
      const names = (x: LabelledEvent[]) => x.map((e) => e.event.qname);
      const a = [...simulateLabelled(spec)];
      expect([...simulateLabelled(spec)]).toEqual(a);
      expect(names([...simulateLabelled({ ...spec, seed: 12 })])).not.toEqual(names(a));
    },
  );

  it('rejects half a pulse specification', () => {
    const spec = base({
      kind: 'mirai',
      zone: 'a.b',
      startMs: 0,
      durationMs: 1_000,
      qps: 1,
      onMs: 5,
    });
    expect(() => [...simulate(spec)]).toThrow(/onMs and offMs/);
  });

  it('states each zone\'s benign rate (the unit for "N× the zone\'s volume")', () => {
    const spec = base(
      { kind: 'mirai', zone: 'x.example', startMs: 0, durationMs: 0, qps: 0 },
      {
        durationMs: 60_000,
        benignQps: 500,
      },
    );
    const counts = new Map<string, number>();
    for (const e of simulate(spec)) counts.set(e.zone, (counts.get(e.zone) ?? 0) + 1);
    for (const zone of zonesOf(spec)) {
      const expected = benignZoneQps(spec, zone) * 60;
      expect(Math.abs(counts.get(zone)! - expected)).toBeLessThan(5 * Math.sqrt(expected));
    }
    expect(benignZoneQps(spec, 'x.example')).toBe(0);
  });
});

describe('wire and pcap', () => {
  it('encodes numeric qtypes dns-packet has no name for', () => {
    const [e] = [...simulate(spec)];
    const decoded = dnsPacket.decode(encodeQuery({ ...e!, qtype: 65 }));
    expect(decoded.questions?.[0]?.name).toBe(e!.qname);
    expect(encodeQuery({ ...e!, qtype: 65 }).readUInt16BE(12 + e!.qname.length + 2)).toBe(65);
  });

  it('writes a classic pcap whose UDP payloads decode back to the events', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sim-'));
    try {
      const events = [...simulate({ ...spec, durationMs: 1_000 })];
      events.push({ ...events[0]!, resolver: '2a01:4f8::1', ts: events[0]!.ts + 999 });
      const file = join(dir, 'x.pcap');
      const packets = await writePcapFile(file, events, { withResponses: true });
      const buf = readFileSync(file);
      expect(buf.readUInt32LE(0)).toBe(0xa1b2c3d4);
      expect(buf.readUInt32LE(20)).toBe(1);
      let off = 24;
      const names: string[] = [];
      let count = 0;
      while (off < buf.length) {
        const len = buf.readUInt32LE(off + 8);
        const frame = buf.subarray(off + 16, off + 16 + len);
        const v6 = frame.readUInt16BE(12) === 0x86dd;
        const udpOff = 14 + (v6 ? 40 : 20);
        const dport = frame.readUInt16BE(udpOff + 2);
        const msg = dnsPacket.decode(frame.subarray(udpOff + 8));
        if (dport === 53) names.push(msg.questions![0]!.name);
        off += 16 + len;
        count++;
      }
      expect(count).toBe(packets);
      expect(names).toEqual(events.map((e) => e.qname));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('gives UDP over IPv6 a checksum that verifies (RFC 8200 §8.1)', () => {
    const src = { ip: '2001:db8::1', port: 5353 };
    const dst = { ip: '2001:db8::53', port: 53 };
    const ip = ipPacket(src.ip, dst.ip, 17, udpSegment(src, dst, Buffer.from('odd-length!')));
    const udp = ip.subarray(40);
    // One's-complement sum of pseudo-header + datagram (checksum included) must be 0xffff.
    const verifies = () => {
      const pseudoTail = Buffer.from([0, 0, 0, udp.length, 0, 0, 0, 17]);
      const words = Buffer.concat([ip.subarray(8, 40), pseudoTail, udp, Buffer.alloc(1)]);
      let sum = 0;
      for (let i = 0; i + 1 < words.length; i += 2) sum += words.readUInt16BE(i);
      while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
      return sum === 0xffff;
    };
    expect(udp.readUInt16BE(6)).not.toBe(0);
    expect(verifies()).toBe(true);
    udp[9] = udp[9]! ^ 0xff;
    expect(verifies()).toBe(false);
  });
});
