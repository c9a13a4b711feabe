import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

// The CRC32-C kafkajs puts in every record batch is replaced by a faster one through the pnpm
// patch in patches/kafkajs@2.2.4.patch. A wrong checksum makes the broker reject every produce
// request, so the patched function must equal the original byte-at-a-time algorithm exactly.
const modulePath = require.resolve('kafkajs/src/protocol/recordBatch/crc32C/crc32C');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const crc32C = require(modulePath) as (buffer: Buffer) => number;

/** The original kafkajs algorithm (one table lookup per byte), table built from the polynomial. */
const TABLE = new Int32Array(256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  TABLE[n] = c;
}
function referenceCrc32C(buffer: Uint8Array): number {
  let crc = -1;
  for (const byte of buffer) crc = TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ -1) >>> 0;
}

describe('kafkajs CRC32-C (patched)', () => {
  it('is the patched slicing-by-16 implementation', () => {
    expect(readFileSync(modulePath, 'utf8')).toContain('slicing-by-16');
  });

  it('gives the published check values', () => {
    expect(crc32C(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32C(Buffer.alloc(0))).toBe(0);
    // RFC 3720 (iSCSI) B.4 test vectors.
    expect(crc32C(Buffer.alloc(32, 0))).toBe(0x8a9136aa);
    expect(crc32C(Buffer.alloc(32, 0xff))).toBe(0x62a8ab43);
    expect(crc32C(Buffer.from(Array.from({ length: 32 }, (_, i) => i)))).toBe(0x46dd794e);
    expect(crc32C(Buffer.from(Array.from({ length: 32 }, (_, i) => 31 - i)))).toBe(0x113fdb5c);
  });

  it('equals the byte-wise algorithm on random buffers of every length class', () => {
    const lengths = [
      ...Array.from({ length: 70 }, (_, i) => i),
      255,
      256,
      257,
      4095,
      65_537,
      900 * 1024 + 3,
    ];
    for (const length of lengths) {
      const buffer = randomBytes(length);
      expect(crc32C(buffer)).toBe(referenceCrc32C(buffer));
    }
  });

  it('reads only its own view of a larger buffer', () => {
    const whole = randomBytes(4096);
    for (const [start, end] of [
      [1, 4000],
      [3, 19],
      [7, 7 + 16 * 9],
    ] as const) {
      const view = whole.subarray(start, end);
      expect(crc32C(view)).toBe(referenceCrc32C(view));
    }
  });
});
