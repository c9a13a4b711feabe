import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

// patches/kafkajs@2.2.4.patch changes how kafkajs builds a produce request (buffers not
// zero-filled, sized once, two intermediate copies gone). The broker must receive the same bytes
// as before, so the request is checked against the wire format written out here by hand.
/* eslint-disable @typescript-eslint/no-require-imports */
const createRequest = require('kafkajs/src/protocol/request') as (a: {
  correlationId: number;
  clientId: string;
  request: unknown;
}) => Promise<{ buffer: Buffer }>;
const produceV3 = require('kafkajs/src/protocol/requests/produce/v3/request') as (
  a: object,
) => unknown;
const crc32C = require('kafkajs/src/protocol/recordBatch/crc32C') as (b: Buffer) => number;
/* eslint-enable @typescript-eslint/no-require-imports */

interface Msg {
  key: string | Buffer | null;
  value: Buffer | string | null;
  timestamp: number;
  headers?: Record<string, string>;
}

/** Kafka's zigzag varint (records' lengths, deltas and counts). */
function varint(v: number): Buffer {
  let z = BigInt.asUintN(64, (BigInt(v) << 1n) ^ (BigInt(v) >> 63n));
  const out: number[] = [];
  while (z > 0x7fn) {
    out.push(Number(z & 0x7fn) | 0x80);
    z >>= 7n;
  }
  out.push(Number(z));
  return Buffer.from(out);
}
const int8 = (v: number) => Buffer.from([v & 0xff]);
function int16(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeInt16BE(v);
  return b;
}
function int32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(v);
  return b;
}
function int64(v: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(BigInt(v));
  return b;
}
const str = (s: string | null) =>
  s === null ? int16(-1) : Buffer.concat([int16(Buffer.byteLength(s)), Buffer.from(s)]);
const varBytes = (v: string | Buffer | null) => {
  if (v === null) return varint(-1);
  const b = Buffer.from(v);
  return Buffer.concat([varint(b.length), b]);
};

/** RecordBatch v2 (magic 2), uncompressed, not idempotent. */
function recordBatch(messages: Msg[], transactional: boolean): Buffer {
  // kafkajs takes the first and last of the timestamps sorted as strings (Array#sort's default).
  const sorted = messages.map((m) => m.timestamp).sort();
  const first = sorted[0]!;
  const max = sorted[sorted.length - 1]!;
  const records = messages.map((m, i) => {
    const body = Buffer.concat([
      int8(0),
      varint(m.timestamp - first),
      varint(i),
      varBytes(m.key),
      varBytes(m.value),
      varint(Object.keys(m.headers ?? {}).length),
      ...Object.entries(m.headers ?? {}).flatMap(([k, v]) => [varBytes(k), varBytes(v)]),
    ]);
    return Buffer.concat([varint(body.length), body]);
  });
  const body = Buffer.concat([
    int16(transactional ? 16 : 0),
    int32(messages.length - 1),
    int64(first),
    int64(max),
    int64(-1),
    int16(0),
    int32(0),
    int32(records.length),
    ...records,
  ]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32C(body));
  const batch = Buffer.concat([int32(0), int8(2), crc, body]);
  return Buffer.concat([int64(0), int32(batch.length), batch]);
}

function expectedRequest(
  transactionalId: string | null,
  correlationId: number,
  clientId: string,
  acks: number,
  timeout: number,
  topics: { topic: string; partitions: { partition: number; messages: Msg[] }[] }[],
): Buffer {
  const payload = Buffer.concat([
    str(transactionalId),
    int16(acks),
    int32(timeout),
    int32(topics.length),
    ...topics.flatMap((t) => [
      str(t.topic),
      int32(t.partitions.length),
      ...t.partitions.flatMap((p) => {
        const batch = recordBatch(p.messages, transactionalId !== null);
        return [int32(p.partition), int32(batch.length), batch];
      }),
    ]),
  ]);
  const request = Buffer.concat([
    int16(0), // Produce
    int16(3),
    int32(correlationId),
    str(clientId),
    payload,
  ]);
  return Buffer.concat([int32(request.length), request]);
}

describe('kafkajs produce request encoding (patched)', () => {
  it('is the patched encoder', () => {
    const encoder = readFileSync(require.resolve('kafkajs/src/protocol/encoder'), 'utf8');
    expect(encoder).toContain('Sluice patch: allocUnsafe');
    const produce = readFileSync(
      require.resolve('kafkajs/src/protocol/requests/produce/v3/request'),
      'utf8',
    );
    expect(produce).toContain('const encodeUncompressed');
  });

  it.each([
    ['one small message', [1], [10], {}],
    ['query batches over three partitions', [40, 1, 7], [30_000, 300, 200_000], {}],
    ['many tiny messages in one partition', [500], [3], {}],
    ['a value past 1 MiB (one doubling of a pre-sized buffer)', [1], [1_100_000], {}],
    ['messages with headers (the general path)', [20, 3], [5000, 100], { headers: true }],
    ['a transactional producer', [5, 5], [1000, 1000], { transactionalId: 'tx-1' }],
  ])('gives the wire bytes of the protocol: %s', async (_name, counts, sizes, opts) => {
    const { headers, transactionalId = null } = opts as {
      headers?: boolean;
      transactionalId?: string;
    };
    const t0 = 1_767_225_600_000;
    let n = 0;
    const topics = [
      {
        topic: 'sluice.queries.v1',
        partitions: counts.map((count, p) => ({
          partition: p,
          messages: Array.from({ length: count }, (): Msg => {
            n++;
            return {
              key:
                n % 5 === 0 ? null : n % 3 === 0 ? Buffer.from(`zone-${n}.example`) : `zone-${n}`,
              value: n % 7 === 0 ? `text value ${n} é` : randomBytes(1 + ((n * 7919) % sizes[p]!)),
              timestamp: t0 + ((n * 37) % 1000),
              ...(headers && n % 2 === 0 ? { headers: { trace: `t-${n}`, é: 'x' } } : {}),
            };
          }),
        })),
      },
      ...(counts.length > 1
        ? [
            {
              topic: 'other',
              partitions: [
                { partition: 5, messages: [{ key: 'k', value: randomBytes(99), timestamp: t0 }] },
              ],
            },
          ]
        : []),
    ];
    const request = produceV3({
      transactionalId,
      acks: -1,
      timeout: 30_000,
      compression: 0,
      topicData: topics.map((t) => ({
        topic: t.topic,
        partitions: t.partitions.map((p) => ({ ...p, firstSequence: 0 })),
      })),
    });
    const encoded = await createRequest({ correlationId: 4242, clientId: 'sluice-é', request });
    expect(
      encoded.buffer.equals(expectedRequest(transactionalId, 4242, 'sluice-é', -1, 30_000, topics)),
    ).toBe(true);
  });
});
