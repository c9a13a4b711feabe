import { encodeMessage } from './codec';
import { enrichedOffenderSchema, enrichmentBlockSchema, offenderSchema } from './messages';
import {
  checkEnrichedOffender,
  checkEnrichmentBlock,
  checkOffender,
  decodeEnrichedOffender,
  decodeOffender,
  encodeEnrichedOffender,
  encodeOffender,
  encodeEnrichmentBlock,
} from './offender-codec';

// Property test without a dependency: a seeded generator mutates valid records into near-misses
// (each field swapped for a value from a pool of boundary cases, deleted, or joined by strangers)
// and the hand checks must agree with zod on every one: same accept/reject, same output object
// (key order and present-but-undefined keys included), same encoded bytes.
let seed = 0x1234567;
const rnd = (n: number) => {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) % n;
};
const pick = <T>(xs: readonly T[]): T => xs[rnd(xs.length)]!;

const pool: unknown[] = [
  null,
  undefined,
  0,
  -0,
  1,
  2,
  -1,
  0.5,
  2 ** 53 - 1,
  2 ** 53,
  -(2 ** 53),
  1e300,
  Infinity,
  -Infinity,
  NaN,
  '',
  'NL',
  'nl',
  'N',
  'NLD',
  'é',
  '\u{1F600}',
  '1.2.3.4',
  'isp',
  'public',
  'mirai-default',
  'bogon',
  'unknown',
  'other',
  true,
  false,
  [],
  [1],
  {},
  { ts: 1, resolver: 'r', qname: 'q' },
  '1',
];

function validBlock(): Record<string, unknown> {
  const b: Record<string, unknown> = {
    asn: pick([null, 0, 15169, 2 ** 31]),
    asOrg: pick([null, 'GOOGLE', '']),
    prefix: pick([null, '8.8.8.0/24']),
    country: pick([null, 'US', 'NL']),
    resolverKind: pick(['public', 'mirai-default', 'bogon', 'isp', 'unknown']),
    resolverOperator: pick([null, 'Google']),
  };
  if (rnd(2)) b.note = pick([null, 'why', undefined]);
  if (rnd(2)) b.miraiDefaultOperator = pick([null, 'Google', undefined]);
  return b;
}

function validOffender(): Record<string, unknown> {
  return {
    v: 1,
    zone: pick(['example.com', 'Example.COM.', '']),
    resolver: pick(['198.51.100.7', '2001:db8::1', 'x']),
    windowStart: pick([0, 1_700_000_000_000, -5, 0.25]),
    windowEnd: pick([10_000, 1_700_000_010_000]),
    attackQueries: pick([0, 1, 900, 2 ** 53 - 1]),
    totalQueries: pick([0, 3, 1000]),
    alertId: pick([null, 'a-1', '']),
    evidence: Array.from({ length: rnd(4) }, () => ({
      ts: pick([1, 2.5, -3]),
      resolver: 'r',
      qname: pick(['abc.example.com', '', 'ü.example']),
    })),
  };
}

/** Mutate 0–3 fields somewhere in the object tree. */
function mutate(x: Record<string, unknown>): void {
  for (let m = rnd(4); m > 0; m--) {
    let target: Record<string, unknown> = x;
    if (Array.isArray(x.evidence) && x.evidence.length > 0 && rnd(3) === 0)
      target = pick(x.evidence as Array<Record<string, unknown>>) ?? x;
    else if (typeof x.enrichment === 'object' && x.enrichment !== null && rnd(2) === 0)
      target = x.enrichment as Record<string, unknown>;
    if (typeof target !== 'object' || target === null || Array.isArray(target)) return;
    const keys = Object.keys(target);
    switch (rnd(4)) {
      case 0:
        if (keys.length) delete target[pick(keys)];
        break;
      case 1:
        target[pick([...keys, 'extra', '__proto__x'])] = pick(pool);
        break;
      case 2:
        if (keys.length) target[pick(keys)] = pick(pool);
        break;
      default: {
        // same keys, another order
        const entries = Object.entries(target).reverse();
        for (const k of keys) delete target[k];
        for (const [k, v] of entries) target[k] = v;
      }
    }
  }
}

function agree(
  schema: typeof offenderSchema | typeof enrichedOffenderSchema | typeof enrichmentBlockSchema,
  fast: (x: unknown) => unknown,
  x: unknown,
): boolean {
  const z = schema.safeParse(x);
  const f = fast(x);
  if (f !== null) {
    // The fast path may only accept what zod accepts, and must return what zod returns.
    expect(z.success).toBe(true);
    expect(f).toStrictEqual(z.data);
    expect(JSON.stringify(f)).toBe(JSON.stringify(z.data));
    return true;
  }
  // Refusals fall back to zod, so strictness only costs time; the one case left to zod on
  // purpose is a country of two code points that are not two UTF-16 units (an emoji pair).
  if (z.success) expect(JSON.stringify(z.data)).toMatch(/"country":"[^"]{3,}"/);
  return false;
}

describe('offender fast checks agree with the zod schemas', () => {
  it('offenders: 8,000 generated values', () => {
    let accepted = 0;
    for (let i = 0; i < 8_000; i++) {
      const x = validOffender();
      if (i % 4) mutate(x);
      if (agree(offenderSchema, checkOffender, x)) accepted++;
    }
    expect(accepted).toBeGreaterThan(2_000);
  });

  it('enrichment blocks and enriched offenders: 8,000 generated values', () => {
    let accepted = 0;
    for (let i = 0; i < 8_000; i++) {
      const b = validBlock();
      if (i % 3) mutate(b);
      agree(enrichmentBlockSchema, checkEnrichmentBlock, b);
      const x: Record<string, unknown> = { ...validOffender(), enrichment: validBlock() };
      if (i % 4) mutate(x);
      if (agree(enrichedOffenderSchema, checkEnrichedOffender, x)) accepted++;
    }
    expect(accepted).toBeGreaterThan(2_000);
  });

  it('the same through JSON, as the services decode: values and errors', () => {
    for (let i = 0; i < 5_000; i++) {
      const x: Record<string, unknown> = { ...validOffender(), enrichment: validBlock() };
      if (i % 2) mutate(x);
      const raw = Buffer.from(JSON.stringify(x));
      const z = enrichedOffenderSchema.safeParse(JSON.parse(raw.toString()));
      if (z.success) expect(decodeEnrichedOffender(raw)).toStrictEqual(z.data);
      else expect(() => decodeEnrichedOffender(raw)).toThrow(/does not match its schema/);
      const zo = offenderSchema.safeParse(JSON.parse(raw.toString()));
      if (zo.success) expect(decodeOffender(raw)).toStrictEqual(zo.data);
      else expect(() => decodeOffender(raw)).toThrow(/does not match its schema/);
    }
    expect(() => decodeOffender(Buffer.from('{nope'))).toThrow(/not JSON/);
    expect(() => decodeOffender(null)).toThrow(/tombstone/);
    expect(() => decodeEnrichedOffender(Buffer.from('1e400'))).toThrow(/does not match/);
  });

  it('encodes an offender byte for byte as encodeMessage does, and refuses what it refuses', () => {
    let refused = 0;
    for (let i = 0; i < 5_000; i++) {
      const o = validOffender();
      if (i % 3 === 0) mutate(o);
      let expected: string | Error;
      try {
        expected = encodeMessage(offenderSchema, o as never).toString();
      } catch (e) {
        expected = e as Error;
      }
      let got: string | Error;
      try {
        got = encodeOffender(o as never).toString();
      } catch (e) {
        got = e as Error;
      }
      if (typeof expected === 'string') expect(got).toBe(expected);
      else {
        refused++;
        expect(got).toBeInstanceOf(Error);
        expect((got as Error).message).toBe(expected.message);
      }
    }
    expect(refused).toBeGreaterThan(100);
  });

  it('encodes an enriched offender byte for byte as encodeMessage does', () => {
    for (let i = 0; i < 5_000; i++) {
      const o = validOffender();
      const b = validBlock();
      if (i % 3 === 0) mutate(b);
      if (i % 5 === 0) mutate(o);
      let expected: string | Error;
      try {
        expected = encodeMessage(enrichedOffenderSchema, {
          ...o,
          enrichment: b,
        } as never).toString();
      } catch (e) {
        expected = e as Error;
      }
      let got: string | Error;
      try {
        got = encodeEnrichedOffender(o as never, b as never, encodeEnrichmentBlock(b as never));
      } catch (e) {
        got = e as Error;
      }
      if (typeof expected === 'string') expect(got).toBe(expected);
      else expect(got).toBeInstanceOf(Error);
    }
  });
});
