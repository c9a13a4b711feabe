/**
 * Two independent 32-bit hashes of a name in one pass (FNV-style multiply per byte, murmur3
 * finaliser). HyperLogLog uses h1; the Bloom filter derives k probes from h1 and h2
 * (Kirsch–Mitzenmacher double hashing), so each name is hashed once per query.
 */
export interface Hash2 {
  h1: number;
  h2: number;
}

// A module-scope binding: under jest's vm sandbox `Math.imul` in this loop is a global lookup
// per call (hash2 ran ~100× slower in the unit tests); the same function either way.
const { imul } = Math;

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** hash2 of a string's UTF-8 bytes (tests and callers off the hot path). */
export function hash2(text: string, out: Hash2 = { h1: 0, h2: 0 }): Hash2 {
  const b = Buffer.from(text, 'utf8');
  return hash2Bytes(b, 0, b.length, out);
}

/**
 * hash2 of the bytes [start, end) of `b` — names as they come off the wire. For ASCII (every DNS
 * name that is not escaped) the bytes are the UTF-16 units checkpoints written before 2026-11-30
 * hashed, so their filters and vocabularies still match.
 */
export function hash2Bytes(b: Uint8Array, start: number, end: number, out: Hash2): Hash2 {
  let a = 0x811c9dc5;
  let h = 0x9747b28c ^ (end - start);
  for (let i = start; i < end; i++) {
    const c = b[i]!;
    a = imul(a ^ c, 0x01000193);
    h = imul(h ^ c, 0x5bd1e995);
    h ^= h >>> 15;
  }
  out.h1 = fmix32(a);
  out.h2 = fmix32(h ^ 0x68e31da4) | 1;
  return out;
}
