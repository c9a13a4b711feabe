import * as dnsPacket from 'dns-packet';
import fc from 'fast-check';
import {
  clientSubnetAddress,
  decodeDns,
  decodeDnsFast,
  decodeDnsReference,
  decodeDnsResponse,
  DNS_FALLBACK,
} from './dns-decode';

/** Wire-level generator: we want names, counts and options dns-packet's encoder would refuse. */
const label = fc.oneof(
  { weight: 6, arbitrary: fc.stringMatching(/^[a-zA-Z0-9_-]{1,20}$/).map((s) => Buffer.from(s)) },
  {
    weight: 1,
    arbitrary: fc.uint8Array({ minLength: 1, maxLength: 63 }).map((a) => Buffer.from(a)),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      Buffer.from('ΑΣ', 'utf8'),
      Buffer.from('Bücher'),
      Buffer.from('x'.repeat(63)),
    ),
  },
);
const nameWire = fc.record({
  labels: fc.array(label, { maxLength: 6 }),
  pointer: fc.option(fc.integer({ min: 0, max: 0x3fff }), { freq: 4 }),
});
const rr = fc.record({
  name: nameWire,
  type: fc.oneof(
    { weight: 4, arbitrary: fc.constant(41) },
    fc.constant(1),
    fc.integer({ min: 0, max: 65535 }),
  ),
  klass: fc.integer({ min: 0, max: 65535 }),
  ttl: fc.integer({ min: 0, max: 0xffffffff }),
  options: fc.array(
    fc.record({
      code: fc.oneof(fc.constantFrom(10, 12, 3, 8, 11, 14), fc.integer({ min: 0, max: 65535 })),
      data: fc.uint8Array({ maxLength: 24 }),
    }),
    { maxLength: 3 },
  ),
  rdlenDelta: fc.oneof(
    { weight: 8, arbitrary: fc.constant(0) },
    { weight: 1, arbitrary: fc.integer({ min: -8, max: 8 }) },
  ),
});
const message = fc.record({
  id: fc.integer({ min: 0, max: 65535 }),
  flags: fc.integer({ min: 0, max: 65535 }),
  questions: fc.array(
    fc.record({
      name: nameWire,
      type: fc.integer({ min: 0, max: 65535 }),
      klass: fc.integer({ min: 0, max: 65535 }),
    }),
    { maxLength: 3 },
  ),
  // Mostly the shape the fast path covers (no answers, one OPT), some of everything else.
  answers: fc.oneof(
    { weight: 6, arbitrary: fc.constant([]) },
    { weight: 1, arbitrary: fc.array(rr, { maxLength: 1 }) },
  ),
  additionals: fc.oneof(
    { weight: 4, arbitrary: fc.array(rr, { maxLength: 1 }) },
    { weight: 1, arbitrary: fc.array(rr, { maxLength: 2 }) },
  ),
  countDeltas: fc.array(fc.integer({ min: -1, max: 1 }), { minLength: 4, maxLength: 4 }),
});

function writeName(n: { labels: Buffer[]; pointer: number | null }): Buffer {
  const parts: Buffer[] = [];
  for (const l of n.labels) parts.push(Buffer.from([Math.min(l.length, 63)]), l.subarray(0, 63));
  parts.push(
    n.pointer === null
      ? Buffer.from([0])
      : Buffer.from([0xc0 | (n.pointer >> 8), n.pointer & 0xff]),
  );
  return Buffer.concat(parts);
}

function writeRR(r: typeof rr extends fc.Arbitrary<infer T> ? T : never): Buffer {
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(r.type, 0);
  fixed.writeUInt16BE(r.klass, 2);
  fixed.writeUInt32BE(r.ttl, 4);
  const rdata = Buffer.concat(
    r.options.map((o) => {
      const h = Buffer.alloc(4);
      h.writeUInt16BE(o.code, 0);
      h.writeUInt16BE(o.data.length, 2);
      return Buffer.concat([h, Buffer.from(o.data)]);
    }),
  );
  fixed.writeUInt16BE(Math.max(0, Math.min(65535, rdata.length + r.rdlenDelta)), 8);
  return Buffer.concat([writeName(r.name), fixed, rdata]);
}

type RRValue = Parameters<typeof writeRR>[0];

function writeMessage(m: typeof message extends fc.Arbitrary<infer T> ? T : never): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(m.id, 0);
  header.writeUInt16BE(m.flags, 2);
  const counts = [m.questions.length, m.answers.length, 0, m.additionals.length];
  counts.forEach((c, i) =>
    header.writeUInt16BE(Math.max(0, c + (m.countDeltas[i] ?? 0)), 4 + i * 2),
  );
  return Buffer.concat([
    header,
    ...m.questions.map((q) => {
      const t = Buffer.alloc(4);
      t.writeUInt16BE(q.type, 0);
      t.writeUInt16BE(q.klass, 2);
      return Buffer.concat([writeName(q.name), t]);
    }),
    ...(m.answers as RRValue[]).map(writeRR),
    ...m.additionals.map(writeRR),
  ]);
}

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('none' as const) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('flip' as const),
    at: fc.nat(),
    value: fc.integer({ min: 0, max: 255 }),
  }),
  fc.record({ kind: fc.constant('loop' as const), at: fc.nat() }),
);

function mutate(
  buf: Buffer,
  m: fc.Arbitrary<unknown> extends never ? never : { kind: string; at?: number; value?: number },
): Buffer {
  if (buf.length === 0 || m.kind === 'none') return buf;
  const at = (m.at ?? 0) % buf.length;
  const out = Buffer.from(buf);
  if (m.kind === 'truncate') return out.subarray(0, at);
  if (m.kind === 'flip') out[at] = m.value ?? 0;
  if (m.kind === 'loop' && at + 1 < out.length) {
    // A pointer to itself: the classic compression loop.
    out[at] = 0xc0 | (at >> 8);
    out[at + 1] = at & 0xff;
  }
  return out;
}

function comparable(r: ReturnType<typeof decodeDnsReference>) {
  return r.ok ? { ok: true, msg: r.msg } : { ok: false, reason: r.reason };
}

describe('DNS question fast path', () => {
  it('equals dns-packet on a large generated corpus, malformed inputs included', () => {
    let fast = 0;
    let fastFailures = 0;
    let total = 0;
    fc.assert(
      fc.property(message, mutation, (m, mu) => {
        const buf = mutate(writeMessage(m), mu);
        total++;
        const f = decodeDnsFast(buf);
        if (f === DNS_FALLBACK) return;
        fast++;
        if (!f.ok) fastFailures++;
        expect(comparable(f)).toEqual(comparable(decodeDnsReference(buf)));
      }),
      { numRuns: 30_000, seed: 0x5107ce },
    );
    // The corpus must actually exercise the fast path, good and bad.
    expect(fast).toBeGreaterThan(total * 0.3);
    expect(fastFailures).toBeGreaterThan(total * 0.05);
  });

  it('decodes a message in place inside a larger buffer exactly as on its own', () => {
    // The capture path decodes buf[start, end) of a pcap chunk: bytes around the message
    // (often other packets) must never be read, and compression pointers stay message-relative.
    let fastInPlace = 0;
    fc.assert(
      fc.property(
        message,
        mutation,
        fc.uint8Array({ maxLength: 40 }),
        fc.uint8Array({ maxLength: 40 }),
        (m, mu, before, after) => {
          const exact = mutate(writeMessage(m), mu);
          const padded = Buffer.concat([before, exact, after]);
          const start = before.length;
          const end = start + exact.length;
          const f = decodeDnsFast(padded, start, end);
          expect(f === DNS_FALLBACK).toBe(decodeDnsFast(exact) === DNS_FALLBACK);
          if (f !== DNS_FALLBACK) fastInPlace++;
          expect(decodeDns(padded, start, end)).toEqual(decodeDns(exact));
          expect(decodeDnsResponse(padded, start, end)).toEqual(decodeDnsResponse(exact));
        },
      ),
      { numRuns: 10_000, seed: 0x1bad },
    );
    expect(fastInPlace).toBeGreaterThan(3000);
  });

  it('equals dns-packet on pure garbage', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        const buf = Buffer.from(bytes);
        const f = decodeDnsFast(buf);
        if (f !== DNS_FALLBACK) expect(comparable(f)).toEqual(comparable(decodeDnsReference(buf)));
      }),
      { numRuns: 20_000, seed: 42 },
    );
  });

  it('equals dns-packet on queries dns-packet itself encodes', () => {
    const types = ['A', 'AAAA', 'TXT', 'MX', 'NS', 'ANY', 'SOA', 'HTTPS'] as const;
    fc.assert(
      fc.property(
        fc.array(fc.stringMatching(/^[a-z0-9-]{1,15}$/), { minLength: 1, maxLength: 5 }),
        fc.constantFrom(...types),
        fc.boolean(),
        fc.option(fc.integer({ min: 512, max: 4096 })),
        (labels, type, rd, edns) => {
          const buf = dnsPacket.encode({
            type: 'query',
            id: 7,
            flags: rd ? dnsPacket.RECURSION_DESIRED : 0,
            questions: [{ type: type as dnsPacket.RecordType, name: labels.join('.') }],
            additionals:
              edns === null
                ? []
                : [
                    {
                      type: 'OPT',
                      name: '.',
                      udpPayloadSize: edns,
                      flags: dnsPacket.DNSSEC_OK,
                      options: [{ code: 10, data: Buffer.alloc(8) }],
                    } as unknown as dnsPacket.Answer,
                  ],
          });
          const f = decodeDnsFast(buf);
          expect(f).not.toBe(DNS_FALLBACK);
          expect(f).toEqual(decodeDnsReference(buf));
        },
      ),
      { numRuns: 2_000, seed: 7 },
    );
  });
});

describe('decodeDns', () => {
  const query = dnsPacket.encode({
    type: 'query',
    id: 4242,
    flags: dnsPacket.RECURSION_DESIRED | dnsPacket.CHECKING_DISABLED,
    questions: [{ type: 'AAAA', name: 'AbC.Example.COM' }],
    additionals: [
      {
        type: 'OPT',
        name: '.',
        udpPayloadSize: 1232,
        flags: dnsPacket.DNSSEC_OK,
      } as unknown as dnsPacket.Answer,
    ],
  });

  it('lower-cases the name and reads flags and EDNS', () => {
    expect(decodeDns(query)).toEqual({
      ok: true,
      msg: {
        id: 4242,
        isResponse: false,
        rd: true,
        cd: true,
        rcode: 0,
        ancount: 0,
        qname: 'abc.example.com',
        qtype: 28,
        qclass: 1,
        ednsSize: 1232,
        do: true,
      },
    });
  });

  it('names each malformation', () => {
    expect(decodeDns(Buffer.alloc(5))).toMatchObject({ ok: false, reason: 'dns-short-header' });
    expect(decodeDns(query.subarray(0, 20))).toMatchObject({
      ok: false,
      reason: 'dns-label-overflow',
    });
    const loop = Buffer.from(query);
    loop[12] = 0xc0;
    loop[13] = 12;
    expect(decodeDns(loop)).toMatchObject({ ok: false, reason: 'dns-bad-pointer' });
    const noQuestion = Buffer.from(query.subarray(0, 12));
    noQuestion.writeUInt16BE(0, 4);
    noQuestion.writeUInt16BE(0, 10);
    expect(decodeDns(noQuestion)).toMatchObject({ ok: false, reason: 'dns-no-question' });
  });

  it('reads the rcode and question of a response without decoding its answers', () => {
    const response = dnsPacket.encode({
      type: 'response',
      id: 9,
      flags: dnsPacket.RECURSION_DESIRED | 3,
      questions: [{ type: 'A', name: 'nx.example.com' }],
      answers: [{ type: 'A', name: 'nx.example.com', data: '192.0.2.1' }],
    });
    expect(decodeDnsResponse(response)).toMatchObject({
      ok: true,
      msg: { id: 9, rcode: 3, ancount: 1, qname: 'nx.example.com', rd: true, isResponse: true },
    });
  });
});

describe('header counts larger than the message', () => {
  // Fuzz finding (dns-decoder target): 44 bytes announcing 65,535 questions, answers and
  // authority records. dns-packet allocated an array per count first: 2–3 ms per datagram.
  const hostile = Buffer.from(
    '877900ffffffffffffffff0103617069076578616d706c6503636f6d00000100010000291000000080000000',
    'hex',
  );

  it('is dns-truncated for both decoders, decided before dns-packet allocates', () => {
    expect(decodeDns(hostile)).toMatchObject({ ok: false, reason: 'dns-truncated' });
    expect(decodeDnsReference(hostile)).toMatchObject({ ok: false, reason: 'dns-truncated' });
    expect(clientSubnetAddress(hostile)).toBeNull();
    // A question-only shape (the fast path's own) with an inflated count: the same answer.
    const questions = Buffer.from(hostile);
    questions.writeUInt16BE(0, 6);
    questions.writeUInt16BE(0, 8);
    questions.writeUInt16BE(0, 10);
    expect(decodeDnsFast(questions)).toEqual(decodeDnsReference(questions));
  });

  it("agrees across decoders on the first fix's counterexample (a name pointing into the header)", () => {
    // Fuzz finding of the first fix (capping the counts): a name pointing into the header read
    // the capped counts, and the reference decoder's reason changed (bad-label vs overflow).
    const found = Buffer.from(
      '6115010008010000000000010732717565313176057334777069077ff0000000000000c0c0c0c0c0020000' +
        'c0c0c000002904d0000000000000',
      'hex',
    );
    const f = decodeDnsFast(found);
    expect(f).not.toBe(DNS_FALLBACK);
    expect(f).toMatchObject({ ok: false, reason: 'dns-truncated' });
    expect(decodeDnsReference(found)).toMatchObject({ ok: false, reason: 'dns-truncated' });
    const few = Buffer.from(found);
    few.writeUInt16BE(3, 4); // 3 questions, 1 additional: dns-packet decides
    expect(decodeDnsFast(few)).toEqual(decodeDnsReference(few));
  });

  it('costs microseconds, not milliseconds', () => {
    const start = process.hrtime.bigint();
    for (let i = 0; i < 2_000; i++) {
      decodeDns(hostile);
      decodeDnsReference(hostile);
      clientSubnetAddress(hostile);
    }
    // Was ~7 ms per iteration (three dns-packet decodes); now a few µs. Generous for slow CI.
    expect(Number(process.hrtime.bigint() - start) / 1e6).toBeLessThan(1_000);
  });
});
