import { segmentPayload, type DnsSegment } from './packet-decoder';

export type TcpErrorReason =
  'tcp-gap' | 'tcp-incomplete-message' | 'tcp-flow-evicted' | 'tcp-zero-length';

export interface TcpMessageSink {
  message(segment: DnsSegment, dns: Buffer): void;
  error(reason: TcpErrorReason, detail: string, raw: Buffer): void;
}

interface Flow {
  nextSeq: number;
  /** Bytes of an incomplete length-prefixed message. */
  pending: Buffer | null;
}

/**
 * DNS over TCP (RFC 1035 4.2.2 / RFC 7766): messages are prefixed with a 16-bit length and may
 * span segments, or share one. In-order reassembly per direction; retransmitted bytes are
 * skipped; a hole (lost or reordered segment) is counted as tcp-gap and the flow restarts at
 * the next segment, since the message boundary is lost. Flows are bounded (oldest evicted).
 */
export class TcpReassembler {
  private readonly flows = new Map<string, Flow>();

  constructor(
    private readonly sink: TcpMessageSink,
    private readonly maxFlows = 10_000,
  ) {}

  get openFlows(): number {
    return this.flows.size;
  }

  segment(s: DnsSegment): void {
    const key = `${s.src}|${s.srcPort}|${s.dst}|${s.dstPort}`;
    let flow = this.flows.get(key);
    if (s.syn) {
      flow = { nextSeq: (s.seq + 1) >>> 0, pending: null };
      this.setFlow(key, flow);
    }
    if (s.end > s.start) {
      if (!flow) {
        // Capture started mid-connection: assume this segment starts a message.
        flow = { nextSeq: s.seq, pending: null };
        this.setFlow(key, flow);
      }
      this.data(flow, s);
    }
    if ((s.fin || s.rst) && flow) {
      if (flow.pending && flow.pending.length > 0)
        this.sink.error(
          'tcp-incomplete-message',
          `connection closed with ${flow.pending.length} bytes of an unfinished message`,
          flow.pending.subarray(0, 64),
        );
      this.flows.delete(key);
    }
  }

  /** End of capture: unfinished messages are counted, not silently dropped. */
  finish(): void {
    for (const flow of this.flows.values()) {
      if (flow.pending && flow.pending.length > 0)
        this.sink.error(
          'tcp-incomplete-message',
          `capture ended with ${flow.pending.length} bytes of an unfinished message`,
          flow.pending.subarray(0, 64),
        );
    }
    this.flows.clear();
  }

  private setFlow(key: string, flow: Flow): void {
    this.flows.delete(key);
    this.flows.set(key, flow);
    if (this.flows.size > this.maxFlows) {
      const [oldestKey, oldest] = this.flows.entries().next().value as [string, Flow];
      this.flows.delete(oldestKey);
      if (oldest.pending && oldest.pending.length > 0)
        this.sink.error(
          'tcp-flow-evicted',
          `too many open TCP flows; dropped ${oldest.pending.length} pending bytes`,
          oldest.pending.subarray(0, 64),
        );
    }
  }

  private data(flow: Flow, s: DnsSegment): void {
    let payload = segmentPayload(s);
    const rel = (s.seq - flow.nextSeq) | 0;
    if (rel < 0) {
      if (rel + payload.length <= 0) return; // pure retransmission
      payload = payload.subarray(-rel);
    } else if (rel > 0) {
      this.sink.error(
        'tcp-gap',
        `${rel} bytes missing before seq ${s.seq}`,
        (flow.pending ?? Buffer.alloc(0)).subarray(0, 64),
      );
      flow.pending = null;
    }
    flow.nextSeq = (s.seq + s.end - s.start) >>> 0;
    let buf =
      flow.pending && flow.pending.length > 0 ? Buffer.concat([flow.pending, payload]) : payload;
    while (buf.length >= 2) {
      const length = buf.readUInt16BE(0);
      if (length === 0) {
        this.sink.error('tcp-zero-length', 'zero-length DNS message on TCP', buf.subarray(0, 2));
        buf = buf.subarray(2);
        continue;
      }
      if (buf.length < 2 + length) break;
      this.sink.message(s, buf.subarray(2, 2 + length));
      buf = buf.subarray(2 + length);
    }
    // Copy: the segment's bytes belong to a capture chunk that is about to be reused.
    flow.pending = buf.length > 0 ? Buffer.from(buf) : null;
  }
}
