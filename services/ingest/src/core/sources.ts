import { type QueryEvent } from '@sluice/contracts';
import { decodeDnstap } from './dnstap';
import { FrameStreamSession, type SessionOutput } from './frame-streams';
import { PACKET_DNS, PACKET_IGNORED, PacketDecoder, PacketView } from './packet-decoder';
import { CaptureReader } from './pcap-reader';
import { QueryAssembler, type AssemblerOptions, type RecordSink } from './query-assembler';
import { TcpReassembler } from './tcp-reassembler';
import { type ZoneMapper } from './zone-mapper';

/** Where decoded records and malformed input go; `source` names the input for batches and dead letters. */
export interface IngestSink {
  record(event: QueryEvent, source: string): void;
  malformed(reason: string, raw: Buffer, detail: string, source: string): void;
}

/** Counts per outcome, for metrics and the replay summary. */
export class IngestTally {
  packets = 0;
  records = 0;
  ignored = 0;
  readonly malformed = new Map<string, number>();

  countMalformed(reason: string): void {
    this.malformed.set(reason, (this.malformed.get(reason) ?? 0) + 1);
  }

  get malformedTotal(): number {
    let n = 0;
    for (const v of this.malformed.values()) n += v;
    return n;
  }
}

class TallySink implements RecordSink {
  constructor(
    private readonly sink: IngestSink,
    private readonly tally: IngestTally,
    private readonly source: () => string,
  ) {}

  record(event: QueryEvent): void {
    this.tally.records++;
    this.sink.record(event, this.source());
  }

  malformed(reason: string, raw: Buffer, detail: string): void {
    this.tally.countMalformed(reason);
    this.sink.malformed(reason, raw, detail, this.source());
  }
}

export interface SourceOptions {
  zones: ZoneMapper;
  sink: IngestSink;
  assembler?: AssemblerOptions;
  tally?: IngestTally;
}

/** A pcap/pcapng byte stream (file or stdin) → query records. */
export class CaptureIngest {
  readonly tally: IngestTally;
  private readonly out: TallySink;
  private readonly assembler: QueryAssembler;
  private readonly reader: CaptureReader;
  private readonly packets: PacketDecoder;
  private readonly view = new PacketView();
  private readonly tcp: TcpReassembler;
  /** dnsPort[p] = 1 for a DNS port. */
  private readonly dnsPort = new Uint8Array(65536);
  private fatal = false;

  constructor(
    private readonly source: string,
    options: SourceOptions & { dnsPorts?: ReadonlySet<number> },
  ) {
    const ports = options.dnsPorts ?? new Set([53]);
    for (const p of ports) if (p >= 0 && p < 65536) this.dnsPort[p] = 1;
    this.tally = options.tally ?? new IngestTally();
    this.out = new TallySink(options.sink, this.tally, () => this.source);
    this.assembler = new QueryAssembler(options.zones, this.out, options.assembler);
    this.packets = new PacketDecoder(ports);
    this.tcp = new TcpReassembler({
      message: (s, dns) =>
        this.message(s.ts, s.src, s.srcPort, s.dst, s.dstPort, 'tcp', dns, 0, dns.length),
      error: (reason, detail, raw) => this.out.malformed(reason, raw, detail),
    });
    this.reader = new CaptureReader({
      packet: (p) => this.packet(p.ts, p.linkType, p.data, 0, p.data.length),
      packetAt: (ts, linkType, data, start, end) => this.packet(ts, linkType, data, start, end),
      error: (reason, detail, raw, fatal) => {
        if (fatal) this.fatal = true;
        this.out.malformed(reason, raw, detail);
      },
    });
  }

  /** True once the capture itself is unreadable (bad magic, corrupt record header). */
  get failed(): boolean {
    return this.fatal;
  }

  private packet(ts: number, linkType: number, data: Buffer, start: number, end: number): void {
    this.tally.packets++;
    const v = this.view;
    const kind = this.packets.decodeView(linkType, data, start, end, v);
    if (kind === PACKET_IGNORED) {
      this.tally.ignored++;
      return;
    }
    if (kind !== PACKET_DNS) {
      this.out.malformed(v.reason, data.subarray(start, end), v.detail);
      return;
    }
    if (!v.udp) {
      this.tcp.segment(this.packets.segmentOf(ts, v));
      return;
    }
    // UDP, the hot path: only the resolver's address becomes text (each address once, see
    // AddressTexts), and the DNS message is decoded where it sits in the capture chunk.
    const fromResolver = this.fromResolver(v.srcPort, v.dstPort, data, v.start, v.end);
    this.assembler.onMessageAt(
      ts,
      this.packets.addressText(data, fromResolver ? v.srcAt : v.dstAt, v.addressLength),
      fromResolver ? v.srcPort : v.dstPort,
      'udp',
      data,
      v.start,
      v.end,
    );
  }

  push(chunk: Buffer): void {
    this.reader.push(chunk);
  }

  end(): void {
    this.reader.end();
    this.tcp.finish();
    this.assembler.flush();
  }

  private message(
    ts: number,
    src: string,
    srcPort: number,
    dst: string,
    dstPort: number,
    transport: 'udp' | 'tcp',
    data: Buffer,
    start: number,
    end: number,
  ): void {
    const fromResolver = this.fromResolver(srcPort, dstPort, data, start, end);
    this.assembler.onMessageAt(
      ts,
      fromResolver ? src : dst,
      fromResolver ? srcPort : dstPort,
      transport,
      data,
      start,
      end,
    );
  }

  /** The resolver is the side that is not the DNS port; between two port-53 hosts, the QR bit decides. */
  private fromResolver(
    srcPort: number,
    dstPort: number,
    data: Buffer,
    start: number,
    end: number,
  ): boolean {
    const toDns = this.dnsPort[dstPort] === 1;
    const fromDns = this.dnsPort[srcPort] === 1;
    if (toDns && fromDns) return end - start > 2 && (data[start + 2]! & 0x80) === 0;
    return toDns;
  }
}

/** dnstap protobuf frames (from any Frame Streams source) → query records. */
export class DnstapIngest {
  readonly tally: IngestTally;
  private readonly out: TallySink;
  private readonly assembler: QueryAssembler;
  private identity = 'dnstap';

  constructor(
    private readonly source: string,
    options: SourceOptions,
  ) {
    this.tally = options.tally ?? new IngestTally();
    this.out = new TallySink(options.sink, this.tally, () => this.sourceName());
    this.assembler = new QueryAssembler(options.zones, this.out, options.assembler);
  }

  frame(frame: Buffer): void {
    this.tally.packets++;
    const r = decodeDnstap(frame);
    if (!r.ok) {
      this.out.malformed(r.reason, frame, r.detail);
      return;
    }
    if (r.event === null) {
      this.tally.ignored++;
      return;
    }
    this.identity = r.event.identity;
    this.assembler.onMessage(r.event);
  }

  /** Count a framing problem (handshake, oversize, truncation) against this source. */
  framingError(reason: string, raw: Buffer, detail: string): void {
    this.out.malformed(reason, raw, detail);
  }

  expireBefore(ts: number): void {
    this.assembler.expireBefore(ts);
  }

  flush(): void {
    this.assembler.flush();
  }

  get pendingQueries(): number {
    return this.assembler.pendingQueries;
  }

  private sourceName(): string {
    return `${this.source}:${this.identity}`;
  }
}

/** Single DNS messages (UDP mirror copies) → query records. */
export class DatagramIngest {
  readonly tally: IngestTally;
  private readonly assembler: QueryAssembler;

  constructor(source: string, options: SourceOptions) {
    this.tally = options.tally ?? new IngestTally();
    const out = new TallySink(options.sink, this.tally, () => source);
    this.assembler = new QueryAssembler(options.zones, out, options.assembler);
  }

  /** ts: arrival time — for a live mirror copy the receive time is the traffic's time. */
  datagram(dns: Buffer, ts: number, from: string, fromPort: number): void {
    this.tally.packets++;
    this.assembler.onMessage({ ts, resolver: from, resolverPort: fromPort, transport: 'udp', dns });
  }

  flush(): void {
    this.assembler.flush();
  }
}

/** A .fstrm file (unidirectional Frame Streams) → query records. */
export class FstrmFileIngest {
  private readonly session = new FrameStreamSession({ bidirectional: false });
  private readonly dnstap: DnstapIngest;
  private readonly outputs: SessionOutput[] = [];

  constructor(source: string, options: SourceOptions) {
    this.dnstap = new DnstapIngest(source, options);
  }

  get tally(): IngestTally {
    return this.dnstap.tally;
  }

  get failed(): boolean {
    return this.session.finished && this.tally.malformed.size > 0;
  }

  push(chunk: Buffer): void {
    this.session.push(chunk, this.outputs);
    this.drain();
  }

  end(): void {
    this.session.end(this.outputs);
    this.drain();
    this.dnstap.flush();
  }

  private drain(): void {
    for (const o of this.outputs) {
      if (o.kind === 'data') this.dnstap.frame(o.frame);
      else if (o.kind === 'error') this.dnstap.framingError(o.reason, o.raw, o.detail);
    }
    this.outputs.length = 0;
  }
}
