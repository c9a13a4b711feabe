import { CaptureReader, type CaptureErrorReason, type CapturedPacket } from './pcap-reader';

function read(bytes: Buffer): {
  packets: CapturedPacket[];
  errors: [CaptureErrorReason, boolean][];
} {
  const packets: CapturedPacket[] = [];
  const errors: [CaptureErrorReason, boolean][] = [];
  const reader = new CaptureReader({
    packet: (p) => packets.push(p),
    error: (reason, _detail, _raw, fatal) => errors.push([reason, fatal]),
  });
  reader.push(bytes);
  reader.end();
  return { packets, errors };
}

/** A little-endian pcapng block, body padded to 32 bits. */
function block(type: number, body: Buffer): Buffer {
  const out = Buffer.alloc(12 + Math.ceil(body.length / 4) * 4);
  out.writeUInt32LE(type, 0);
  out.writeUInt32LE(out.length, 4);
  body.copy(out, 8);
  out.writeUInt32LE(out.length, out.length - 4);
  return out;
}

const shb = block(0x0a0d0d0a, Buffer.from('4d3c2b1a01000000ffffffffffffffff', 'hex'));
const idb = block(1, Buffer.from('01000000ffff0000', 'hex'));

describe('pcapng packet blocks shorter than their fixed fields', () => {
  it('counts an Enhanced Packet Block of 12 bytes and keeps reading (it threw a RangeError)', () => {
    const epb = block(6, Buffer.from('00000000', 'hex'));
    const next = block(
      6,
      Buffer.concat([Buffer.alloc(12), Buffer.from('0100000001000000aa', 'hex')]),
    );
    const r = read(Buffer.concat([shb, idb, epb, next]));
    expect(r.errors).toEqual([['capture-bad-block', false]]);
    expect(r.packets).toHaveLength(1);
  });

  it('counts short obsolete Packet Blocks and Simple Packet Blocks', () => {
    const pb = block(2, Buffer.from('0000000000000000', 'hex'));
    const spb = block(3, Buffer.alloc(0));
    expect(read(Buffer.concat([shb, idb, pb, spb])).errors).toEqual([
      ['capture-bad-block', false],
      ['capture-bad-block', false],
    ]);
  });

  it('survives the fuzz counterexample (pcapng target, a block length set to 12)', () => {
    // Minimised by fast-check from a traffic-sim pcapng: the second EPB's length became 12.
    const found = Buffer.from(
      '0a0d0d0a1c0000004d3c2b1a01000000ffffffffffffffff1c000000010000002000000001000000' +
        'ffff000009000100090000000000000020000000040000001c00000001000800c00002356e73310000' +
        '0000001c000000060000000c00000000000000fe9c9717002c31365a0000005a000000020000000001' +
        '02000000000208004500004c00004000401142b633599a29c63364350d520035003800000a7f000000' +
        '0100000000000107636861742d7573076578616d706c6503636f6d000001000100002904d000000000' +
        '000000007c000000',
      'hex',
    );
    expect(() => read(found)).not.toThrow();
    expect(read(found).errors[0]).toEqual(['capture-bad-block', false]);
  });
});
