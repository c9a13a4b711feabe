import * as dnsPacket from 'dns-packet';
import {
  applyMutations,
  fc,
  mutationArbitrary,
  type FuzzTarget,
  type FuzzTargetFactory,
  type Mutation,
} from '@sluice/testing';
import { decodeDns } from '../../src/core/dns-decode';
import { PacketDecoder, type DnsSegment } from '../../src/core/packet-decoder';
import { TcpReassembler } from '../../src/core/tcp-reassembler';
import { DNS_REASONS } from './dns.target';
import { TCP_REASONS } from './capture.target';
import { capturePackets, dnsPacketFrame, LINKTYPE, scenarioEvents, type Packet } from './seeds';
import { encodeQuery, encodeResponse } from '@sluice/traffic-sim';

/** A TCP segment as the packet decoder hands it over, payload held on its own. */
interface Segment {
  ts: number;
  src: string;
  srcPort: number;
  dst: string;
  dstPort: number;
  seq: number;
  syn: boolean;
  fin: boolean;
  rst: boolean;
  payload: Buffer;
}

type SegmentOp =
  | { op: 'drop'; i: number }
  | { op: 'duplicate'; i: number }
  | { op: 'swap'; i: number }
  | { op: 'seq'; i: number; delta: number }
  | { op: 'flags'; i: number; syn: boolean; fin: boolean; rst: boolean }
  | { op: 'split'; i: number; at: number }
  | { op: 'merge'; i: number }
  | { op: 'port'; i: number; port: number }
  | { op: 'bytes'; i: number; mutations: Mutation[] };

interface Input {
  session: number;
  ops: SegmentOp[];
}

function segmentsOf(packets: readonly Packet[], linkType: number): Segment[] {
  const decoder = new PacketDecoder();
  const out: Segment[] = [];
  for (const p of packets) {
    const r = decoder.decode(p.ts, linkType, p.frame);
    if (r.kind !== 'dns' || r.segment.protocol !== 'tcp') continue;
    const s = r.segment;
    out.push({
      ts: s.ts,
      src: s.src,
      srcPort: s.srcPort,
      dst: s.dst,
      dstPort: s.dstPort,
      seq: s.seq,
      syn: s.syn,
      fin: s.fin,
      rst: s.rst,
      payload: Buffer.from(s.data.subarray(s.start, s.end)),
    });
  }
  return out;
}

const prefixed = (m: Buffer) => Buffer.concat([Buffer.from([m.length >> 8, m.length & 0xff]), m]);

/** Real DNS-over-TCP sessions: from the capture seeds, plus pipelining and interleaved flows. */
function sessions(): Segment[][] {
  const out = capturePackets().map((g) => segmentsOf(g.packets, LINKTYPE[g.framing]));
  const events = scenarioEvents(12);
  const client = { ip: '192.0.2.99', port: 41000 };
  const client2 = { ip: '2001:db8::99', port: 41001 };
  const server = { ip: '198.51.100.53', port: 53 };
  const server6 = { ip: '2001:db8::53', port: 53 };
  // Pipelined queries (RFC 7766 §6.2.1.1): three messages in one segment, then their answers.
  const queries = Buffer.concat(events.slice(0, 3).map((e) => prefixed(encodeQuery(e))));
  const answers = Buffer.concat(
    events.slice(0, 3).map((e) => prefixed(encodeResponse({ ...e, rcode: e.rcode ?? 0 }))),
  );
  const pipelined: Packet[] = [
    dnsPacketFrame(1, 'raw', client, server, Buffer.alloc(0), { seq: 10, flags: { syn: true } }),
    dnsPacketFrame(2, 'raw', client, server, queries, { seq: 11 }),
    dnsPacketFrame(3, 'raw', server, client, answers.subarray(0, 40), { seq: 900 }),
    dnsPacketFrame(4, 'raw', server, client, answers.subarray(40), { seq: 940 }),
    dnsPacketFrame(5, 'raw', client, server, Buffer.alloc(0), {
      seq: 11 + queries.length,
      flags: { fin: true, ack: true },
    }),
  ];
  out.push(segmentsOf(pipelined, 101));
  // Two flows interleaved, one over IPv6, each message split byte by byte at the start.
  const q1 = prefixed(encodeQuery(events[3]!));
  const q2 = prefixed(encodeQuery(events[4]!));
  const interleaved: Packet[] = [];
  let s1 = 5000;
  let s2 = 7000;
  for (let k = 0; k < 3; k++) {
    interleaved.push(
      dnsPacketFrame(10 + k, 'raw', client, server, q1.subarray(k, k + 1), { seq: s1++ }),
    );
    interleaved.push(
      dnsPacketFrame(10 + k, 'raw', client2, server6, q2.subarray(k, k + 1), { seq: s2++ }),
    );
  }
  interleaved.push(dnsPacketFrame(20, 'raw', client, server, q1.subarray(3), { seq: s1 }));
  interleaved.push(dnsPacketFrame(21, 'raw', client2, server6, q2.subarray(3), { seq: s2 }));
  out.push(segmentsOf(interleaved, 101));
  // A retransmission and an AXFR-sized response in several segments.
  const big = dnsPacket.encode({
    type: 'response',
    id: 3,
    questions: [{ type: 'A', name: 'example.com' }],
    answers: Array.from({ length: 40 }, (_, i) => ({
      type: 'A' as const,
      name: `h${i}.example.com`,
      ttl: 60,
      data: `192.0.2.${i}`,
    })),
  });
  const bigFramed = prefixed(big);
  const retrans: Packet[] = [
    dnsPacketFrame(30, 'raw', client, server, q1, { seq: 100 }),
    dnsPacketFrame(31, 'raw', client, server, q1, { seq: 100 }),
  ];
  for (let at = 0; at < bigFramed.length; at += 300)
    retrans.push(
      dnsPacketFrame(32, 'raw', server, client, bigFramed.subarray(at, at + 300), {
        seq: 8000 + at,
      }),
    );
  out.push(segmentsOf(retrans, 101));
  return out.filter((s) => s.length > 0);
}

function applyOps(base: readonly Segment[], ops: readonly SegmentOp[]): Segment[] {
  const segs = base.map((s) => ({ ...s }));
  for (const o of ops) {
    if (segs.length === 0) break;
    const i = o.i % segs.length;
    const s = segs[i]!;
    switch (o.op) {
      case 'drop':
        segs.splice(i, 1);
        break;
      case 'duplicate':
        segs.splice(i, 0, { ...s });
        break;
      case 'swap':
        if (i + 1 < segs.length) [segs[i], segs[i + 1]] = [segs[i + 1]!, s];
        break;
      case 'seq':
        s.seq = (s.seq + o.delta) >>> 0;
        break;
      case 'flags':
        Object.assign(s, { syn: o.syn, fin: o.fin, rst: o.rst });
        break;
      case 'split': {
        if (s.payload.length < 2) break;
        const at = 1 + (o.at % (s.payload.length - 1));
        segs.splice(
          i,
          1,
          { ...s, fin: false, rst: false, payload: s.payload.subarray(0, at) },
          { ...s, syn: false, seq: (s.seq + at) >>> 0, payload: s.payload.subarray(at) },
        );
        break;
      }
      case 'merge': {
        const next = segs[i + 1];
        if (next)
          segs.splice(i, 2, {
            ...s,
            fin: next.fin,
            rst: next.rst,
            payload: Buffer.concat([s.payload, next.payload]),
          });
        break;
      }
      case 'port':
        s.srcPort = o.port;
        break;
      case 'bytes':
        s.payload = applyMutations(s.payload, o.mutations);
        break;
    }
  }
  return segs;
}

const MAX_FLOWS = 3;

/**
 * Feed segments as the capture path does: payload inside a larger chunk that is overwritten as
 * soon as segment() returns (the reader reuses it), so a view kept past the call shows.
 */
function reassemble(segs: readonly Segment[], scribble: boolean) {
  const log: string[] = [];
  let decoded = 0;
  const malformed: string[] = [];
  const tcp = new TcpReassembler(
    {
      message(_s, dns) {
        if (dns.length === 0) throw new Error('an empty DNS message came out');
        const r = decodeDns(dns);
        log.push(`${dns.toString('hex')}`);
        if (r.ok) decoded++;
        else malformed.push(r.reason);
      },
      error(reason) {
        log.push(reason);
        malformed.push(reason);
      },
    },
    MAX_FLOWS,
  );
  for (const s of segs) {
    const chunk = Buffer.alloc(s.payload.length + 16, 0xee);
    s.payload.copy(chunk, 8);
    const segment: DnsSegment = {
      ...s,
      protocol: 'tcp',
      data: chunk,
      start: 8,
      end: 8 + s.payload.length,
    };
    tcp.segment(segment);
    if (scribble) chunk.fill(0x5a);
    if (tcp.openFlows > MAX_FLOWS)
      throw new Error(`${tcp.openFlows} open flows, bound ${MAX_FLOWS}`);
  }
  tcp.finish();
  if (tcp.openFlows !== 0) throw new Error('flows left open after finish()');
  return { log, decoded, malformed };
}

/**
 * The TCP reassembler, fed real DNS-over-TCP sessions whose segments are dropped, duplicated,
 * reordered, re-sequenced, re-flagged, split, merged and byte-mutated. Every length-prefixed
 * message comes out decoded or malformed, every lost boundary is counted (gap, incomplete,
 * evicted, zero-length), flows stay bounded, and no view of a reused capture chunk is kept.
 */
export const tcpReassemblerFuzzTarget: FuzzTargetFactory = {
  name: 'tcp-reassembler',
  network: false,
  description:
    'DNS-over-TCP sessions (split queries, pipelining, interleaved v4/v6 flows, retransmission, multi-segment responses) with segment drop/dup/swap/seq/flag/split/merge/byte mutations → TcpReassembler (3 flows max) → DNS decoder',
  create() {
    const base = sessions();
    const at = fc.nat({ max: 1 << 16 });
    const op: fc.Arbitrary<SegmentOp> = fc.oneof(
      fc.record({ op: fc.constant('drop' as const), i: at }),
      fc.record({ op: fc.constant('duplicate' as const), i: at }),
      fc.record({ op: fc.constant('swap' as const), i: at }),
      fc.record({
        op: fc.constant('seq' as const),
        i: at,
        delta: fc.oneof(
          fc.integer({ min: -70, max: 70 }),
          fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
        ),
      }),
      fc.record({
        op: fc.constant('flags' as const),
        i: at,
        syn: fc.boolean(),
        fin: fc.boolean(),
        rst: fc.boolean(),
      }),
      fc.record({ op: fc.constant('split' as const), i: at, at }),
      fc.record({ op: fc.constant('merge' as const), i: at }),
      fc.record({
        op: fc.constant('port' as const),
        i: at,
        port: fc.constantFrom(40000, 40001, 53, 41000),
      }),
      {
        weight: 3,
        arbitrary: fc.record({
          op: fc.constant('bytes' as const),
          i: at,
          mutations: fc.array(mutationArbitrary({ maxBytes: 16 }), { minLength: 1, maxLength: 3 }),
        }),
      },
    );
    const target: FuzzTarget<Input> = {
      name: 'tcp-reassembler',
      arbitrary: fc.record({
        session: fc.nat({ max: base.length - 1 }),
        ops: fc.array(op, { maxLength: 6 }),
      }),
      reasons: [...TCP_REASONS, ...DNS_REASONS],
      describe: (i) =>
        `session ${i.session}, ops ${JSON.stringify(i.ops)}\n` +
        applyOps(base[i.session]!, i.ops)
          .map(
            (s) =>
              `${s.src}:${s.srcPort}>${s.dst}:${s.dstPort} seq ${s.seq}${s.syn ? ' SYN' : ''}${s.fin ? ' FIN' : ''}${s.rst ? ' RST' : ''} ${s.payload.toString('hex')}`,
          )
          .join('\n'),
      run(i) {
        const segs = applyOps(base[i.session]!, i.ops);
        const a = reassemble(segs, true);
        const b = reassemble(segs, false);
        if (a.log.join('|') !== b.log.join('|'))
          throw new Error('messages changed when the capture chunk was reused: a view was kept');
        // Control-only sessions (SYN, FIN) carry nothing to decode: ignored, not lost.
        const empty = a.decoded + a.malformed.length === 0;
        return { decoded: a.decoded, ignored: empty ? 1 : 0, malformed: a.malformed };
      },
    };
    return Promise.resolve(target as FuzzTarget<unknown>);
  },
};
