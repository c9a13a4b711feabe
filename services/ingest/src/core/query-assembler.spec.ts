import * as dnsPacket from 'dns-packet';
import { type QueryEvent } from '@sluice/contracts';
import { QueryAssembler } from './query-assembler';
import { ZoneMapper } from './zone-mapper';

const q = (id: number, name = 'a.example.com') =>
  dnsPacket.encode({
    type: 'query',
    id,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: 'A', name }],
  });
const r = (id: number, rcode: number, name = 'a.example.com') =>
  dnsPacket.encode({ type: 'response', id, flags: rcode, questions: [{ type: 'A', name }] });

function setup(pairWindowMs = 1000, maxPending = 100) {
  const out: QueryEvent[] = [];
  const a = new QueryAssembler(
    new ZoneMapper(),
    { record: (e) => void out.push(e), malformed: () => undefined },
    { pairWindowMs, maxPending },
  );
  const msg = (ts: number, dns: Buffer, port = 1000) =>
    a.onMessage({ ts, resolver: '192.0.2.1', resolverPort: port, transport: 'udp', dns });
  return { a, out, msg };
}

describe('QueryAssembler', () => {
  it('carries the answer count of the response (NODATA: NOERROR with none)', () => {
    const { out, msg } = setup();
    const answered = dnsPacket.encode({
      type: 'response',
      id: 5,
      questions: [{ type: 'A', name: 'a.example.com' }],
      answers: [{ type: 'A', name: 'a.example.com', data: '192.0.2.7' }],
    });
    msg(0, q(4));
    msg(1, q(5));
    msg(2, r(4, 0));
    msg(3, answered);
    msg(4, q(6, 'b.example.com'));
    expect(out.map((e) => [e.id, e.rcode, e.ancount])).toEqual([
      [4, 0, 0],
      [5, 0, 1],
    ]);
    // A query whose response never came has neither.
    msg(2000, q(7));
    expect(out.map((e) => [e.id, e.rcode, e.ancount]).slice(2)).toEqual([[6, null, null]]);
  });

  it('pairs a response with its query by resolver, port, id and question', () => {
    const { out, msg } = setup();
    msg(0, q(1));
    msg(1, q(2));
    msg(2, r(2, 3));
    expect(out.map((e) => [e.id, e.rcode])).toEqual([[2, 3]]);
    msg(3, r(1, 0));
    expect(out.map((e) => [e.id, e.rcode, e.ts])).toEqual([
      [2, 3, 1],
      [1, 0, 0],
    ]);
  });

  it('lets unanswered queries go after the window, in event time', () => {
    const { out, msg } = setup(1000);
    msg(0, q(1));
    msg(10, r(99, 0)); // unmatched response: a record of its own, and pairing stays on
    msg(500, q(2));
    expect(out.map((e) => e.id)).toEqual([99]);
    msg(1001, q(3));
    expect(out.map((e) => [e.id, e.rcode])).toEqual([
      [99, 0],
      [1, null],
    ]);
  });

  it('stops holding queries when a source carries no responses at all', () => {
    const { a, out, msg } = setup(1000);
    // Two windows of event time are not enough on their own: a few queries whose responses lag.
    for (let t = 0; t <= 2500; t += 500) msg(t, q(t));
    expect(a.pendingQueries + out.length).toBe(6);
    expect(out.length).toBeLessThan(6);
    // …nor 64 queries within one window: both are needed.
    for (let i = 0; i < 70; i++) msg(2600, q(100 + i));
    expect(a.pendingQueries).toBe(0);
    const n = out.length;
    expect(n).toBe(76);
    msg(2700, q(8));
    expect(out).toHaveLength(n + 1); // straight through
  });

  it('keeps pairing when the first responses arrive after a few windows of queries', () => {
    const { out, msg } = setup(500);
    for (let t = 0; t <= 1500; t += 500) msg(t, q(t));
    msg(1600, r(1500, 0));
    expect(out.find((e) => e.id === 1500)?.rcode).toBe(0);
  });

  it('bounds the held queries', () => {
    const { a, out, msg } = setup(10_000, 5);
    msg(0, r(500, 0));
    for (let i = 0; i < 8; i++) msg(i, q(i));
    expect(a.pendingQueries).toBe(5);
    expect(out.map((e) => e.id)).toEqual([500, 0, 1, 2]);
    a.flush();
    expect(out.map((e) => e.id)).toEqual([500, 0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('keeps both copies of a retransmitted query', () => {
    const { out, msg } = setup();
    msg(0, r(500, 0));
    msg(1, q(1));
    msg(2, q(1));
    msg(3, r(1, 2));
    expect(out.map((e) => [e.id, e.ts, e.rcode])).toEqual([
      [500, 0, 0],
      [1, 1, null],
      [1, 2, 2],
    ]);
  });

  it('tells apart held queries that share id and port (resolver, name, type) and expires them in order', () => {
    const out: QueryEvent[] = [];
    const a = new QueryAssembler(
      new ZoneMapper(),
      { record: (e) => void out.push(e), malformed: () => undefined },
      { pairWindowMs: 1000, maxPending: 100 },
    );
    const at = (ts: number, resolver: string, dns: Buffer, resolverPort = 1000) =>
      a.onMessage({ ts, resolver, resolverPort, transport: 'udp', dns });
    const aaaa = dnsPacket.encode({
      type: 'query',
      id: 7,
      questions: [{ type: 'AAAA', name: 'a.example.com' }],
    });
    at(0, '192.0.2.1', r(500, 0)); // a response first: pairing stays on
    at(1, '192.0.2.1', q(7));
    at(2, '192.0.2.2', q(7));
    at(3, '192.0.2.1', q(7, 'b.example.com'));
    at(4, '192.0.2.1', aaaa);
    // id 6 from port 17384 folds to the same pairing key as id 7 from port 1000
    at(5, '192.0.2.1', q(6), 17384);
    at(5.5, '192.0.2.1', r(6, 5)); // right id, wrong port: not a match
    expect(a.pendingQueries).toBe(5);
    at(6, '192.0.2.2', r(7, 3));
    at(7, '192.0.2.1', r(7, 2, 'b.example.com'));
    expect(out.slice(1).map((e) => [e.resolver, e.qname, e.rcode, e.ts])).toEqual([
      ['192.0.2.1', 'a.example.com', 5, 5.5],
      ['192.0.2.2', 'a.example.com', 3, 2],
      ['192.0.2.1', 'b.example.com', 2, 3],
    ]);
    expect(a.pendingQueries).toBe(3);
    at(2000, '192.0.2.9', q(1)); // expires ts 1, 4, 5 in that order
    expect(out.slice(4).map((e) => [e.id, e.qtype, e.resolverPort, e.ts])).toEqual([
      [7, 1, 1000, 1],
      [7, 28, 1000, 4],
      [6, 1, 17384, 5],
    ]);
    expect(a.pendingQueries).toBe(1);
  });
});
