/**
 * Streaming pcap and pcapng reader: push chunks (a file, or stdin from `tcpdump -w -`), get
 * captured packets with their capture timestamps. Packets are views into the pushed chunks:
 * use them before the next push, or copy.
 */

export interface CapturedPacket {
  /** Capture time, epoch ms with sub-ms fraction. */
  ts: number;
  linkType: number;
  data: Buffer;
  /** Length on the wire; > data.length when the capture's snaplen cut the packet. */
  origLength: number;
}

export type CaptureErrorReason =
  'capture-bad-magic' | 'capture-truncated' | 'capture-bad-block' | 'capture-unknown-interface';

export interface CaptureSink {
  packet(p: CapturedPacket): void;
  /**
   * Optional hot path for classic pcap records: the packet is data[start, end), with no
   * CapturedPacket or Buffer view made for it. When present it is called instead of packet().
   */
  packetAt?(ts: number, linkType: number, data: Buffer, start: number, end: number): void;
  /** fatal: the rest of the input cannot be read. */
  error(reason: CaptureErrorReason, detail: string, raw: Buffer, fatal: boolean): void;
}

const PCAP_MAGIC_US = 0xa1b2c3d4;
const PCAP_MAGIC_NS = 0xa1b23c4d;
const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_BYTE_ORDER = 0x1a2b3c4d;
/** Larger than any real snaplen; a bigger record length means the file is corrupt. */
const MAX_RECORD = 16 * 1024 * 1024;

export type CaptureFormat = 'pcap' | 'pcapng' | 'fstrm' | 'unknown';

/** Sniff the first bytes of a file or stream. */
export function detectFormat(head: Buffer): CaptureFormat {
  if (head.length < 4) return 'unknown';
  const be = head.readUInt32BE(0);
  const le = head.readUInt32LE(0);
  if (be === PCAPNG_SHB) return 'pcapng';
  if ([PCAP_MAGIC_US, PCAP_MAGIC_NS].includes(be) || [PCAP_MAGIC_US, PCAP_MAGIC_NS].includes(le))
    return 'pcap';
  // Frame Streams files start with the control-frame escape (a zero length) then START.
  if (be === 0 && head.length >= 12 && head.readUInt32BE(8) === 2) return 'fstrm';
  return 'unknown';
}

interface Interface {
  linkType: number;
  /** Timestamp units per second. */
  unitsPerSecond: number;
}

export class CaptureReader {
  private pending: Buffer | null = null;
  private format: 'pcap' | 'pcapng' | null = null;
  private failed = false;
  // pcap state
  private le = true;
  private nanos = false;
  private pcapLinkType = 1;
  // pcapng state
  private interfaces: Interface[] = [];
  private lastTs = 0;
  packets = 0;

  constructor(private readonly sink: CaptureSink) {}

  push(chunk: Buffer): void {
    if (this.failed) return;
    if (this.format !== null && this.pending !== null && this.pending.length > 0) {
      // Finish the record that straddles the chunk boundary in a small buffer of its own, then
      // read the rest of the chunk where it is: joining leftovers to the whole chunk copied
      // every byte of the capture once more, into a fresh (page-faulting) buffer per chunk.
      const pending = this.pending;
      const need = this.recordBytes(pending);
      if (need === null || pending.length + chunk.length < need) {
        this.read(Buffer.concat([pending, chunk]), 0);
        return;
      }
      const head = need - pending.length;
      this.pending = null;
      this.read(Buffer.concat([pending, chunk.subarray(0, head)]), 0);
      if (this.failed) return;
      if (this.pending !== null) {
        // Not consumed after all (cannot happen for a complete record): keep the old way.
        this.read(Buffer.concat([this.pending, chunk.subarray(head)]), 0);
        return;
      }
      this.read(chunk.subarray(head), 0);
      return;
    }
    const buf =
      this.pending && this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    let offset = 0;
    if (this.format === null) {
      if (buf.length < 24) {
        this.pending = buf;
        return;
      }
      const detected = detectFormat(buf);
      if (detected === 'pcap') {
        offset = this.readPcapHeader(buf);
        this.format = 'pcap';
      } else if (detected === 'pcapng') {
        this.format = 'pcapng';
      } else {
        this.fail(
          'capture-bad-magic',
          `not a pcap or pcapng stream (starts 0x${buf.readUInt32BE(0).toString(16)})`,
          buf.subarray(0, 64),
        );
        return;
      }
    }
    this.read(buf, offset);
  }

  /** Read the records of buf from offset on; keep what is left for the next push. */
  private read(buf: Buffer, offset: number): void {
    const consumed =
      this.format === 'pcap' ? this.readPcapRecords(buf, offset) : this.readBlocks(buf, offset);
    if (this.failed) return;
    const rest = buf.subarray(consumed);
    // Keep leftovers small and independent of the (possibly large) chunk they came from.
    this.pending = rest.length > 0 ? Buffer.from(rest) : null;
  }

  /**
   * Bytes the first record (pcap) or block (pcapng) of `buf` takes, when its header is complete
   * and its length plausible; null otherwise (the readers then decide, as for any input).
   */
  private recordBytes(buf: Buffer): number | null {
    if (this.format === 'pcap') {
      if (buf.length < 16) return null;
      const incl = this.u32(buf, 8);
      return incl > MAX_RECORD ? null : 16 + incl;
    }
    if (buf.length < 12) return null;
    const typeBE = buf.readUInt32BE(0);
    // A section header may switch byte order: let readBlocks work it out from whole input.
    if (typeBE === PCAPNG_SHB) return null;
    const length = this.u32(buf, 4);
    return length < 12 || length % 4 !== 0 || length > MAX_RECORD ? null : length;
  }

  /** End of input: an incomplete record means the capture was cut short. */
  end(): void {
    if (this.failed) return;
    if (this.pending && this.pending.length > 0) {
      this.sink.error(
        'capture-truncated',
        `input ends inside a record (${this.pending.length} bytes left)`,
        this.pending.subarray(0, 64),
        true,
      );
    } else if (this.format === null) {
      this.sink.error(
        'capture-truncated',
        'input ends before the file header',
        Buffer.alloc(0),
        true,
      );
    }
    this.pending = null;
  }

  private fail(reason: CaptureErrorReason, detail: string, raw: Buffer): void {
    this.failed = true;
    this.pending = null;
    this.sink.error(reason, detail, raw, true);
  }

  private readPcapHeader(buf: Buffer): number {
    const be = buf.readUInt32BE(0);
    this.le = !(be === PCAP_MAGIC_US || be === PCAP_MAGIC_NS);
    const magic = this.le ? buf.readUInt32LE(0) : be;
    this.nanos = magic === PCAP_MAGIC_NS;
    const linkType = this.le ? buf.readUInt32LE(20) : buf.readUInt32BE(20);
    // The upper bits of the link-type field carry FCS information (pcap-savefile(5)).
    this.pcapLinkType = linkType & 0x0fffffff;
    return 24;
  }

  private u32(buf: Buffer, at: number): number {
    return this.le ? buf.readUInt32LE(at) : buf.readUInt32BE(at);
  }

  private u16(buf: Buffer, at: number): number {
    return this.le ? buf.readUInt16LE(at) : buf.readUInt16BE(at);
  }

  private readPcapRecords(buf: Buffer, start: number): number {
    let offset = start;
    const le = this.le;
    const packetAt = this.sink.packetAt?.bind(this.sink);
    while (offset + 16 <= buf.length) {
      // Bounds checked by the loop condition: read by hand (readUInt32* re-checks per call).
      const sec = le ? u32le(buf, offset) : u32be(buf, offset);
      const frac = le ? u32le(buf, offset + 4) : u32be(buf, offset + 4);
      const incl = le ? u32le(buf, offset + 8) : u32be(buf, offset + 8);
      if (incl > MAX_RECORD) {
        this.fail(
          'capture-bad-block',
          `record of ${incl} bytes: the capture is corrupt`,
          buf.subarray(offset, offset + 16),
        );
        return offset;
      }
      if (offset + 16 + incl > buf.length) break;
      const ts = sec * 1000 + (this.nanos ? frac / 1e6 : frac / 1e3);
      this.packets++;
      if (packetAt) {
        packetAt(ts, this.pcapLinkType, buf, offset + 16, offset + 16 + incl);
        offset += 16 + incl;
        continue;
      }
      const orig = this.u32(buf, offset + 12);
      this.sink.packet({
        ts,
        linkType: this.pcapLinkType,
        data: buf.subarray(offset + 16, offset + 16 + incl),
        origLength: orig,
      });
      offset += 16 + incl;
    }
    return offset;
  }

  private readBlocks(buf: Buffer, start: number): number {
    let offset = start;
    while (offset + 12 <= buf.length) {
      const typeBE = buf.readUInt32BE(offset);
      if (typeBE === PCAPNG_SHB) {
        // A new section may switch byte order; its byte-order magic tells which.
        const bom = buf.readUInt32LE(offset + 8);
        if (bom === PCAPNG_BYTE_ORDER) this.le = true;
        else if (buf.readUInt32BE(offset + 8) === PCAPNG_BYTE_ORDER) this.le = false;
        else {
          this.fail(
            'capture-bad-block',
            'section header with an unknown byte-order magic',
            buf.subarray(offset, offset + 64),
          );
          return offset;
        }
      }
      const type = this.u32(buf, offset);
      const length = this.u32(buf, offset + 4);
      if (length < 12 || length % 4 !== 0 || length > MAX_RECORD) {
        this.fail(
          'capture-bad-block',
          `block of type ${type} with length ${length}`,
          buf.subarray(offset, offset + 64),
        );
        return offset;
      }
      if (offset + length > buf.length) break;
      const block = buf.subarray(offset, offset + length);
      switch (type) {
        case PCAPNG_SHB:
          this.interfaces = [];
          break;
        case 1:
          this.readInterface(block);
          break;
        case 6:
          this.readPacketBlock(block, this.u32(block, 8), 12);
          break;
        case 2: // obsolete Packet Block: 16-bit interface id
          this.readPacketBlock(block, this.u16(block, 8), 12);
          break;
        case 3: {
          if (length < 16) {
            this.shortBlock(block);
            break;
          }
          const iface = this.interfaces[0];
          const orig = this.u32(block, 8);
          const cap = Math.min(orig, length - 16);
          if (iface) {
            this.packets++;
            // Simple Packet Blocks carry no timestamp: keep the previous one.
            this.sink.packet({
              ts: this.lastTs,
              linkType: iface.linkType,
              data: block.subarray(12, 12 + cap),
              origLength: orig,
            });
          }
          break;
        }
        default:
          break; // statistics, name resolution, custom blocks: not ours
      }
      offset += length;
    }
    return offset;
  }

  private readInterface(block: Buffer): void {
    const linkType = this.u16(block, 8);
    let unitsPerSecond = 1e6;
    let at = 16;
    const end = block.length - 4;
    while (at + 4 <= end) {
      const code = this.u16(block, at);
      const len = this.u16(block, at + 2);
      if (code === 0) break;
      if (code === 9 && len >= 1 && at + 4 < end) {
        const v = block[at + 4]!;
        unitsPerSecond = v & 0x80 ? 2 ** (v & 0x7f) : 10 ** v;
      }
      at += 4 + Math.ceil(len / 4) * 4;
    }
    this.interfaces.push({ linkType, unitsPerSecond });
  }

  /** A packet block too short for its own fixed fields: counted, and the reader moves on. */
  private shortBlock(block: Buffer): void {
    this.sink.error(
      'capture-bad-block',
      `packet block of type ${this.u32(block, 0)} is ${block.length} bytes, shorter than its fixed fields`,
      block.subarray(0, 64),
      false,
    );
  }

  private readPacketBlock(block: Buffer, ifaceId: number, tsAt: number): void {
    // Timestamp (8), captured and original length (8), then data and the 4-byte trailer.
    if (block.length < tsAt + 20) {
      this.shortBlock(block);
      return;
    }
    const iface = this.interfaces[ifaceId];
    if (!iface) {
      this.sink.error(
        'capture-unknown-interface',
        `packet for undeclared interface ${ifaceId}`,
        block.subarray(0, 64),
        false,
      );
      return;
    }
    const high = this.u32(block, tsAt);
    const low = this.u32(block, tsAt + 4);
    const cap = this.u32(block, tsAt + 8);
    const orig = this.u32(block, tsAt + 12);
    const dataAt = tsAt + 16;
    if (dataAt + cap > block.length - 4) {
      this.sink.error(
        'capture-bad-block',
        `packet block claims ${cap} captured bytes`,
        block.subarray(0, 64),
        false,
      );
      return;
    }
    const ts = unitsToMs(high, low, iface.unitsPerSecond);
    this.lastTs = ts;
    this.packets++;
    this.sink.packet({
      ts,
      linkType: iface.linkType,
      data: block.subarray(dataAt, dataAt + cap),
      origLength: orig,
    });
  }
}

function u32le(buf: Buffer, at: number): number {
  return (buf[at]! | (buf[at + 1]! << 8) | (buf[at + 2]! << 16) | (buf[at + 3]! << 24)) >>> 0;
}

function u32be(buf: Buffer, at: number): number {
  return ((buf[at]! << 24) | (buf[at + 1]! << 16) | (buf[at + 2]! << 8) | buf[at + 3]!) >>> 0;
}

/** Whole ms plus fraction, computed so µs and ns timestamps come out exactly as pcap's do. */
function unitsToMs(high: number, low: number, unitsPerSecond: number): number {
  const perMs = unitsPerSecond / 1000;
  const units = high * 4294967296 + low;
  if (!Number.isInteger(perMs) || perMs < 1) return units / perMs;
  if (Number.isSafeInteger(units)) return Math.floor(units / perMs) + (units % perMs) / perMs;
  const u = (BigInt(high) << 32n) | BigInt(low);
  const p = BigInt(perMs);
  return Number(u / p) + Number(u % p) / perMs;
}
