import fc from 'fast-check';

/**
 * Mutation-based inputs for the fuzz targets: start from a real input (a packet dns-packet built,
 * a capture the repo's writer produced, a dnstap stream, an encoded batch, a signed AXFR query…)
 * and damage it the way hostile senders and broken captures do. Each mutant carries its recipe,
 * so fast-check shrinks a failure to the fewest, smallest mutations of the simplest seed.
 */

/** A length or count field of a seed: the first thing a hostile sender lies about. */
export interface Field {
  at: number;
  size: 1 | 2 | 4;
  /** Little-endian (pcap records, batch encodings); network order otherwise. */
  le?: boolean;
}

/** A real input the mutations start from. */
export interface Seed {
  label: string;
  bytes: Buffer;
  /** Declared length/count fields, corrupted on purpose by the `field` mutation. */
  fields?: readonly Field[];
}

export type Mutation =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'byte'; at: number; value: number }
  /** Boundary integer anywhere: catches length fields nobody declared. */
  | { op: 'int'; at: number; size: 1 | 2 | 4; le: boolean; pick: number }
  /** A boundary double (±Infinity, NaN, -0, huge, tiny) anywhere: timestamps, scores. */
  | { op: 'float'; at: number; le: boolean; pick: number }
  /** A declared field set to 0, 1, its value ±1, doubled, the maximum, half-maximum or random. */
  | { op: 'field'; field: number; pick: number; random: number }
  | { op: 'truncate'; at: number }
  | { op: 'insert'; at: number; bytes: Uint8Array }
  | { op: 'delete'; at: number; count: number }
  | { op: 'repeat'; at: number; count: number; times: number }
  /** This input's head followed by another seed's tail. */
  | { op: 'splice'; seed: number; at: number; from: number }
  | { op: 'fill'; at: number; count: number; value: number }
  /** Pure noise instead of the input. */
  | { op: 'random'; bytes: Uint8Array };

export interface Mutant {
  /** Index of the seed it started from. */
  seed: number;
  mutations: readonly Mutation[];
  bytes: Buffer;
}

const INTERESTING = [
  0, 1, 2, 4, 8, 12, 16, 20, 24, 32, 64, 0x7f, 0x80, 0xff, 0x100, 0x3fff, 0x7fff, 0x8000, 0xfffe,
  0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff,
] as const;

const FLOATS = [
  Infinity,
  -Infinity,
  NaN,
  -0,
  Number.MAX_VALUE,
  2 ** 53,
  1e300,
  5e-324,
  -1,
] as const;

function writeInt(buf: Buffer, at: number, size: 1 | 2 | 4, le: boolean, value: number): void {
  if (at + size > buf.length) return;
  const v = size === 1 ? value & 0xff : size === 2 ? value & 0xffff : value >>> 0;
  if (size === 1) buf[at] = v;
  else if (size === 2) {
    if (le) buf.writeUInt16LE(v, at);
    else buf.writeUInt16BE(v, at);
  } else if (le) buf.writeUInt32LE(v, at);
  else buf.writeUInt32BE(v, at);
}

function readInt(buf: Buffer, f: Field): number {
  if (f.size === 1) return buf[f.at]!;
  if (f.size === 2) return f.le ? buf.readUInt16LE(f.at) : buf.readUInt16BE(f.at);
  return f.le ? buf.readUInt32LE(f.at) : buf.readUInt32BE(f.at);
}

function fieldValue(current: number, size: 1 | 2 | 4, pick: number, random: number): number {
  const max = size === 1 ? 0xff : size === 2 ? 0xffff : 0xffffffff;
  const choices = [
    0,
    1,
    current - 1,
    current + 1,
    current * 2,
    max,
    max - 1,
    Math.floor(max / 2),
    Math.floor(max / 2) + 1,
    current + 16,
    random,
    // Small lengths (aligned or not): shorter than the fixed part of what they announce.
    random % 64,
    (random % 16) * 4,
    Math.max(0, current - 1 - (random % 32)),
  ];
  return choices[pick % choices.length]! >>> 0;
}

/**
 * Apply a recipe to a copy of `base`. Positions wrap modulo the current length, so a recipe
 * stays meaningful (and shrinks towards offset 0) whatever the input's size.
 */
export function applyMutations(
  base: Buffer,
  mutations: readonly Mutation[],
  seeds: readonly Seed[] = [],
  fields: readonly Field[] = [],
): Buffer {
  let buf = Buffer.from(base);
  for (const m of mutations) {
    const n = buf.length;
    switch (m.op) {
      case 'flip':
        if (n > 0) buf[m.at % n]! ^= 1 << m.bit;
        break;
      case 'byte':
        if (n > 0) buf[m.at % n] = m.value;
        break;
      case 'int':
        if (n > 0) writeInt(buf, m.at % n, m.size, m.le, INTERESTING[m.pick % INTERESTING.length]!);
        break;
      case 'float':
        if (n >= 8) {
          const at = m.at % (n - 7);
          const v = FLOATS[m.pick % FLOATS.length]!;
          if (m.le) buf.writeDoubleLE(v, at);
          else buf.writeDoubleBE(v, at);
        }
        break;
      case 'field': {
        const f = fields[m.field % Math.max(1, fields.length)];
        if (!f || f.at + f.size > n) break;
        writeInt(
          buf,
          f.at,
          f.size,
          f.le ?? false,
          fieldValue(readInt(buf, f), f.size, m.pick, m.random),
        );
        break;
      }
      case 'truncate':
        buf = buf.subarray(0, n === 0 ? 0 : m.at % n);
        break;
      case 'insert': {
        const at = n === 0 ? 0 : m.at % (n + 1);
        buf = Buffer.concat([buf.subarray(0, at), m.bytes, buf.subarray(at)]);
        break;
      }
      case 'delete': {
        if (n === 0) break;
        const at = m.at % n;
        buf = Buffer.concat([buf.subarray(0, at), buf.subarray(at + m.count)]);
        break;
      }
      case 'repeat': {
        if (n === 0) break;
        const at = m.at % n;
        const chunk = buf.subarray(at, at + m.count);
        buf = Buffer.concat([
          buf.subarray(0, at + chunk.length),
          ...Array<Buffer>(m.times).fill(chunk),
          buf.subarray(at + chunk.length),
        ]);
        break;
      }
      case 'splice': {
        const other = seeds.length > 0 ? seeds[m.seed % seeds.length]!.bytes : buf;
        const at = n === 0 ? 0 : m.at % n;
        const from = other.length === 0 ? 0 : m.from % other.length;
        buf = Buffer.concat([buf.subarray(0, at), other.subarray(from)]);
        break;
      }
      case 'fill':
        if (n > 0) {
          const at = m.at % n;
          buf.fill(m.value, at, Math.min(n, at + m.count));
        }
        break;
      case 'random':
        buf = Buffer.from(m.bytes);
        break;
    }
  }
  return buf;
}

export interface MutationOptions {
  /** Most mutations per input (default 6; the array is biased towards few). */
  maxMutations?: number;
  /** Longest inserted or random run of bytes (default 64). */
  maxBytes?: number;
}

/** One mutation, weighted towards the small damage real decoders meet most. */
export function mutationArbitrary(o: MutationOptions = {}): fc.Arbitrary<Mutation> {
  const maxBytes = o.maxBytes ?? 64;
  const at = fc.nat({ max: 1 << 20 });
  return fc.oneof(
    {
      weight: 6,
      arbitrary: fc.record({ op: fc.constant('flip' as const), at, bit: fc.nat({ max: 7 }) }),
    },
    {
      weight: 3,
      arbitrary: fc.record({ op: fc.constant('byte' as const), at, value: fc.nat({ max: 255 }) }),
    },
    {
      weight: 4,
      arbitrary: fc.record({
        op: fc.constant('int' as const),
        at,
        size: fc.constantFrom(1 as const, 2 as const, 4 as const),
        le: fc.boolean(),
        pick: fc.nat({ max: INTERESTING.length - 1 }),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        op: fc.constant('float' as const),
        at,
        le: fc.boolean(),
        pick: fc.nat({ max: FLOATS.length - 1 }),
      }),
    },
    {
      weight: 6,
      arbitrary: fc.record({
        op: fc.constant('field' as const),
        field: fc.nat({ max: 1 << 16 }),
        pick: fc.nat({ max: 13 }),
        random: fc.nat(),
      }),
    },
    { weight: 3, arbitrary: fc.record({ op: fc.constant('truncate' as const), at }) },
    {
      weight: 2,
      arbitrary: fc.record({
        op: fc.constant('insert' as const),
        at,
        bytes: fc.uint8Array({ minLength: 1, maxLength: maxBytes }),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        op: fc.constant('delete' as const),
        at,
        count: fc.integer({ min: 1, max: 64 }),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        op: fc.constant('repeat' as const),
        at,
        count: fc.integer({ min: 1, max: 128 }),
        times: fc.integer({ min: 1, max: 8 }),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        op: fc.constant('splice' as const),
        seed: fc.nat({ max: 1 << 16 }),
        at,
        from: at,
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        op: fc.constant('fill' as const),
        at,
        count: fc.integer({ min: 1, max: 64 }),
        value: fc.constantFrom(0, 0xff, 0x41, 0xc0),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        op: fc.constant('random' as const),
        bytes: fc.uint8Array({ maxLength: maxBytes * 4 }),
      }),
    },
  );
}

/** A recipe: which seed, and what to do to it (sometimes nothing: valid inputs stay in the mix). */
export function recipeArbitrary(
  seedCount: number,
  o: MutationOptions = {},
): fc.Arbitrary<{ seed: number; mutations: Mutation[] }> {
  if (seedCount < 1) throw new Error('a fuzz target needs at least one seed');
  return fc.record({
    seed: fc.nat({ max: seedCount - 1 }),
    mutations: fc.array(mutationArbitrary(o), { minLength: 0, maxLength: o.maxMutations ?? 6 }),
  });
}

/** Mutants of `seeds`, bytes applied. */
export function mutants(seeds: readonly Seed[], o: MutationOptions = {}): fc.Arbitrary<Mutant> {
  return recipeArbitrary(seeds.length, o).map(({ seed, mutations }) => {
    const s = seeds[seed]!;
    return { seed, mutations, bytes: applyMutations(s.bytes, mutations, seeds, s.fields) };
  });
}

/** Where a stream input is cut into the chunks a socket or file read would deliver. */
export const chunkSizes = (): fc.Arbitrary<number[]> =>
  fc.array(fc.oneof(fc.integer({ min: 1, max: 16 }), fc.integer({ min: 1, max: 4096 })), {
    maxLength: 6,
  });

/** Cut `bytes` at the given chunk sizes (the rest goes in one last chunk). */
export function chunked(bytes: Buffer, sizes: readonly number[]): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  for (const size of sizes) {
    if (at >= bytes.length) break;
    out.push(bytes.subarray(at, at + size));
    at += size;
  }
  if (at < bytes.length) out.push(bytes.subarray(at));
  return out;
}

/** A failing input, printable: seed label, recipe, and the bytes in hex (cut at `max`). */
export function describeMutant(seeds: readonly Seed[], m: Mutant, max = 512): string {
  const hex = m.bytes.subarray(0, max).toString('hex');
  return [
    `seed ${m.seed} (${seeds[m.seed]?.label ?? '?'})`,
    `mutations ${JSON.stringify(m.mutations, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v))}`,
    `bytes (${m.bytes.length}) ${hex}${m.bytes.length > max ? '…' : ''}`,
  ].join('\n');
}
