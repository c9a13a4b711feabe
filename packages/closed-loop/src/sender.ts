import { createSocket, type Socket } from 'node:dgram';
import * as dnsPacket from 'dns-packet';
import { inZone, normaliseName } from '@sluice/dns';
import { encodeQuery, type PlannedQuery, type QueryClassCode, type Resolver } from './traffic';

/** What became of one query, as the sending resolver saw it. */
export const Outcome = {
  pending: 0,
  /** NOERROR from the authoritative. */
  noerror: 1,
  /** NXDOMAIN from the authoritative. */
  nxdomain: 2,
  /** REFUSED (dnsdist's rule or dynamic block). */
  refused: 3,
  /** Answered by the enforcer, not the authoritative: an RPZ rewrite to NODATA. */
  policy: 4,
  /** No answer within the timeout: dropped (by policy or by load). */
  timeout: 5,
  /** Any other rcode (SERVFAIL, FORMERR…). */
  other: 6,
  /**
   * NXDOMAIN from the enforcer, not the authoritative: dnsdist's guard for a zone whose own data
   * it has (no SOA in the authority section: NSD always sends one), or an RPZ rewrite (the
   * policy zone's SOA). For a name the zone does not have, the same answer the user would get.
   */
  policyNxdomain: 7,
} as const;
export type OutcomeCode = (typeof Outcome)[keyof typeof Outcome];

/** Every query the generator sent: columnar, one index per query. */
export class QueryLog {
  sentAt: number[] = [];
  latency: number[] = [];
  resolver: number[] = [];
  zone: number[] = [];
  cls: QueryClassCode[] = [];
  outcome: OutcomeCode[] = [];
  get size(): number {
    return this.sentAt.length;
  }
}

export interface SendOptions {
  target: { host: string; port: number };
  resolvers: readonly Resolver[];
  plan: Iterable<PlannedQuery>;
  /** No answer after this long counts as dropped. */
  timeoutMs: number;
  /**
   * RPZ origin: an NXDOMAIN/NODATA whose authority SOA is under it is a policy rewrite,
   * not an answer from the zone.
   */
  policyOrigin?: string;
  /** Called once a second with the run's offset (ms) and the counts so far. */
  onSecond?: (atMs: number, log: QueryLog) => void;
  /** Stop early (e.g. a daemon died). */
  signal?: AbortSignal;
}

export interface Sender {
  /** Binds one UDP socket per resolver address. */
  open(): Promise<void>;
  /** Sends the plan on the wall clock; resolves after the last query answered or timed out. */
  run(): Promise<QueryLog>;
  /** performance.now() at the plan's offset 0 (set by run()). */
  readonly startedAt: number;
  close(): Promise<void>;
}

/**
 * The resolvers: one UDP socket bound to each resolver's own 127.x.y.z address, so the server
 * sees thousands of distinct sources. Every query is recorded with its outcome.
 */
export function createSender(o: SendOptions): Sender {
  const sockets: Socket[] = [];
  const nextId = new Uint16Array(o.resolvers.length);
  const pending = new Map<number, number>();
  const log = new QueryLog();
  const policyOrigin = o.policyOrigin && normaliseName(o.policyOrigin);
  let startedAt = 0;

  const onMessage = (ri: number) => (msg: Buffer) => {
    if (msg.length < 12) return;
    const key = ri * 65536 + msg.readUInt16BE(0);
    const qi = pending.get(key);
    if (qi === undefined) return; // late answer after its timeout
    pending.delete(key);
    log.latency[qi] = performance.now() - startedAt - log.sentAt[qi]!;
    const rcode = msg[3]! & 0x0f;
    let out: OutcomeCode =
      rcode === 0
        ? Outcome.noerror
        : rcode === 3
          ? Outcome.nxdomain
          : rcode === 5
            ? Outcome.refused
            : Outcome.other;
    // The authoritative's NXDOMAIN carries its SOA; one synthesized in front of it does not.
    if (rcode === 3 && msg.readUInt16BE(8) === 0) out = Outcome.policyNxdomain;
    else if (policyOrigin && (rcode === 3 || (rcode === 0 && msg.readUInt16BE(6) === 0))) {
      try {
        const p = dnsPacket.decode(msg);
        const soa = (p.authorities ?? []).find((a) => a.type === 'SOA');
        const owner = soa ? normaliseName(soa.name) : '';
        if (inZone(owner, policyOrigin))
          out = rcode === 3 ? Outcome.policyNxdomain : Outcome.policy;
      } catch {
        out = Outcome.other;
      }
    }
    log.outcome[qi] = out;
  };

  return {
    get startedAt() {
      return startedAt;
    },
    async open() {
      await Promise.all(
        o.resolvers.map(
          (r, i) =>
            new Promise<void>((resolve, reject) => {
              const s = createSocket('udp4');
              s.once('error', reject);
              s.on('message', onMessage(i));
              s.bind(0, r.address, () => {
                s.removeListener('error', reject);
                s.on('error', () => undefined);
                resolve();
              });
              sockets[i] = s;
            }),
        ),
      );
    },
    async run() {
      startedAt = performance.now();
      const it = o.plan[Symbol.iterator]();
      let next = it.next();
      let lastSecond = -1;
      const expire = (now: number) => {
        for (const [key, qi] of pending) {
          // Map iteration is insertion order = send order: stop at the first young one.
          if (now - log.sentAt[qi]! < o.timeoutMs) break;
          pending.delete(key);
          log.outcome[qi] = Outcome.timeout;
        }
      };
      while (!next.done) {
        if (o.signal?.aborted) break;
        const now = performance.now() - startedAt;
        while (!next.done && next.value.atMs <= now) {
          const q = next.value;
          const id = nextId[q.resolver]!;
          nextId[q.resolver] = (id + 1) & 0xffff;
          const qi = log.size;
          log.sentAt.push(now);
          log.latency.push(NaN);
          log.resolver.push(q.resolver);
          log.zone.push(q.zone);
          log.cls.push(q.cls);
          log.outcome.push(Outcome.pending);
          pending.set(q.resolver * 65536 + id, qi);
          sockets[q.resolver]!.send(encodeQuery(id, q), o.target.port, o.target.host);
          next = it.next();
        }
        expire(now);
        const second = Math.floor(now / 1000);
        if (second !== lastSecond) {
          lastSecond = second;
          o.onSecond?.(now, log);
        }
        const wait = next.done ? 0 : Math.min(5, Math.max(0, next.value.atMs - now));
        await new Promise((r) => setTimeout(r, wait));
      }
      // Let the last queries answer or time out.
      const deadline = performance.now() + o.timeoutMs + 200;
      while (pending.size > 0 && performance.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        expire(performance.now() - startedAt);
      }
      expire(Number.POSITIVE_INFINITY);
      return log;
    },
    async close() {
      await Promise.all(
        sockets.map(
          (s) =>
            new Promise<void>((resolve) => {
              try {
                s.close(() => resolve());
              } catch {
                resolve();
              }
            }),
        ),
      );
    },
  };
}
