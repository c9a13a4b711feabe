import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import * as dnsPacket from 'dns-packet';
import { type BlocklistEntry } from '@sluice/contracts';
import {
  applyMutations,
  dnsFields,
  fc,
  mutationArbitrary,
  type FuzzTarget,
  type FuzzTargetFactory,
  type Mutation,
  type Seed,
} from '@sluice/testing';
import { signMessage, verifyMessage } from '../../src/core/tsig';
import { type XfrOutcome } from '../../src/core/xfr';
import { RpzXfrServer } from '../../src/rpz/rpz-xfr.server';
import { FUZZ_TSIG_KEY } from '../fixtures/xfr-key';
import { recordedXfrQueries } from '../fixtures/xfr-queries';

const ORIGIN = 'rpz.sluice';
const ZONE = `victim.test.${ORIGIN}`;
const FIRST_SERIAL = 1000;

interface Message {
  seed: number;
  /** TSIG: none, signed then mutated (a damaged signature), or mutated then signed (a client with the key). */
  sign: 'none' | 'before' | 'after';
  mutations: Mutation[];
}

interface Input {
  transport: 'udp' | 'tcp';
  /** 0: TSIG required; 1: keys configured, unsigned requests allowed. */
  server: 0 | 1;
  messages: Message[];
  /** Damage to the TCP stream itself (length prefixes, cuts), after framing. */
  stream: Mutation[];
}

function entries(n: number, offset: number): BlocklistEntry[] {
  return Array.from({ length: n }, (_, i) => {
    const j = i + offset;
    const resolver = `10.${(j >> 16) & 255}.${(j >> 8) & 255}.${j & 255}`;
    return {
      v: 1,
      id: j % 3 ? `r:${j}` : `rz:${j}`,
      scope:
        j % 3
          ? { kind: 'resolver', resolver }
          : { kind: 'resolver-zone', resolver, zone: 'victim.test' },
      action: j % 5 ? 'drop' : 'nxdomain',
      reason: 'fuzz',
      score: 90,
      createdAt: 0,
      expiresAt: Date.now() + 3_600_000,
      shadow: false,
    } satisfies BlocklistEntry;
  });
}

/** Queries transfer clients send: built with dns-packet, and recorded from dig and kdig. */
function seeds(): Seed[] {
  const q = (name: string, type: string, extra: Partial<dnsPacket.Packet> = {}) =>
    dnsPacket.encode({
      type: 'query',
      id: 0x5a5a,
      flags: 0,
      questions: [{ type: type as 'SOA', name }],
      ...extra,
    });
  const ixfr = (name: string, serial: number) =>
    q(name, 'IXFR', {
      authorities: [
        {
          type: 'SOA',
          name,
          ttl: 0,
          data: { mname: '.', rname: '.', serial, refresh: 0, retry: 0, expire: 0, minimum: 0 },
        },
      ],
    });
  const built: Array<[string, Buffer]> = [
    ['SOA origin', q(ORIGIN, 'SOA')],
    ['SOA per-zone policy zone', q(ZONE, 'SOA')],
    ['SOA outside the origin', q('example.com', 'SOA')],
    ['AXFR origin', q(ORIGIN, 'AXFR')],
    ['AXFR per-zone', q(ZONE, 'AXFR')],
    ['IXFR from the previous serial', ixfr(ORIGIN, FIRST_SERIAL + 1)],
    ['IXFR from a serial without history', ixfr(ORIGIN, 7)],
    ['IXFR up to date', ixfr(ZONE, 0xfffffff0)],
    ['IXFR without client SOA', q(ORIGIN, 'IXFR')],
    ['A query in the zone', q(`32.1.0.0.10.rpz-client-ip.${ORIGIN}`, 'A')],
    [
      'NOTIFY',
      dnsPacket.encode({
        type: 'query',
        id: 9,
        flags: 4 << 11,
        questions: [{ type: 'SOA', name: ORIGIN }],
      }),
    ],
    [
      'UPDATE',
      dnsPacket.encode({
        type: 'query',
        id: 10,
        flags: 5 << 11,
        questions: [{ type: 'SOA', name: ORIGIN }],
      }),
    ],
  ];
  return [
    ...built.map(([label, bytes]) => ({ label, bytes, fields: dnsFields(bytes) })),
    ...recordedXfrQueries.map((r) => {
      const bytes = Buffer.from(r.hex, 'hex');
      return { label: r.command, bytes, fields: dnsFields(bytes) };
    }),
  ];
}

const frame = (m: Buffer) => Buffer.concat([Buffer.from([m.length >> 8, m.length & 0xff]), m]);

/** Whole length-prefixed messages in a TCP byte stream: what the server will answer. */
function completeFrames(stream: Buffer): number {
  let n = 0;
  for (let at = 0; at + 2 <= stream.length; n++) {
    const len = stream.readUInt16BE(at);
    if (at + 2 + len > stream.length) break;
    at += 2 + len;
  }
  return n;
}

function frames(stream: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at + 2 <= stream.length;) {
    const len = stream.readUInt16BE(at);
    if (at + 2 + len > stream.length) break;
    out.push(stream.subarray(at + 2, at + 2 + len));
    at += 2 + len;
  }
  return out;
}

const ANSWERED: ReadonlySet<XfrOutcome> = new Set(['soa', 'axfr', 'ixfr', 'ixfr-uptodate']);

function checkResponse(res: Buffer, requestId: number | null, where: string): void {
  let p: dnsPacket.DecodedPacket;
  try {
    p = dnsPacket.decode(res);
  } catch (e) {
    throw new Error(
      `${where}: the server sent an undecodable response (${(e as Error).message}): ${res.toString('hex').slice(0, 400)}`,
    );
  }
  if (p.type !== 'response') throw new Error(`${where}: response without QR`);
  if (requestId !== null && p.id !== requestId)
    throw new Error(`${where}: response id ${p.id}, request ${requestId}`);
}

/**
 * The RPZ/AXFR/IXFR server against a hostile client: two real RpzXfrServer instances on
 * loopback (TSIG required / optional), fed mutated SOA, AXFR, IXFR, NOTIFY and UPDATE queries —
 * built with dns-packet and recorded from dig and kdig, unsigned, signed then damaged, or
 * damaged then signed with the right key — over real UDP datagrams and TCP connections (several
 * messages per connection, framing damaged). Every request ends as one counted outcome (answered,
 * or formerr/notauth/refused/other); the server never reports an internal error, answers with
 * decodable messages, and keeps serving valid signed transfers.
 */
export const rpzXfrFuzzTarget: FuzzTargetFactory = {
  name: 'rpz-xfr-server',
  network: true,
  description:
    'SOA/AXFR/IXFR/NOTIFY/UPDATE queries (dns-packet + recorded dig 9.18 and kdig 3.2), unsigned / signed-then-mutated / mutated-then-signed, over real UDP and TCP (multi-message, damaged framing) → 2 RpzXfrServer instances on loopback',
  async create() {
    const key = FUZZ_TSIG_KEY;
    const outcomes: XfrOutcome[] = [];
    const errors: string[] = [];
    let wake: (() => void) | null = null;
    const options = (requireTsig: boolean) => ({
      host: '127.0.0.1',
      port: 0,
      origin: ORIGIN,
      initialSerial: FIRST_SERIAL,
      keys: [key],
      requireTsig,
      notify: [],
      allow: ['127.0.0.0/8'],
      onServed: (o: XfrOutcome) => {
        outcomes.push(o);
        wake?.();
      },
      onError: (e: unknown, where: string) => {
        errors.push(`${where}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
        wake?.();
      },
    });
    const servers = [new RpzXfrServer(options(true)), new RpzXfrServer(options(false))];
    const ports: number[] = [];
    for (const s of servers) {
      ports.push((await s.start()).port);
      // Two versions: IXFR has history to serve.
      await s.refresh(entries(150, 0));
      await s.refresh(entries(150, 7));
    }
    const base = seeds();
    const replies: Buffer[] = [];
    /** A fresh client socket per datagram: a late reply to the last one cannot be mistaken. */
    const udpClient = async (): Promise<UdpSocket> => {
      const sock = createSocket('udp4');
      sock.on('message', (m) => {
        replies.push(m);
        wake?.();
      });
      await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
      return sock;
    };
    const send = (sock: UdpSocket, msg: Buffer, port: number) =>
      new Promise<void>((r, j) => sock.send(msg, port, '127.0.0.1', (e) => (e ? j(e) : r())));

    /** Resolve when `ready()` holds (checked on every server event), or fail after `ms`. */
    const until = (ready: () => boolean, ms: number, what: string) =>
      new Promise<void>((resolve, reject) => {
        if (ready()) return resolve();
        const timer = setTimeout(() => {
          wake = null;
          reject(new Error(`no ${what} within ${ms} ms: the server hangs`));
        }, ms);
        wake = () => {
          if (!ready()) return;
          clearTimeout(timer);
          wake = null;
          resolve();
        };
      });

    const build = (m: Message): Buffer => {
      const s = base[m.seed]!;
      // A client can only sign what has a header and room for one more additional record.
      const sign = (b: Buffer) =>
        b.length >= 12 && b.readUInt16BE(10) < 0xffff ? signMessage(b, key).msg : b;
      if (m.sign === 'before') return applyMutations(sign(s.bytes), m.mutations, base);
      const mutated = applyMutations(s.bytes, m.mutations, base, s.fields);
      return m.sign === 'after' ? sign(mutated) : mutated;
    };

    const viaUdp = async (port: number, msg: Buffer) => {
      replies.length = 0;
      errors.length = 0;
      outcomes.length = 0; // per input: a million of them would be the harness's own leak
      const isResponse = msg.length >= 3 && (msg[2]! & 0x80) !== 0;
      const sock = await udpClient();
      try {
        await send(sock, msg, port);
        if (isResponse) {
          // Taken as a NOTIFY acknowledgement, silently: a valid query right after proves it was read.
          const probe = dnsPacket.encode({
            type: 'query',
            id: 0x7777,
            questions: [{ type: 'SOA', name: ORIGIN }],
          });
          await send(sock, signMessage(probe, key).msg, port);
          await until(
            () => errors.length > 0 || (outcomes.length > 0 && replies.length > 0),
            3_000,
            'answer to the probe',
          );
          if (errors.length > 0) throw new Error(`server error: ${errors.join('\n')}`);
          return { decoded: 0, ignored: 1, malformed: [] };
        }
        await until(
          () => errors.length > 0 || outcomes.length > 0,
          3_000,
          'outcome for a datagram',
        );
        if (errors.length > 0) throw new Error(`server error: ${errors.join('\n')}`);
        const outcome = outcomes[outcomes.length - 1]!;
        // Undecodable datagrams get no answer; everything else gets exactly one.
        if (outcome !== 'formerr') {
          await until(() => replies.length > 0, 3_000, `reply to a ${outcome} datagram`);
          checkResponse(replies[0]!, msg.readUInt16BE(0), `UDP ${outcome}`);
        }
        return ANSWERED.has(outcome)
          ? { decoded: 1, malformed: [] }
          : { decoded: 0, malformed: [`rpz-${outcome}`] };
      } finally {
        sock.close();
      }
    };

    const viaTcp = async (port: number, stream: Buffer) => {
      errors.length = 0;
      outcomes.length = 0;
      const expected = completeFrames(stream);
      const sock: Socket = connect(port, '127.0.0.1');
      let received = Buffer.alloc(0);
      let closed = false;
      sock.on('data', (c: Buffer) => (received = Buffer.concat([received, c])));
      sock.on('error', () => undefined);
      sock.on('close', () => {
        closed = true;
        wake?.();
      });
      await new Promise<void>((r, j) => sock.once('connect', r).once('error', j));
      sock.write(stream);
      try {
        await until(
          () => errors.length > 0 || closed || outcomes.length >= expected,
          3_000,
          `outcomes for ${expected} framed messages`,
        );
        if (errors.length > 0) throw new Error(`server error: ${errors.join('\n')}`);
        if (closed) throw new Error('the server closed the connection without an error');
        await new Promise((r) => setImmediate(r));
        for (const res of frames(received)) checkResponse(res, null, 'TCP');
      } finally {
        sock.resetAndDestroy();
      }
      const mine = [...outcomes];
      if (mine.length !== expected)
        throw new Error(`${expected} framed messages, ${mine.length} outcomes`);
      if (expected === 0) return { decoded: 0, ignored: 1, malformed: [] }; // the server waits for the rest
      return {
        decoded: mine.filter((o) => ANSWERED.has(o)).length,
        malformed: mine.filter((o) => !ANSWERED.has(o)).map((o) => `rpz-${o}`),
      };
    };

    const streamOf = (i: Input) =>
      applyMutations(Buffer.concat(i.messages.map((m) => frame(build(m)))), i.stream);

    /** A valid signed SOA over UDP and TCP, and a signed AXFR, to both servers: still served. */
    const check = async () => {
      for (const port of ports) {
        const soa = signMessage(
          dnsPacket.encode({
            type: 'query',
            id: 0x4242,
            questions: [{ type: 'SOA', name: ORIGIN }],
          }),
          key,
        );
        replies.length = 0;
        const sock = await udpClient();
        await send(sock, soa.msg, port);
        await until(
          () => replies.length > 0,
          3_000,
          'answer to a valid SOA query after the garbage',
        ).finally(() => sock.close());
        const res = replies[0]!;
        const v = verifyMessage(res, [key], Date.now(), soa.mac);
        const p = dnsPacket.decode(res) as dnsPacket.DecodedPacket & { rcode?: string };
        if (!v.ok || p.rcode !== 'NOERROR' || p.answers?.[0]?.type !== 'SOA')
          throw new Error(`valid SOA query answered ${p.rcode} (TSIG ${v.ok ? 'ok' : v.reason})`);
        const axfr = signMessage(
          dnsPacket.encode({
            type: 'query',
            id: 0x4343,
            questions: [{ type: 'AXFR', name: ORIGIN }],
          }),
          key,
        );
        const r = await viaTcp(port, frame(axfr.msg));
        if (r.decoded !== 1) throw new Error(`valid signed AXFR not served: ${JSON.stringify(r)}`);
      }
    };

    const message: fc.Arbitrary<Message> = fc.record({
      seed: fc.nat({ max: base.length - 1 }),
      sign: fc.constantFrom('none' as const, 'before' as const, 'after' as const),
      mutations: fc.array(mutationArbitrary(), { maxLength: 4 }),
    });
    const target: FuzzTarget<Input> = {
      name: 'rpz-xfr-server',
      async: true,
      arbitrary: fc.record({
        transport: fc.constantFrom('udp' as const, 'tcp' as const),
        server: fc.constantFrom(0 as const, 1 as const),
        messages: fc.array(message, { minLength: 1, maxLength: 3 }),
        stream: fc.array(mutationArbitrary({ maxBytes: 8 }), { maxLength: 2 }),
      }),
      reasons: ['rpz-formerr', 'rpz-notauth', 'rpz-refused', 'rpz-other'],
      describe: (i) =>
        `${i.transport} to server ${i.server} (${i.server === 0 ? 'TSIG required' : 'TSIG optional'})\n` +
        i.messages
          .map(
            (m) =>
              `  seed ${m.seed} (${base[m.seed]!.label}), sign ${m.sign}, ${JSON.stringify(m.mutations)}`,
          )
          .join('\n') +
        `\n  stream ${JSON.stringify(i.stream)}\n  bytes ${(i.transport === 'udp' ? build(i.messages[0]!) : streamOf(i)).toString('hex').slice(0, 800)}`,
      run(i) {
        const port = ports[i.server]!;
        return i.transport === 'udp'
          ? viaUdp(port, build(i.messages[0]!))
          : viaTcp(port, streamOf(i));
      },
      check,
      async close() {
        for (const s of servers) await s.stop();
      },
    };
    return target as FuzzTarget<unknown>;
  },
};
