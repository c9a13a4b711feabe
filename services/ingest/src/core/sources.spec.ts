import * as dnsPacket from 'dns-packet';
import { type QueryEvent } from '@sluice/contracts';
import { encodeDnstap } from './dnstap';
import {
  ControlType,
  DNSTAP_CONTENT_TYPE,
  encodeControlFrame,
  encodeDataFrame,
} from './frame-streams';
import { CaptureWriter, ipBytes, type Framing } from '@sluice/traffic-sim';
import { CaptureIngest, FstrmFileIngest, type IngestSink } from './sources';
import { ZoneMapper } from './zone-mapper';

function query(name: string, id = 1, opts: { rd?: boolean; edns?: number } = {}): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id,
    flags: opts.rd === false ? 0 : dnsPacket.RECURSION_DESIRED,
    questions: [{ type: 'A', name }],
    additionals:
      opts.edns !== undefined
        ? [
            {
              type: 'OPT',
              name: '.',
              udpPayloadSize: opts.edns,
              flags: 0,
            } as unknown as dnsPacket.Answer,
          ]
        : [],
  });
}
function response(name: string, id: number, rcode: number): Buffer {
  return dnsPacket.encode({ type: 'response', id, flags: rcode, questions: [{ type: 'A', name }] });
}

class Collect implements IngestSink {
  events: QueryEvent[] = [];
  bad: string[] = [];
  record(e: QueryEvent): void {
    this.events.push(e);
  }
  malformed(reason: string): void {
    this.bad.push(reason);
  }
}

const server = { ip: '198.51.100.53', port: 53 };
const resolver = { ip: '203.0.113.9', port: 40000 };
const zones = new ZoneMapper(['example.com']);

function ingest(bytes: Buffer, chunk = bytes.length): Collect {
  const sink = new Collect();
  const source = new CaptureIngest('test.pcap', { zones, sink });
  for (let i = 0; i < bytes.length; i += chunk) source.push(bytes.subarray(i, i + chunk));
  source.end();
  return sink;
}

describe('CaptureIngest', () => {
  it.each<[Framing, 'pcap' | 'pcapng']>([
    ['ethernet', 'pcap'],
    ['ethernet', 'pcapng'],
    ['sll', 'pcap'],
    ['sll2', 'pcapng'],
    ['raw', 'pcap'],
  ])('reads %s framing from %s, in any chunking', (framing, format) => {
    const w = new CaptureWriter(framing);
    w.udp(1_700_000_000_123.456, resolver, server, query('A.Example.com', 5, { edns: 1232 }));
    w.udp(
      1_700_000_000_200,
      { ip: '2001:db8::9', port: 5353 },
      { ip: '2001:db8::53', port: 53 },
      query('b.example.com', 6, { rd: false }),
    );
    const bytes = format === 'pcap' ? w.toPcap() : w.toPcapng();
    for (const chunk of [bytes.length, 7, 1]) {
      const { events, bad } = ingest(bytes, chunk);
      expect(bad).toEqual([]);
      expect(events).toEqual([
        {
          ts: 1_700_000_000_123.456,
          resolver: '203.0.113.9',
          resolverPort: 40000,
          transport: 'udp',
          qname: 'a.example.com',
          qtype: 1,
          qclass: 1,
          rd: true,
          cd: false,
          do: false,
          ednsSize: 1232,
          id: 5,
          zone: 'example.com',
          rcode: null,
          ancount: null,
        },
        {
          ts: 1_700_000_000_200,
          resolver: '2001:db8::9',
          resolverPort: 5353,
          transport: 'udp',
          qname: 'b.example.com',
          qtype: 1,
          qclass: 1,
          rd: false,
          cd: false,
          do: false,
          ednsSize: null,
          id: 6,
          zone: 'example.com',
          rcode: null,
          ancount: null,
        },
      ]);
    }
  });

  it('reads VLAN-tagged frames and pairs the response rcode', () => {
    const w = new CaptureWriter('ethernet');
    w.udp(1000, resolver, server, query('x.example.com', 77), [100, 200]);
    w.udp(1001, server, resolver, response('x.example.com', 77, 3), [100, 200]);
    const { events } = ingest(w.toPcap());
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      qname: 'x.example.com',
      ts: 1000,
      rcode: 3,
      ancount: 0,
      resolver: '203.0.113.9',
    });
  });

  it('reassembles a TCP message split across segments and two messages in one segment', () => {
    const w = new CaptureWriter('ethernet');
    const m1 = query('t1.example.com', 1);
    const m2 = query('t2.example.com', 2);
    const m3 = query('t3.example.com', 3);
    const stream = Buffer.concat(
      [m1, m2, m3].map((m) => Buffer.concat([Buffer.from([m.length >> 8, m.length & 0xff]), m])),
    );
    const isn = 0xfffffff0; // sequence numbers wrap inside the message
    w.tcp(10, resolver, server, Buffer.alloc(0), isn, { syn: true });
    w.tcp(11, resolver, server, stream.subarray(0, 5), isn + 1);
    w.tcp(12, resolver, server, stream.subarray(5, 30), isn + 6);
    w.tcp(12.5, resolver, server, stream.subarray(5, 30), isn + 6); // retransmission
    w.tcp(13, resolver, server, stream.subarray(30), isn + 31, { fin: true, ack: true });
    const { events, bad } = ingest(w.toPcap());
    expect(bad).toEqual([]);
    expect(events.map((e) => [e.qname, e.transport])).toEqual([
      ['t1.example.com', 'tcp'],
      ['t2.example.com', 'tcp'],
      ['t3.example.com', 'tcp'],
    ]);
  });

  it('counts malformed packets by reason and keeps going', () => {
    const w = new CaptureWriter('ethernet');
    w.udp(1, resolver, server, Buffer.from([1, 2, 3])); // short header
    const loop = query('loop.example.com', 9);
    loop[12] = 0xc0;
    loop[13] = 12;
    w.udp(2, resolver, server, loop);
    w.add(3, Buffer.alloc(10)); // link-truncated
    w.udp(4, resolver, { ip: '198.51.100.1', port: 443 }, Buffer.alloc(30)); // not DNS: ignored
    w.udp(5, resolver, server, query('ok.example.com', 10));
    const { events, bad } = ingest(w.toPcap());
    expect(bad).toEqual(['dns-short-header', 'dns-bad-pointer', 'link-truncated']);
    expect(events.map((e) => e.qname)).toEqual(['ok.example.com']);
  });

  it('counts a capture cut inside a record', () => {
    const w = new CaptureWriter('ethernet');
    w.udp(1, resolver, server, query('a.example.com'));
    const bytes = w.toPcap();
    expect(ingest(bytes.subarray(0, bytes.length - 3)).bad).toEqual(['capture-truncated']);
  });
});

describe('FstrmFileIngest', () => {
  it('decodes dnstap AUTH_QUERY + AUTH_RESPONSE into one record with the rcode', () => {
    const common = {
      socketFamily: 1,
      socketProtocol: 1,
      queryAddress: ipBytes('192.0.2.10'),
      queryPort: 5300,
      queryTimeSec: 1_700_000_000,
      queryTimeNsec: 250_000_000,
      identity: 'ns1',
    };
    const file = Buffer.concat([
      encodeControlFrame(ControlType.START, [DNSTAP_CONTENT_TYPE]),
      encodeDataFrame(
        encodeDnstap({
          ...common,
          type: 1,
          queryMessage: query('Q.example.com', 33, { edns: 4096 }),
        }),
      ),
      encodeDataFrame(Buffer.from([0xff, 0xff, 0xff])), // not protobuf
      encodeDataFrame(
        encodeDnstap({
          ...common,
          type: 2,
          responseTimeSec: 1_700_000_000,
          responseMessage: response('q.example.com', 33, 0),
        }),
      ),
      encodeControlFrame(ControlType.STOP),
    ]);
    const sink = new Collect();
    const src = new FstrmFileIngest('file.fstrm', { zones, sink });
    src.push(file);
    src.end();
    expect(sink.bad).toEqual(['dnstap-decode']);
    expect(sink.events).toEqual([
      {
        ts: 1_700_000_000_250,
        resolver: '192.0.2.10',
        resolverPort: 5300,
        transport: 'udp',
        qname: 'q.example.com',
        qtype: 1,
        qclass: 1,
        rd: true,
        cd: false,
        do: false,
        ednsSize: 4096,
        id: 33,
        zone: 'example.com',
        rcode: 0,
        ancount: 0,
      },
    ]);
  });
});
