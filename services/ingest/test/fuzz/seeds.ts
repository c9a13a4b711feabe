/**
 * Real inputs the ingest fuzz targets start from: DNS messages dns-packet encodes (traffic-sim's
 * attack and benign queries, their responses, and the shapes resolvers add: ECS, cookies,
 * padding, compression), dnstap frames and Frame Streams files built from them, and pcap/pcapng
 * captures made with traffic-sim's capture writer (plus the committed dns-mix fixtures). Each
 * seed lists its length and count fields, which the `field` mutation lies about.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as dnsPacket from 'dns-packet';
import { type QueryEvent } from '@sluice/contracts';
import { dnsFields, type Field, type Seed } from '@sluice/testing';
import {
  encodeQuery,
  encodeResponse,
  frame,
  ipPacket,
  pcapHeader,
  pcapngHeader,
  pcapngPacket,
  pcapRecord,
  simulate,
  tcpSegment,
  udpSegment,
  type Endpoint,
  type Framing,
} from '@sluice/traffic-sim';
import { encodeDnstap, DnstapMessageType } from '../../src/core/dnstap';
import { ControlType, DNSTAP_CONTENT_TYPE, encodeControlFrame } from '../../src/core/frame-streams';
import { ipBytes } from '@sluice/traffic-sim';

const T0 = 1_700_000_000_000;

/** A few hundred ms of a scenario with every attack kind and responses: the traffic Sluice sees. */
export function scenarioEvents(count = 48): QueryEvent[] {
  const out: QueryEvent[] = [];
  const zones = ['example.com', 'victim.test', 'shop.example.co.uk'];
  for (const e of simulate({
    seed: 'fuzz',
    startTime: T0,
    durationMs: 2_000,
    zones,
    benignQps: 400,
    withResponses: true,
    streams: [
      { kind: 'mirai', zone: 'victim.test', startMs: 0, durationMs: 2_000, qps: 200 },
      { kind: 'randomlabel', zone: 'example.com', startMs: 0, durationMs: 2_000, qps: 100 },
      { kind: 'hex', zone: 'example.com', startMs: 0, durationMs: 2_000, qps: 50 },
      { kind: 'dictionary', zone: 'victim.test', startMs: 0, durationMs: 2_000, qps: 50 },
      { kind: 'nxns', zone: 'victim.test', startMs: 0, durationMs: 2_000, qps: 50 },
    ],
  })) {
    out.push(e);
    if (out.length >= 400) break;
  }
  // Every kind in the first `count`: take a spread rather than the first few milliseconds.
  const step = Math.max(1, Math.floor(out.length / count));
  return out.filter((_, i) => i % step === 0).slice(0, count);
}

const opt = (udpPayloadSize: number, options: unknown[] = [], dnssecOk = false) =>
  ({
    type: 'OPT',
    name: '.',
    udpPayloadSize,
    flags: dnssecOk ? dnsPacket.DNSSEC_OK : 0,
    options,
  }) as unknown as dnsPacket.Answer;

/** Messages resolvers and servers really exchange, beyond traffic-sim's plain queries. */
function handmadeMessages(): Array<{ label: string; bytes: Buffer }> {
  const q = (name: string, extra: Partial<dnsPacket.Packet> = {}, type = 'A') =>
    dnsPacket.encode({
      type: 'query',
      id: 0x1d2e,
      flags: dnsPacket.RECURSION_DESIRED,
      questions: [{ type: type as 'A', name }],
      ...extra,
    });
  const idn = Buffer.from(q('xn--bcher-kva.example.com'));
  const utf8 = Buffer.concat([
    idn.subarray(0, 12),
    Buffer.from([6]),
    Buffer.from('bücher'.slice(0, 5)), // 6 UTF-8 bytes: a raw non-ASCII label
    Buffer.from([7]),
    Buffer.from('example'),
    Buffer.from([3]),
    Buffer.from('com'),
    Buffer.from([0, 0, 1, 0, 1]),
  ]);
  return [
    // dnsdist TeeAction(…, addECS=true): the client subnet in the mirror copy.
    {
      label: 'query+ECS',
      bytes: q('www.example.com', {
        additionals: [
          opt(1232, [
            {
              code: 8,
              family: 1,
              sourcePrefixLength: 24,
              scopePrefixLength: 0,
              ip: '198.51.100.0',
            },
          ]),
        ],
      }),
    },
    {
      label: 'query+ECSv6+cookie+padding',
      bytes: q('a8f3kq2m0d1e.victim.test', {
        additionals: [
          opt(
            1232,
            [
              {
                code: 8,
                family: 2,
                sourcePrefixLength: 56,
                scopePrefixLength: 0,
                ip: '2001:db8::',
              },
              { code: 10, data: Buffer.from('0123456789abcdef', 'hex') },
              { code: 12, length: 16 },
              { code: 11, timeout: 100 },
            ],
            true,
          ),
        ],
      }),
    },
    {
      label: 'query two questions',
      bytes: q('a.example.com', {
        questions: [
          { type: 'A', name: 'a.example.com' },
          { type: 'AAAA', name: 'b.a.example.com' },
        ],
      }),
    },
    {
      label: 'query ANY CH',
      bytes: dnsPacket.encode({
        type: 'query',
        id: 7,
        questions: [{ type: 'ANY' as 'A', name: 'version.bind', class: 'CH' }],
      }),
    },
    { label: 'query root NS', bytes: q('.', {}, 'NS') },
    { label: 'query raw UTF-8 label', bytes: utf8 },
    {
      label: 'response NXDOMAIN with SOA',
      bytes: dnsPacket.encode({
        type: 'response',
        id: 0x4242,
        flags: dnsPacket.AUTHORITATIVE_ANSWER | dnsPacket.RECURSION_DESIRED | 3,
        questions: [{ type: 'A', name: 'q7x2k9.example.com' }],
        authorities: [
          {
            type: 'SOA',
            name: 'example.com',
            ttl: 300,
            data: {
              mname: 'ns1.example.com',
              rname: 'hostmaster.example.com',
              serial: 2024010101,
              refresh: 3600,
              retry: 600,
              expire: 604800,
              minimum: 300,
            },
          },
        ],
        additionals: [opt(1232)],
      }),
    },
    {
      label: 'response NOERROR CNAME+A',
      bytes: dnsPacket.encode({
        type: 'response',
        id: 0x5151,
        flags: dnsPacket.AUTHORITATIVE_ANSWER,
        questions: [{ type: 'A', name: 'www.example.com' }],
        answers: [
          { type: 'CNAME', name: 'www.example.com', ttl: 60, data: 'cdn.example.com' },
          { type: 'A', name: 'cdn.example.com', ttl: 60, data: '192.0.2.10' },
          { type: 'AAAA', name: 'cdn.example.com', ttl: 60, data: '2001:db8::10' },
        ],
      }),
    },
    {
      label: 'NOTIFY',
      bytes: dnsPacket.encode({
        type: 'query',
        id: 99,
        flags: (4 << 11) | dnsPacket.AUTHORITATIVE_ANSWER,
        questions: [{ type: 'SOA', name: 'example.com' }],
      }),
    },
  ];
}

/** DNS messages: traffic-sim queries and responses, plus the hand-made shapes above. */
export function dnsSeeds(): Seed[] {
  const seeds: Seed[] = [];
  const events = scenarioEvents(40);
  events.forEach((e, i) => {
    const query = encodeQuery(e);
    seeds.push({
      label: `query ${e.qname} type ${e.qtype}`,
      bytes: query,
      fields: dnsFields(query),
    });
    if (i % 3 === 0 && e.rcode !== null) {
      const response = encodeResponse(e);
      seeds.push({
        label: `response rcode ${e.rcode} ${e.qname}`,
        bytes: response,
        fields: dnsFields(response),
      });
    }
  });
  for (const m of handmadeMessages()) seeds.push({ ...m, fields: dnsFields(m.bytes) });
  return seeds;
}

// ---------------------------------------------------------------------------------------------
// dnstap / Frame Streams

function dnstapFrame(e: QueryEvent, type: number, protocol: 1 | 2, identity?: string): Buffer {
  const v6 = e.resolver.includes(':');
  const sec = Math.floor(e.ts / 1000);
  const nsec = Math.round((e.ts - sec * 1000) * 1e6);
  const isQuery = type === DnstapMessageType.AUTH_QUERY || type === DnstapMessageType.CLIENT_QUERY;
  return encodeDnstap({
    type,
    identity,
    socketFamily: v6 ? 2 : 1,
    socketProtocol: protocol,
    queryAddress: ipBytes(e.resolver),
    queryPort: e.resolverPort,
    responseAddress: ipBytes(v6 ? '2001:db8::53' : '192.0.2.53'),
    responsePort: 53,
    queryTimeSec: sec,
    queryTimeNsec: nsec,
    ...(isQuery
      ? { queryMessage: encodeQuery(e) }
      : { responseMessage: encodeResponse(e), responseTimeSec: sec, responseTimeNsec: nsec }),
  });
}

/** One Frame Streams byte stream, with its frame and control-frame length fields. */
export function fstrmStream(
  frames: readonly Buffer[],
  o: { bidirectional: boolean; stop?: boolean },
): { bytes: Buffer; fields: Field[] } {
  const parts: Buffer[] = [];
  const fields: Field[] = [];
  let at = 0;
  const control = (b: Buffer) => {
    fields.push({ at: at + 4, size: 4 });
    if (b.length > 12) fields.push({ at: at + 16, size: 4 }); // content-type field length
    parts.push(b);
    at += b.length;
  };
  if (o.bidirectional) control(encodeControlFrame(ControlType.READY, [DNSTAP_CONTENT_TYPE]));
  control(encodeControlFrame(ControlType.START, [DNSTAP_CONTENT_TYPE]));
  for (const f of frames) {
    const head = Buffer.alloc(4);
    head.writeUInt32BE(f.length);
    fields.push({ at, size: 4 });
    parts.push(head, f);
    at += 4 + f.length;
  }
  if (o.stop ?? true) control(encodeControlFrame(ControlType.STOP));
  return { bytes: Buffer.concat(parts), fields };
}

/** dnstap frames of the scenario: AUTH_QUERY/AUTH_RESPONSE pairs, CLIENT_QUERY, resolver-side. */
export function dnstapFrames(): Array<{ label: string; frame: Buffer }> {
  const events = scenarioEvents(24);
  const out: Array<{ label: string; frame: Buffer }> = [];
  events.forEach((e, i) => {
    const protocol = i % 4 === 0 ? 2 : 1;
    out.push({
      label: `AUTH_QUERY ${e.qname}`,
      frame: dnstapFrame(
        e,
        DnstapMessageType.AUTH_QUERY,
        protocol,
        i % 2 ? 'ns1.example' : undefined,
      ),
    });
    if (e.rcode !== null && i % 2 === 0)
      out.push({
        label: `AUTH_RESPONSE ${e.qname}`,
        frame: dnstapFrame(e, DnstapMessageType.AUTH_RESPONSE, protocol, 'ns1.example'),
      });
    if (i % 5 === 0)
      out.push({
        label: `CLIENT_QUERY ${e.qname}`,
        frame: dnstapFrame(e, DnstapMessageType.CLIENT_QUERY, 1),
      });
    if (i % 7 === 0)
      out.push({
        label: `RESOLVER_QUERY ${e.qname}`,
        frame: dnstapFrame(e, DnstapMessageType.RESOLVER_QUERY, 1),
      });
  });
  return out;
}

export interface FstrmSeed extends Seed {
  bidirectional: boolean;
}

/** .fstrm files (START … STOP) and socket transcripts (READY, START … STOP) of dnstap frames. */
export function fstrmSeeds(): FstrmSeed[] {
  const frames = dnstapFrames();
  const seeds: FstrmSeed[] = [];
  for (let i = 0; i < frames.length; i += 6) {
    const group = frames.slice(i, i + 1 + (i % 5));
    const bidirectional = (i / 6) % 2 === 1;
    const s = fstrmStream(
      group.map((g) => g.frame),
      { bidirectional, stop: i % 18 !== 12 },
    );
    seeds.push({
      label: `${bidirectional ? 'socket' : 'file'}: ${group.map((g) => g.label).join(', ')}`,
      bytes: s.bytes,
      fields: s.fields,
      bidirectional,
    });
  }
  return seeds;
}

// ---------------------------------------------------------------------------------------------
// Captures

export interface Packet {
  ts: number;
  frame: Buffer;
  /** Offsets inside `frame` of the fields worth lying about. */
  fields: Field[];
}

const FRAMING_HEADER: Record<Framing, number> = { ethernet: 14, sll: 16, sll2: 20, raw: 0 };
export const LINKTYPE: Record<Framing, number> = { ethernet: 1, sll: 113, sll2: 276, raw: 101 };

/** A framed UDP or TCP packet carrying DNS, built with traffic-sim's capture writer. */
export function dnsPacketFrame(
  ts: number,
  framing: Framing,
  src: Endpoint,
  dst: Endpoint,
  dns: Buffer,
  tcp?: { seq: number; flags?: Parameters<typeof tcpSegment>[4]; prefix?: boolean },
  vlans: number[] = [],
): Packet {
  const payload = tcp?.prefix
    ? Buffer.concat([Buffer.from([dns.length >> 8, dns.length & 0xff]), dns])
    : dns;
  const segment = tcp
    ? tcpSegment(src, dst, payload, tcp.seq, tcp.flags)
    : udpSegment(src, dst, payload);
  const ip = ipPacket(src.ip, dst.ip, tcp ? 6 : 17, segment);
  const f = frame(ip, { framing, vlans });
  const ipAt = FRAMING_HEADER[framing] + (framing === 'ethernet' ? vlans.length * 4 : 0);
  const v6 = ip[0]! >> 4 === 6;
  const l4 = ipAt + (v6 ? 40 : 20);
  const fields: Field[] = [
    { at: ipAt, size: 1 }, // version / IHL
    v6 ? { at: ipAt + 4, size: 2 } : { at: ipAt + 2, size: 2 }, // total / payload length
    { at: ipAt + (v6 ? 6 : 9), size: 1 }, // protocol / next header
  ];
  if (!v6) fields.push({ at: ipAt + 6, size: 2 }); // fragment bits
  if (framing === 'ethernet') fields.push({ at: ipAt - 2, size: 2 }); // EtherType
  if (tcp) {
    fields.push({ at: l4 + 4, size: 4 }, { at: l4 + 12, size: 1 }, { at: l4 + 13, size: 1 });
    const dnsAt = l4 + 20;
    if (tcp.prefix && dns.length > 0)
      fields.push({ at: dnsAt, size: 2 }, ...dnsFields(f, dnsAt + 2));
  } else {
    fields.push({ at: l4 + 4, size: 2 }, ...dnsFields(f, l4 + 8));
  }
  return { ts, frame: f, fields };
}

/** A classic pcap of `packets`, with record lengths and every packet's fields as seed fields. */
export function pcapSeed(label: string, packets: readonly Packet[], linkType: number): Seed {
  const parts: Buffer[] = [pcapHeader(linkType)];
  const fields: Field[] = [{ at: 20, size: 4, le: true }];
  let at = 24;
  for (const p of packets) {
    const r = pcapRecord(p.ts, p.frame);
    fields.push({ at: at + 8, size: 4, le: true }, { at: at + 12, size: 4, le: true });
    for (const f of p.fields) fields.push({ ...f, at: at + 16 + f.at });
    parts.push(r);
    at += r.length;
  }
  return { label, bytes: Buffer.concat(parts), fields };
}

/** A pcapng of `packets` (one section, one interface), block lengths and packet fields declared. */
export function pcapngSeed(label: string, packets: readonly Packet[], linkType: number): Seed {
  const head = pcapngHeader(linkType);
  const parts: Buffer[] = [head];
  const fields: Field[] = [
    { at: 4, size: 4, le: true },
    { at: 28 + 4, size: 4, le: true },
    { at: 28 + 8, size: 2, le: true },
  ];
  let at = head.length;
  for (const p of packets) {
    const b = pcapngPacket(p.ts, p.frame);
    fields.push(
      { at: at + 4, size: 4, le: true },
      { at: at + 8, size: 4, le: true },
      { at: at + 20, size: 4, le: true },
      { at: at + b.length - 4, size: 4, le: true },
    );
    for (const f of p.fields) fields.push({ ...f, at: at + 28 + f.at });
    parts.push(b);
    at += b.length;
  }
  return { label, bytes: Buffer.concat(parts), fields };
}

/** A pcapng block in either byte order: type, body, total length at both ends. */
function block(type: number, body: Buffer, le = true): Buffer {
  const padded = Buffer.alloc(Math.ceil(body.length / 4) * 4);
  body.copy(padded);
  const out = Buffer.alloc(12 + padded.length);
  const w = (v: number, o: number) => (le ? out.writeUInt32LE(v, o) : out.writeUInt32BE(v, o));
  w(type, 0);
  w(out.length, 4);
  padded.copy(out, 8);
  w(out.length, out.length - 4);
  return out;
}

/** The pcapng shapes real tools write and traffic-sim does not: options, SPB, old PB, BE sections. */
function pcapngVariants(packets: readonly Packet[]): Seed[] {
  const [a, b, c] = packets as [Packet, Packet, Packet];
  const shb = (le: boolean) => {
    const body = Buffer.alloc(16);
    if (le) body.writeUInt32LE(0x1a2b3c4d, 0);
    else body.writeUInt32BE(0x1a2b3c4d, 0);
    if (le) body.writeUInt16LE(1, 4);
    else body.writeUInt16BE(1, 4);
    body.writeBigInt64LE(-1n, 8);
    return block(0x0a0d0d0a, body, le);
  };
  const idb = (linkType: number, tsresol: number | null, le = true) => {
    const opts: Buffer[] = [];
    if (tsresol !== null) {
      const o = Buffer.alloc(8);
      if (le) {
        o.writeUInt16LE(9, 0);
        o.writeUInt16LE(1, 2);
      } else {
        o.writeUInt16BE(9, 0);
        o.writeUInt16BE(1, 2);
      }
      o[4] = tsresol;
      opts.push(o, Buffer.alloc(4)); // opt_endofopt
    }
    const body = Buffer.alloc(8);
    if (le) {
      body.writeUInt16LE(linkType, 0);
      body.writeUInt32LE(65535, 4);
    } else {
      body.writeUInt16BE(linkType, 0);
      body.writeUInt32BE(65535, 4);
    }
    return block(1, Buffer.concat([body, ...opts]), le);
  };
  const epb = (p: Packet, iface: number, units: bigint, le = true) => {
    const body = Buffer.alloc(20);
    const w = (v: number, o: number) => (le ? body.writeUInt32LE(v, o) : body.writeUInt32BE(v, o));
    w(iface, 0);
    w(Number(units >> 32n), 4);
    w(Number(units & 0xffffffffn), 8);
    w(p.frame.length, 12);
    w(p.frame.length, 16);
    return block(6, Buffer.concat([body, p.frame]), le);
  };
  const spb = (p: Packet) => {
    const body = Buffer.alloc(4);
    body.writeUInt32LE(p.frame.length, 0);
    return block(3, Buffer.concat([body, p.frame]));
  };
  const oldPb = (p: Packet) => {
    const body = Buffer.alloc(20);
    body.writeUInt16LE(0, 0);
    body.writeUInt32LE(Math.floor((p.ts * 1000) / 2 ** 32), 4);
    body.writeUInt32LE((p.ts * 1000) % 2 ** 32, 8);
    body.writeUInt32LE(p.frame.length, 12);
    body.writeUInt32LE(p.frame.length, 16);
    return block(2, Buffer.concat([body, p.frame]));
  };
  const us = (p: Packet) => BigInt(Math.round(p.ts * 1e3));
  const ns = (p: Packet) => BigInt(Math.round(p.ts * 1e6));
  const nrb = block(4, Buffer.from([1, 0, 8, 0, 192, 0, 2, 53, 0x6e, 0x73, 0x31, 0, 0, 0, 0, 0]));
  const isb = block(5, Buffer.alloc(12));
  const mk = (label: string, parts: Buffer[]): Seed => {
    const bytes = Buffer.concat(parts);
    // Block lengths: walk the blocks (every variant here is well-formed little- or big-endian).
    const fields: Field[] = [];
    for (let at = 0; at + 12 <= bytes.length;) {
      const le =
        bytes.readUInt32LE(at) === 0x0a0d0d0a ? bytes.readUInt32LE(at + 8) === 0x1a2b3c4d : true;
      const len = le ? bytes.readUInt32LE(at + 4) : bytes.readUInt32BE(at + 4);
      fields.push(
        { at: at + 4, size: 4, le },
        { at: at + len - 4, size: 4, le },
        { at: at + 8, size: 4, le },
      );
      at += len;
    }
    return { label, bytes, fields };
  };
  return [
    mk('pcapng ns tsresol, NRB, ISB', [
      shb(true),
      idb(1, 9),
      nrb,
      epb(a, 0, ns(a)),
      isb,
      epb(b, 0, ns(b)),
    ]),
    mk('pcapng 2^-20 tsresol, SPB, obsolete PB', [
      shb(true),
      idb(1, 0x94),
      spb(a),
      oldPb(b),
      epb(c, 0, BigInt(Math.round((c.ts / 1000) * 2 ** 20))),
    ]),
    mk('pcapng two interfaces', [
      shb(true),
      idb(101, null),
      idb(1, 6),
      epb(a, 1, us(a)),
      epb(b, 1, us(b)),
    ]),
    mk('pcapng big-endian section after a little-endian one', [
      shb(true),
      idb(1, 6),
      epb(a, 0, us(a)),
      shb(false),
      idb(1, 6, false),
      epb(b, 0, us(b), false),
    ]),
  ];
}

const server4 = { ip: '198.51.100.53', port: 53 };
const server6 = { ip: '2001:db8::53', port: 53 };

/** Query/response exchanges over UDP and TCP in every framing the reader supports. */
export function capturePackets(): Array<{ framing: Framing; label: string; packets: Packet[] }> {
  const events = scenarioEvents(30);
  const groups: Array<{ framing: Framing; label: string; packets: Packet[] }> = [];
  const framings: Array<{ framing: Framing; vlans?: number[] }> = [
    { framing: 'ethernet' },
    { framing: 'ethernet', vlans: [42] },
    { framing: 'ethernet', vlans: [100, 200] },
    { framing: 'sll' },
    { framing: 'sll2' },
    { framing: 'raw' },
  ];
  framings.forEach((fr, gi) => {
    const packets: Packet[] = [];
    for (const e of events.slice(gi * 5, gi * 5 + 5)) {
      const server = e.resolver.includes(':') ? server6 : server4;
      const client = { ip: e.resolver, port: e.resolverPort };
      packets.push(
        dnsPacketFrame(e.ts, fr.framing, client, server, encodeQuery(e), undefined, fr.vlans),
      );
      if (e.rcode !== null)
        packets.push(
          dnsPacketFrame(
            e.ts + 0.3,
            fr.framing,
            server,
            client,
            encodeResponse(e),
            undefined,
            fr.vlans,
          ),
        );
    }
    // A DNS-over-TCP exchange: SYN, the query split over two segments, the response, FIN.
    const e = events[gi]!;
    const client = {
      ip: e.resolver.includes(':') ? '2001:db8::77' : '203.0.113.77',
      port: 40000 + gi,
    };
    const server = client.ip.includes(':') ? server6 : server4;
    const query = encodeQuery(e);
    const framed = Buffer.concat([Buffer.from([query.length >> 8, query.length & 0xff]), query]);
    const isn = 1000 + gi;
    const tcp = (
      ts: number,
      src: Endpoint,
      dst: Endpoint,
      payload: Buffer,
      seq: number,
      flags?: Parameters<typeof tcpSegment>[4],
    ): Packet => {
      const seg = tcpSegment(src, dst, payload, seq, flags);
      const f = frame(ipPacket(src.ip, dst.ip, 6, seg), { framing: fr.framing, vlans: fr.vlans });
      const ipAt = f.length - seg.length - (src.ip.includes(':') ? 40 : 20);
      const l4 = f.length - seg.length;
      return {
        ts,
        frame: f,
        fields: [
          { at: ipAt + 2, size: 2 },
          { at: l4 + 4, size: 4 },
          { at: l4 + 12, size: 1 },
          { at: l4 + 13, size: 1 },
        ],
      };
    };
    packets.push(
      tcp(e.ts + 1, client, server, Buffer.alloc(0), isn, { syn: true }),
      tcp(e.ts + 1.1, client, server, framed.subarray(0, 7), isn + 1),
      tcp(e.ts + 1.2, client, server, framed.subarray(7), isn + 8),
    );
    if (e.rcode !== null) {
      const response = encodeResponse(e);
      packets.push(
        dnsPacketFrame(
          e.ts + 1.3,
          fr.framing,
          server,
          client,
          response,
          { seq: 5000, prefix: true },
          fr.vlans,
        ),
      );
    }
    packets.push(
      tcp(e.ts + 1.4, client, server, Buffer.alloc(0), isn + 1 + framed.length, {
        fin: true,
        ack: true,
      }),
    );
    groups.push({
      framing: fr.framing,
      label: `${fr.framing}${fr.vlans ? ` vlan ${fr.vlans.join('/')}` : ''}`,
      packets,
    });
  });
  return groups;
}

const fixtures = join(__dirname, '..', 'fixtures');

export function pcapSeeds(): Seed[] {
  const seeds = capturePackets().map((g) =>
    pcapSeed(`pcap ${g.label}`, g.packets, LINKTYPE[g.framing]),
  );
  const mix = readFileSync(join(fixtures, 'dns-mix.pcap'));
  seeds.push({ label: 'fixture dns-mix.pcap', bytes: mix, fields: pcapRecordFields(mix) });
  // Big-endian and nanosecond pcap, as some capture tools write them.
  const first = capturePackets()[0]!;
  const be = pcapSeed('pcap big-endian ns', first.packets, 1);
  const b = Buffer.from(be.bytes);
  b.writeUInt32BE(0xa1b23c4d, 0);
  b.writeUInt16BE(2, 4);
  b.writeUInt16BE(4, 6);
  b.writeUInt32BE(1, 20);
  for (let at = 24; at + 16 <= b.length;) {
    const incl = be.bytes.readUInt32LE(at + 8);
    for (const o of [0, 4, 8, 12]) b.writeUInt32BE(be.bytes.readUInt32LE(at + o), at + o);
    at += 16 + incl;
  }
  seeds.push({
    label: 'pcap big-endian ns',
    bytes: b,
    fields: be.fields?.map((f) => ({ ...f, le: f.le ? false : f.le })),
  });
  return seeds;
}

export function pcapngSeeds(): Seed[] {
  const groups = capturePackets();
  const seeds = groups.map((g) => pcapngSeed(`pcapng ${g.label}`, g.packets, LINKTYPE[g.framing]));
  seeds.push(...pcapngVariants(groups[0]!.packets));
  seeds.push({
    label: 'fixture dns-mix.pcapng',
    bytes: readFileSync(join(fixtures, 'dns-mix.pcapng')),
  });
  return seeds;
}

function pcapRecordFields(buf: Buffer): Field[] {
  const fields: Field[] = [];
  for (let at = 24; at + 16 <= buf.length; at += 16 + buf.readUInt32LE(at + 8))
    fields.push({ at: at + 8, size: 4, le: true });
  return fields;
}
