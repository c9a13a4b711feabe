import { type QueryEvent, type Transport } from '@sluice/contracts';
import {
  decodeDnsInto,
  decodeResponseHeadInto,
  emptyDnsSummary,
  responseQname,
  responseQnameIs,
  type DnsSummary,
} from './dns-decode';
import { type ZoneMapper } from './zone-mapper';

/** One DNS message as a source observed it, before decoding. */
export interface ObservedMessage {
  /** Event time from the traffic (dnstap query_time, pcap timestamp), epoch ms. */
  ts: number;
  /** The querier: for an authoritative server, the recursive resolver. */
  resolver: string;
  resolverPort: number;
  transport: Transport;
  dns: Buffer;
}

export interface RecordSink {
  record(event: QueryEvent): void;
  malformed(reason: string, raw: Buffer, detail: string): void;
}

export interface AssemblerOptions {
  /** How long (event time) a query waits for its response to fill in the rcode. 0 = no pairing. */
  pairWindowMs: number;
  /** Bound on queries waiting for a response; the oldest is emitted without rcode beyond it. */
  maxPending: number;
}

/**
 * Turns observed DNS messages into QueryEvents. A query is held up to pairWindowMs (event
 * time) so the response — dnstap AUTH_RESPONSE or the answer packet in a pcap — can add its
 * rcode; a response without a held query still yields a record (rd/cd from the response
 * header, which copies them; EDNS unknown). Event time only advances with the traffic, so a
 * replay at any speed pairs identically.
 */
/** Queries (besides two pairing windows of event time) before a source counts as query-only. */
const QUERY_ONLY_AFTER = 64;

export class QueryAssembler {
  /**
   * Held queries in a hash table of chains on a numeric key (message id and resolver port); the
   * full match (resolver, port, id, qtype, qname) is checked on the chain, newest first. A string
   * key per query cost ~3 µs each (building, flattening and hashing it, then keeping it alive);
   * a Map<number, Held> cost a rehash-prone set and delete per query. The table grows with the
   * number held (never past maxPending's power of two) and is rebuilt from `order`.
   */
  private buckets: (Held | null)[] = new Array<Held | null>(MIN_BUCKETS).fill(null);
  private bucketShift = 32 - Math.log2(MIN_BUCKETS);
  private held = 0;
  /**
   * Insertion order of held queries, consumed from `head`. Expiry walks this instead of the
   * Map: iterating a Map from the front after many deletions re-skips every deleted slot
   * (quadratic under a flood); entries no longer held are simply skipped here.
   */
  private order: Held[] = [];
  private head = 0;
  /**
   * Pairing costs a held object per query; a source that never carries responses (a capture
   * of inbound traffic only) should not pay it. After two windows of event time and
   * QUERY_ONLY_AFTER queries without any response, queries go out immediately; the first
   * response switches pairing back on. (One window alone misjudged a nameserver whose first
   * responses lagged its first few queries — seen with BIND's dnstap on a loaded box.)
   */
  private pairing: boolean;
  private responsesSeen = 0;
  private firstQueryTs: number | null = null;
  private queriesWithoutResponse = 0;
  private readonly msg: DnsSummary = emptyDnsSummary();
  decoded = 0;

  constructor(
    private readonly zones: ZoneMapper,
    private readonly sink: RecordSink,
    private readonly options: AssemblerOptions = { pairWindowMs: 500, maxPending: 100_000 },
  ) {
    this.pairing = options.pairWindowMs > 0;
  }

  get pendingQueries(): number {
    return this.held;
  }

  onMessage(m: ObservedMessage): void {
    this.onMessageAt(m.ts, m.resolver, m.resolverPort, m.transport, m.dns, 0, m.dns.length);
  }

  /**
   * onMessage() for the DNS message data[start, end), in place: the capture path calls this
   * per packet without building an ObservedMessage or a Buffer view (nothing here keeps `data`).
   */
  onMessageAt(
    ts: number,
    resolver: string,
    resolverPort: number,
    transport: Transport,
    data: Buffer,
    start: number,
    end: number,
  ): void {
    const isResponse = end - start > 2 && (data[start + 2]! & 0x80) !== 0;
    // One summary, refilled per message: the decoders allocate nothing for a well-formed one.
    const msg = this.msg;
    if (!isResponse) {
      const failure = decodeDnsInto(data, start, end, msg);
      if (failure !== null) {
        this.sink.malformed(failure.reason, data.subarray(start, end), failure.detail);
        return;
      }
      this.decoded++;
      const event = this.toEvent(ts, resolver, resolverPort, transport, msg, null);
      if (this.pairing && this.responsesSeen === 0) {
        this.queriesWithoutResponse++;
        if (this.firstQueryTs === null) this.firstQueryTs = ts;
        else if (
          ts - this.firstQueryTs > 2 * this.options.pairWindowMs &&
          this.queriesWithoutResponse >= QUERY_ONLY_AFTER
        ) {
          this.pairing = false;
          this.flush();
        }
      }
      if (!this.pairing) {
        this.sink.record(event);
        return;
      }
      this.expireBefore(ts - this.options.pairWindowMs);
      const key = pairKey(msg.id, resolverPort);
      const earlier = this.take(key, resolver, resolverPort, msg.id, msg.qtype, event.qname, data);
      if (earlier) {
        // Same resolver, port, id and question again (a retransmission): keep both, in order.
        this.sink.record(earlier);
      }
      const bucket = this.bucketOf(key);
      const entry = new Held(key, event, this.buckets[bucket] ?? null);
      this.buckets[bucket] = entry;
      this.held++;
      this.order.push(entry);
      if (this.held > this.buckets.length) this.grow();
      if (this.held > this.options.maxPending) this.emitOldest();
      return;
    }
    // A response: header and question only, and its name stays bytes unless no query matches.
    const failure = decodeResponseHeadInto(data, start, end, msg);
    if (failure !== null) {
      this.sink.malformed(failure.reason, data.subarray(start, end), failure.detail);
      return;
    }
    this.decoded++;
    this.responsesSeen++;
    if (!this.pairing && this.options.pairWindowMs > 0) this.pairing = true;
    const query = this.take(
      pairKey(msg.id, resolverPort),
      resolver,
      resolverPort,
      msg.id,
      msg.qtype,
      null,
      data,
    );
    if (query) {
      query.rcode = msg.rcode;
      query.ancount = msg.ancount;
      this.sink.record(query);
    } else {
      msg.qname = responseQname(data);
      this.sink.record(this.toEvent(ts, resolver, resolverPort, transport, msg, msg.rcode));
    }
  }

  /**
   * Remove and return the held query matching resolver, port, id, qtype and name, if any. The
   * name is `qname`, or (null) the response name the decoder just read from `data`.
   */
  private take(
    key: number,
    resolver: string,
    port: number,
    id: number,
    qtype: number,
    qname: string | null,
    data: Buffer,
  ): QueryEvent | null {
    let prev: Held | null = null;
    for (let h = this.buckets[this.bucketOf(key)] ?? null; h !== null; prev = h, h = h.next) {
      const e = h.event;
      if (
        h.key === key &&
        e.id === id &&
        e.resolverPort === port &&
        e.qtype === qtype &&
        e.resolver === resolver &&
        (qname === null ? responseQnameIs(data, e.qname) : e.qname === qname)
      ) {
        this.unlink(h, prev);
        return e;
      }
    }
    return null;
  }

  private bucketOf(key: number): number {
    return Math.imul(key, 0x9e3779b1) >>> this.bucketShift;
  }

  /** Twice the buckets, chains rebuilt in insertion order (so each stays newest first). */
  private grow(): void {
    const size = this.buckets.length * 2;
    if (size > MAX_BUCKETS) return;
    this.buckets = new Array<Held | null>(size).fill(null);
    this.bucketShift--;
    for (let i = this.head; i < this.order.length; i++) {
      const h = this.order[i]!;
      if (!h.live) continue;
      const bucket = this.bucketOf(h.key);
      h.next = this.buckets[bucket] ?? null;
      this.buckets[bucket] = h;
    }
  }

  private unlink(h: Held, prev: Held | null): void {
    if (prev) prev.next = h.next;
    else this.buckets[this.bucketOf(h.key)] = h.next;
    h.live = false;
    h.next = null;
    this.held--;
  }

  /** Remove a held entry found through `order`. */
  private release(h: Held): void {
    let prev: Held | null = null;
    for (let c = this.buckets[this.bucketOf(h.key)] ?? null; c !== null; prev = c, c = c.next) {
      if (c === h) {
        this.unlink(h, prev);
        return;
      }
    }
  }

  /** Emit held queries older than `ts` (event time) without an rcode. */
  expireBefore(ts: number): void {
    while (this.head < this.order.length) {
      const o = this.order[this.head]!;
      if (o.live) {
        if (o.event.ts >= ts) break; // insertion order ≈ event-time order
        this.release(o);
        this.sink.record(o.event);
      }
      this.head++;
    }
    this.compact();
  }

  /** End of input, or the source went idle: everything held goes out. */
  flush(): void {
    for (let i = this.head; i < this.order.length; i++) {
      const o = this.order[i]!;
      if (o.live) {
        o.live = false;
        this.sink.record(o.event);
      }
    }
    this.buckets.fill(null);
    this.held = 0;
    this.order = [];
    this.head = 0;
  }

  private emitOldest(): void {
    while (this.head < this.order.length) {
      const o = this.order[this.head++]!;
      if (o.live) {
        this.release(o);
        this.sink.record(o.event);
        break;
      }
    }
    this.compact();
  }

  private compact(): void {
    if (this.head > 4096 && this.head * 2 > this.order.length) {
      this.order = this.order.slice(this.head);
      this.head = 0;
    }
  }

  private toEvent(
    ts: number,
    resolver: string,
    resolverPort: number,
    transport: Transport,
    msg: DnsSummary,
    rcode: number | null,
  ): QueryEvent {
    const zone = this.zones.zoneOf(msg.qname);
    return new QueryRecord(ts, resolver, resolverPort, transport, msg, zone, rcode);
  }
}

/**
 * A QueryEvent built by a constructor, not an object literal: V8 tracks object literals per
 * allocation site and, once many of them survive a garbage collection (queries held for their
 * response during a pairing window), allocates every later one straight in the old
 * generation ("pretenuring") — measured 2-3x slower for the rest of the run, even after
 * pairing stops. Constructed objects have no such site feedback.
 */
class QueryRecord implements QueryEvent {
  qname: string;
  qtype: number;
  qclass: number;
  rd: boolean;
  cd: boolean;
  do: boolean;
  ednsSize: number | null;
  id: number;
  ancount: number | null;

  constructor(
    public ts: number,
    public resolver: string,
    public resolverPort: number,
    public transport: Transport,
    msg: DnsSummary,
    public zone: string,
    public rcode: number | null,
  ) {
    this.qname = msg.qname;
    this.qtype = msg.qtype;
    this.qclass = msg.qclass;
    this.rd = msg.rd;
    this.cd = msg.cd;
    this.do = msg.do;
    this.ednsSize = msg.ednsSize;
    this.id = msg.id;
    this.ancount = rcode === null ? null : msg.ancount;
  }
}

const MIN_BUCKETS = 1024;
const MAX_BUCKETS = 1 << 20;

/** A query waiting for its response (a class for the same reason as QueryRecord). */
class Held {
  live = true;
  constructor(
    public key: number,
    public event: QueryEvent,
    /** Next held query in the same bucket (newer first). */
    public next: Held | null,
  ) {}
}

/**
 * Message id and resolver port folded into a small integer (V8 Smi: fast Map keys); whatever
 * collides shares a chain, where the full match is checked.
 */
function pairKey(id: number, port: number): number {
  return ((id << 14) ^ port) & 0x3fffffff;
}
