import { SluiceError } from './errors';
import { type QueryBatch, type QueryEvent } from './query';
import { NameKind, QueryColumns, QueryFlag } from './query-batch-columns';
import {
  decodeQueryBatch,
  decodeQueryColumns,
  encodeQueryBatch,
  QueryBatchBuilder,
} from './query-batch-codec';

/** Small deterministic PRNG (mulberry32): the same corpus on every run. */
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomBatch(r: () => number): QueryBatch {
  const zone = ['example.com', 'victim.co.uk', '.', 'x'][Math.floor(r() * 4)]!;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const events: QueryEvent[] = Array.from({ length: Math.floor(r() * 40) }, () => {
    const rcode = r() < 0.5 ? null : Math.floor(r() * 4096);
    const otherZone = r() < 0.1;
    const eventZone = otherZone ? pick(['other.net', 'com', 'example.com.evil']) : zone;
    const label = Math.floor(r() * 1e9).toString(36);
    const qname = pick([
      `${label}.${eventZone}`,
      eventZone,
      `a.b.${label}.${eventZone}`,
      'ünïcödé.' + eventZone,
      label,
      'x'.repeat(200),
      `${label}example.com`,
    ]);
    return {
      ts: 1_700_000_000_000 + r() * 1e6 + (r() < 0.5 ? 0.001 : 0),
      resolver: pick(['192.0.2.1', '2001:db8::1', '8.8.8.8', `10.0.0.${Math.floor(r() * 255)}`]),
      resolverPort: Math.floor(r() * 65536),
      transport: pick(['udp', 'tcp', 'dot', 'doh', 'doq', 'unknown'] as const),
      qname,
      qtype: Math.floor(r() * 65536),
      qclass: pick([1, 3, 255, 65535]),
      rd: r() < 0.5,
      cd: r() < 0.5,
      do: r() < 0.5,
      ednsSize: r() < 0.3 ? null : Math.floor(r() * 65536),
      id: Math.floor(r() * 65536),
      zone: eventZone,
      rcode,
      ancount: rcode === null || r() < 0.2 ? null : pick([0, 1, 5, 127, 128, 65535]),
    };
  });
  return { v: 1, source: pick(['replay:x.pcap', 'dnstap-unix:ns1', '']), zone, events };
}

describe('query batch codec', () => {
  it('encodes the same bytes from a recycled builder as from a fresh one', () => {
    const r = rng(99);
    const recycled = new QueryBatchBuilder('', '');
    for (let i = 0; i < 300; i++) {
      const batch = randomBatch(r);
      recycled.reset(batch.source, batch.zone);
      for (const e of batch.events) recycled.add(e);
      const bytes = recycled.finish();
      expect(bytes).toEqual(encodeQueryBatch(batch));
      expect(decodeQueryBatch(bytes)).toEqual(batch);
    }
  });

  it('round-trips random batches exactly, in both encodings', () => {
    const r = rng(1234);
    for (let i = 0; i < 2000; i++) {
      const batch = randomBatch(r);
      const binary = encodeQueryBatch(batch);
      expect(binary[0]).toBe(0x03);
      expect(decodeQueryBatch(binary)).toEqual(batch);
      expect(decodeQueryBatch(encodeQueryBatch(batch, 'json'))).toEqual(batch);
    }
  });

  it('still reads encoding 0x02 (no answer counts): ancount is unknown', () => {
    const event: QueryEvent = { ...EVENT, rd: false, rcode: 3 };
    const batch = (ancount: number | null): QueryBatch => ({
      v: 1,
      source: 's',
      zone: 'example.com',
      events: [{ ...event, ancount }],
    });
    const unknown = encodeQueryBatch(batch(null));
    const known = encodeQueryBatch(batch(5));
    // The two differ only in the ancount varint (0 = unknown, 6 = five answers): drop it.
    const at = unknown.findIndex((b, i) => b !== known[i]);
    expect([unknown[at], known[at]]).toEqual([0, 6]);
    const v2 = Buffer.concat([unknown.subarray(0, at), unknown.subarray(at + 1)]);
    v2[0] = 0x02;
    expect(decodeQueryBatch(v2)).toEqual(batch(null));
    expect(decodeQueryBatch(known).events[0]!.ancount).toBe(5);
  });

  it('is smaller than JSON', () => {
    const batch = randomBatch(rng(99));
    expect(encodeQueryBatch(batch).length).toBeLessThan(encodeQueryBatch(batch, 'json').length / 2);
  });

  it('rejects every truncation and unknown encodings with SluiceError', () => {
    const r = rng(7);
    let batch = randomBatch(r);
    while (batch.events.length < 3) batch = randomBatch(r);
    const full = encodeQueryBatch(batch);
    for (let n = 0; n < full.length; n++) {
      // A prefix can only decode if it happens to end exactly on a shorter valid batch: never here.
      expect(() => decodeQueryBatch(full.subarray(0, n))).toThrow(SluiceError);
    }
    expect(() => decodeQueryBatch(Buffer.from([0x09, 1, 2]))).toThrow(
      /unknown query batch encoding/,
    );
  });
});

describe('columnar decoding', () => {
  const rows = (c: QueryColumns) => Array.from({ length: c.count }, (_, i) => c.event(i));

  it('gives the same events as decodeQueryBatch, reusing its columns, in every encoding', () => {
    const r = rng(1234);
    const columns = new QueryColumns();
    for (let i = 0; i < 300; i++) {
      const batch = randomBatch(r);
      const binary = encodeQueryBatch(batch);
      const expected = decodeQueryBatch(binary);
      const c = decodeQueryColumns(binary, columns);
      expect(c).toBe(columns);
      expect([c.source, c.zone]).toEqual([expected.source, expected.zone]);
      expect(rows(c)).toEqual(expected.events);
      // JSON batches (ancount may be absent there) read as their binary form does.
      expect(rows(decodeQueryColumns(encodeQueryBatch(batch, 'json'), columns))).toEqual(
        expected.events,
      );
    }
  });

  it('points names into the batch: relative labels, the apex, or the whole qname', () => {
    const e: QueryEvent = {
      ts: 1,
      resolver: '192.0.2.1',
      resolverPort: 1,
      transport: 'udp',
      qname: 'a.b.example.com',
      qtype: 1,
      qclass: 1,
      rd: true,
      cd: false,
      do: false,
      ednsSize: 1232,
      id: 1,
      zone: 'example.com',
      rcode: 0,
      ancount: 0,
    };
    const names = ['a.b.example.com', 'example.com', 'elsewhere.net'];
    const c = decodeQueryColumns(
      encodeQueryBatch({
        v: 1,
        source: 's',
        zone: 'example.com',
        events: names.map((qname) => ({ ...e, qname })),
      }),
    );
    const text = (i: number) => c.bytes.toString('utf8', c.nameStart[i], c.nameEnd[i]);
    expect([0, 1, 2].map((i) => [c.nameKind[i], text(i), c.qname(i)])).toEqual([
      [NameKind.relative, 'a.b', 'a.b.example.com'],
      [NameKind.apex, '', 'example.com'],
      [NameKind.full, 'elsewhere.net', 'elsewhere.net'],
    ]);
    expect([c.rcode[0], c.ancount[0], c.ednsSize[0], c.flags[0]! & QueryFlag.rd]).toEqual([
      0,
      0,
      1232,
      QueryFlag.rd,
    ]);
  });

  it('rejects what decodeQueryBatch rejects, and keeps no rows of a rejected batch', () => {
    const r = rng(7);
    let batch = randomBatch(r);
    while (batch.events.length < 3) batch = randomBatch(r);
    const full = encodeQueryBatch(batch);
    const columns = decodeQueryColumns(full);
    for (let n = 0; n < full.length; n++) {
      expect(() => decodeQueryColumns(full.subarray(0, n), columns)).toThrow(SluiceError);
      expect(columns.count).toBe(0);
    }
    expect(() => decodeQueryColumns(Buffer.from([0x09, 1, 2]))).toThrow(
      /unknown query batch encoding/,
    );
  });
});

/** One ordinary query: what a spec varies field by field. */
const EVENT: QueryEvent = {
  ts: 1_700_000_000_000.5,
  resolver: '192.0.2.1',
  resolverPort: 5353,
  transport: 'udp',
  qname: 'www.example.com',
  qtype: 1,
  qclass: 1,
  rd: true,
  cd: false,
  do: false,
  ednsSize: null,
  id: 7,
  zone: 'example.com',
  rcode: null,
  ancount: null,
};

describe('resolver interning', () => {
  const event = (resolver: string): QueryEvent => ({ ...EVENT, resolver });
  const decode = (resolvers: readonly string[], c = new QueryColumns()) =>
    decodeQueryColumns(
      encodeQueryBatch({ v: 1, source: 's', zone: 'example.com', events: resolvers.map(event) }),
      c,
    );
  /** Each resolver's [string, slot, serial] as a batch decoded them. */
  const keys = (c: QueryColumns) =>
    c.resolvers.map((r, i) => [r, c.resolverSlot[i], c.resolverSerial[i]] as const);

  it('hands a later batch the same string, slot and serial for the same resolver; a name it does not intern has slot -1', () => {
    const long = `2001:db8:${'ffff:'.repeat(12)}1`;
    const first = keys(decode(['192.0.2.1', '198.51.100.7', long]));
    const later = keys(decode(['198.51.100.7', '192.0.2.1', long]));
    expect(later[0]).toEqual(first[1]);
    expect(later[1]).toEqual(first[0]);
    expect(later[0]![0]).toBe(first[1]![0]);
    expect(first[2]![1]).toBe(-1);
  });

  it('keeps two names that share a slot pair (two-way), and gives a slot that takes another name a new serial', () => {
    // Find three names whose slots fall in one pair.
    const names = Array.from(
      { length: 20_000 },
      (_, i) => `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`,
    );
    const byPair = new Map<number, string[]>();
    for (let i = 0; i < names.length; i += 500)
      for (const [name, slot] of keys(decode(names.slice(i, i + 500)))) {
        const pair = slot! >> 1;
        byPair.set(pair, [...(byPair.get(pair) ?? []), name]);
      }
    const [a, b, x] = [...byPair.values()].find((l) => l.length >= 3)!;
    const [ka] = keys(decode([a!]));
    const [kb] = keys(decode([b!]));
    expect(ka![1]! >> 1).toBe(kb![1]! >> 1);
    expect(ka![1]).not.toBe(kb![1]);
    // Alternating batches of the two: both stay interned (direct-mapped, each evicted the other).
    for (let round = 0; round < 3; round++) {
      expect(keys(decode([a!]))[0]).toEqual(ka);
      expect(keys(decode([b!]))[0]).toEqual(kb);
    }
    // A third name evicts the pair's less recently used one (a): its slot gets a new serial, and
    // a comes back with yet another.
    const [kx] = keys(decode([x!]));
    expect(kx![1]).toBe(ka![1]);
    expect(kx![2]).not.toBe(ka![2]);
    expect(keys(decode([b!]))[0]).toEqual(kb);
    const [again] = keys(decode([a!]));
    expect(again![2]).not.toBe(ka![2]);
    expect(again![2]).not.toBe(kx![2]);
  });
});

describe('binary batches outside the contract (fuzz findings)', () => {
  const event = EVENT;
  const batch = (e: Partial<QueryEvent>): QueryBatch => ({
    v: 1,
    source: 's',
    zone: 'example.com',
    events: [{ ...event, ...e }],
  });

  it('rejects a ts of Infinity, which JSON batches could never carry', () => {
    // Minimised by the query-batch fuzz target from a dns-mix.pcap replay: ts bytes → +Infinity.
    const found = Buffer.from(
      '03146669787475726520646e732d6d69782e706361700b6578616d706c652e6f7267010b323030313a' +
        '6462383a3a3101000000000000f07f00e91400401c000100222203777777',
      'hex',
    );
    expect(() => decodeQueryBatch(found)).toThrow(SluiceError);
    expect(() => decodeQueryBatch(encodeQueryBatch(batch({ ts: Infinity })))).toThrow(
      /truncated or corrupt/,
    );
  });

  it('rejects an empty resolver address', () => {
    expect(() => decodeQueryBatch(encodeQueryBatch(batch({ resolver: '' })))).toThrow(
      /truncated or corrupt/,
    );
    expect(decodeQueryBatch(encodeQueryBatch(batch({})))).toEqual(batch({}));
  });

  it('names each row its own zone in a batch of many zones (more than the zone cache holds)', () => {
    // 3000 zones of one length (slots shared, bytes compared), rows interleaved, two batches decoded
    // into the same columns one after the other.
    const zones = Array.from({ length: 3000 }, (_, i) => `z${String(i).padStart(4, '0')}.example`);
    const columns = new QueryColumns();
    for (const seed of [1, 2]) {
      const r = rng(seed);
      const builder = new QueryBatchBuilder('s', zones[seed]!);
      const expected: Array<[string, string]> = [];
      for (let i = 0; i < 1000; i++) {
        const zone = zones[Math.floor(r() * r() * zones.length)]!;
        const qname = i % 9 === 0 ? zone : `n${i}.${zone}`;
        builder.add({ ...EVENT, id: i, ts: EVENT.ts + i, zone, qname });
        expected.push([zone, qname]);
      }
      const c = decodeQueryColumns(builder.finish(), columns);
      expect(Array.from({ length: c.count }, (_, i) => [c.zoneOf(i), c.qname(i)])).toEqual(
        expected,
      );
    }
  });
});
