import { parseCidr } from '@sluice/dns';

/**
 * A minimal MaxMind DB writer for tests (spec: MaxMind-DB-spec.md, format 2.0): an IPv6 tree
 * with 24-bit records, IPv4 networks under ::/96, maps of strings and unsigned integers.
 * Enough to produce files shaped like a vendor's (e.g. ipinfo) without shipping one.
 */
type Value = string | number | { [k: string]: Value } | Value[];

function encode(v: Value): Buffer {
  if (typeof v === 'string') {
    const bytes = Buffer.from(v, 'utf8');
    return Buffer.concat([control(2, bytes.length), bytes]);
  }
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new Error(`unsupported number ${v}`);
    const bytes: number[] = [];
    for (let x = v; x > 0; x = Math.floor(x / 256)) bytes.unshift(x % 256);
    return Buffer.concat([control(6, bytes.length), Buffer.from(bytes)]);
  }
  if (Array.isArray(v)) return Buffer.concat([control(11, v.length), ...v.map(encode)]);
  const entries = Object.entries(v);
  return Buffer.concat([
    control(7, entries.length),
    ...entries.flatMap(([k, x]) => [encode(k), encode(x)]),
  ]);
}

function control(type: number, size: number): Buffer {
  if (size >= 29) {
    if (size > 284) throw new Error('value too large for this writer');
    const head = type <= 7 ? Buffer.from([(type << 5) | 29]) : Buffer.from([29, type - 7]);
    return Buffer.concat([head, Buffer.from([size - 29])]);
  }
  return type <= 7 ? Buffer.from([(type << 5) | size]) : Buffer.from([size, type - 7]);
}

type Rec = { node: number } | { data: number } | null;

export function writeMmdb(
  databaseType: string,
  networks: ReadonlyArray<readonly [cidr: string, record: Record<string, Value>]>,
): Buffer {
  const nodes: [Rec, Rec][] = [[null, null]];
  const data: Buffer[] = [];
  let dataSize = 0;
  for (const [cidr, record] of networks) {
    const r = parseCidr(cidr);
    if (!r) throw new Error(`bad cidr ${cidr}`);
    const len = r.family === 4 ? 96 + Number(cidr.split('/')[1]) : Number(cidr.split('/')[1]);
    const value = r.family === 4 ? BigInt(r.first) : r.first;
    const offset = dataSize;
    const bytes = encode(record);
    data.push(bytes);
    dataSize += bytes.length;
    let node = 0;
    for (let depth = 0; depth < len; depth++) {
      const bit = Number((value >> BigInt(127 - depth)) & 1n);
      if (depth === len - 1) {
        nodes[node]![bit] = { data: offset };
        break;
      }
      const next = nodes[node]![bit];
      if (next && 'node' in next) node = next.node;
      else {
        nodes.push([null, null]);
        nodes[node]![bit] = { node: nodes.length - 1 };
        node = nodes.length - 1;
      }
    }
  }
  const count = nodes.length;
  const tree = Buffer.alloc(count * 6);
  const value = (r: Rec) => (r === null ? count : 'node' in r ? r.node : count + 16 + r.data);
  nodes.forEach(([l, r], i) => {
    tree.writeUIntBE(value(l), i * 6, 3);
    tree.writeUIntBE(value(r), i * 6 + 3, 3);
  });
  const metadata = Buffer.concat([
    Buffer.from('abcdef4d61784d696e642e636f6d', 'hex'),
    encode({
      node_count: count,
      record_size: 24,
      ip_version: 6,
      database_type: databaseType,
      languages: ['en'],
      binary_format_major_version: 2,
      binary_format_minor_version: 0,
      build_epoch: 1_700_000_000,
      description: { en: 'Sluice test database' },
    }),
  ]);
  return Buffer.concat([tree, Buffer.alloc(16), ...data, metadata]);
}
