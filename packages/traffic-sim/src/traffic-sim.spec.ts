import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as dnsPacket from 'dns-packet';
import { ipPacket, udpSegment } from './capture-writer';
import { MIRAI_ALPHABET } from './names';
import { writePcapFile } from './pcap';
import { simulate, simulateLabelled, type ScenarioSpec } from './scenario';
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
