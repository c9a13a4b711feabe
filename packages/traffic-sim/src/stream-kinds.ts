import { type QueryEvent } from '@sluice/contracts';
import {
  ALNUM,
  DICTIONARY_WORDS,
  HEX,
  MIRAI_ALPHABET,
  MIRAI_DEFAULT_RESOLVERS,
  RANDOMLABEL_ALPHABET,
  deployNames,
  resolverPool,
  scrapedNames,
  wordlistNames,
} from './names';
import { type ResolverSpace } from './resolver-space';
import { Rng, Zipf, hashString } from './rng';

// What each kind of stream sends: its names, resolvers, qtypes and (when responses are
// simulated) rcodes. When it sends them is stream-shape.ts; the benign mix is scenario.ts.

export const ATTACK_KINDS = [
  'mirai',
  'randomlabel',
  'hex',
  'dictionary',
  'lowslow',
  'nxns',
  'nested',
  'wordlist',
  'replay',
] as const;
export type AttackKind = (typeof ATTACK_KINDS)[number];
/**
 * Benign look-alikes: repeating hash hostnames, flash crowds on existing names, RUM beacons, and
 * new hosts going live behind caching resolvers (a deployment, a migration, an app launch).
 */
export const BENIGN_KINDS = ['cdn', 'flashcrowd', 'rum', 'deploy'] as const;
export type BenignKind = (typeof BENIGN_KINDS)[number];
export type StreamKind = AttackKind | BenignKind;

export function isAttackKind(kind: string): kind is AttackKind {
  return (ATTACK_KINDS as readonly string[]).includes(kind);
}

/** One traffic component on top of the benign mix. Times are offsets from the scenario start. */
export interface StreamSpec {
  kind: StreamKind;
  /** Target zone (must be one of the scenario's zones for flashcrowd). */
  zone: string;
  startMs: number;
  durationMs: number;
  /** Mean queries per second of this component. */
  qps: number;
  /** How many distinct resolvers carry it (lowslow: thousands). */
  resolvers?: number;
  /** rum: the beacon subtree label under the zone (default 'rum'). */
  subtree?: string;
  /**
   * The rate rises linearly from 0 at startMs to `qps` at startMs + rampMs, then holds (a ramp
   * longer than the stream ends below `qps`). Any kind.
   */
  rampMs?: number;
  /**
   * Pulses: on for onMs, off for offMs, repeating from startMs until the stream's end; `qps` is
   * the rate while on. Give both or neither. Any kind.
   */
  onMs?: number;
  offMs?: number;
  /**
   * Carried by the resolvers of the zones' legitimate users: each query's resolver is drawn as
   * the benign mix draws it (35 % public resolvers, else the ISP pool by popularity) instead of
   * from the stream's own pool. With `resolvers`, only that many of the most popular ISP
   * resolvers (public ones always). Any kind (Mirai's own public defaults are replaced too).
   */
  sharedResolvers?: boolean;
  /** wordlist: distinct names (default 2000); replay: length of the replayed list (default 1000). */
  vocabulary?: number;
  /** nested: how many of the zone's existing host names the random labels go under (default 3). */
  parents?: number;
  /** deploy: how long a resolver caches an answer (default 300 s). */
  ttlMs?: number;
  /**
   * deploy: the new names are the zone's own hosts renamed (`<host>-v2`), as popular as they
   * were (a migration), instead of `vocabulary` new hosts.
   */
  migrate?: boolean;
}

const RANDOM_QTYPES = [1, 28, 2, 5, 6, 15, 16, 33, 65, 255] as const;

/** A benign zone: its host names and how popular each is. */
export interface ZoneModel {
  zone: string;
  vocab: string[];
  zipf: Zipf;
}

/** Builds events of one component; `t` is the event time already drawn. */
export type Emit = (rng: Rng, t: number) => QueryEvent;
export type ResolverDraw = (rng: Rng) => string;

export function baseEvent(
  rng: Rng,
  ts: number,
  resolver: string,
  qname: string,
  zone: string,
  qtype: number,
): QueryEvent {
  return {
    ts,
    resolver,
    resolverPort: rng.int(1024, 65535),
    transport: 'udp',
    qname,
    qtype,
    qclass: 1,
    rd: false,
    cd: false,
    do: false,
    ednsSize: 1232,
    id: rng.int(0, 65535),
    zone,
    rcode: null,
    ancount: null,
  };
}

/**
 * Whether an existing host has no record of this type (NODATA): every host has A; about a
 * third lack each other type. A hash, not a draw, so it is the same on every ask.
 */
export function hasNoData(host: string, qtype: number): boolean {
  return qtype !== 1 && hashString(`${host}/${qtype}`) % 3 === 0;
}

/** The event builder of one stream; `poolRng` draws its resolver pool and fixed lists. */
export function streamEmitter(
  s: StreamSpec,
  poolRng: Rng,
  byZone: ReadonlyMap<string, ZoneModel>,
  withResponses: boolean,
  space: ResolverSpace | undefined,
): Emit {
  const zone = s.zone;
  const nx = withResponses ? 3 : null;
  const ok = withResponses ? 0 : null;
  const pool = (count: number) =>
    space ? space.pool(poolRng, count, 0.15) : resolverPool(poolRng, count, 0.15);
  /** What the authoritative answers for `host`: NOERROR (or NODATA) if the zone has it. */
  const respond = (e: QueryEvent, host: string, known: ReadonlySet<string>) => {
    if (!withResponses) return;
    const exists = known.has(host);
    e.rcode = exists ? 0 : 3;
    e.ancount = exists && !hasNoData(host, e.qtype) ? 1 : 0;
  };
  const known = new Set(byZone.get(zone)?.vocab ?? []);
  switch (s.kind) {
    case 'mirai': {
      const bots = pool(s.resolvers ?? 200);
      return (rng, t) => {
        // Infected devices use their ISP's resolver, else Mirai's hard-coded public defaults.
        const resolver = rng.next() < 0.3 ? rng.pick(MIRAI_DEFAULT_RESOLVERS) : rng.pick(bots);
        const e = baseEvent(rng, t, resolver, `${rng.chars(MIRAI_ALPHABET, 12)}.${zone}`, zone, 1);
        e.rd = true;
        e.ednsSize = null;
        e.rcode = nx;
        e.ancount = nx === null ? null : 0;
        return e;
      };
    }
    case 'randomlabel': {
      const rs = pool(s.resolvers ?? 50);
      return (rng, t) => {
        const labels: string[] = [];
        const depth = rng.int(1, 5);
        for (let i = 0; i < depth; i++)
          labels.push(rng.chars(RANDOMLABEL_ALPHABET, rng.int(2, 10)));
        const e = baseEvent(
          rng,
          t,
          rng.pick(rs),
          `${labels.join('.')}.${zone}`,
          zone,
          rng.pick(RANDOM_QTYPES),
        );
        e.rd = true;
        e.rcode = nx;
        e.ancount = nx === null ? null : 0;
        return e;
      };
    }
    case 'hex': {
      const rs = pool(s.resolvers ?? 100);
      return (rng, t) => {
        const e = baseEvent(
          rng,
          t,
          rng.pick(rs),
          `${rng.chars(HEX, rng.next() < 0.5 ? 16 : 32)}.${zone}`,
          zone,
          1,
        );
        e.rcode = nx;
        e.ancount = nx === null ? null : 0;
        return e;
      };
    }
    case 'dictionary': {
      const rs = pool(s.resolvers ?? 100);
      return (rng, t) => {
        const w1 = rng.pick(DICTIONARY_WORDS);
        const w2 = rng.pick(DICTIONARY_WORDS);
        const sep = rng.pick(['', '-', '']);
        const name =
          rng.next() < 0.5
            ? `${w1}${sep}${w2}${rng.int(1, 999)}`
            : `${w1}${sep}${w2}${sep}${rng.pick(DICTIONARY_WORDS)}`;
        const e = baseEvent(
          rng,
          t,
          rng.pick(rs),
          `${name}.${zone}`,
          zone,
          rng.next() < 0.7 ? 1 : 28,
        );
        e.rcode = nx;
        e.ancount = nx === null ? null : 0;
        return e;
      };
    }
    case 'lowslow': {
      // Thousands of resolvers, each well under any per-source rate limit.
      const rs = pool(s.resolvers ?? 2000);
      return (rng, t) => {
        const e = baseEvent(
          rng,
          t,
          rng.pick(rs),
          `${rng.chars(ALNUM, rng.int(8, 16))}.${zone}`,
          zone,
          rng.next() < 0.6 ? 1 : 28,
        );
        e.rcode = nx;
        e.ancount = nx === null ? null : 0;
        return e;
      };
    }
    case 'nxns': {
      // Glueless referrals make resolvers ask for many distinct NS names inside the victim zone.
      const rs = pool(s.resolvers ?? 500);
      return (rng, t) => {
        const name = `ns${rng.int(1, 99)}-${rng.chars(ALNUM, rng.int(6, 10))}.${zone}`;
        const e = baseEvent(rng, t, rng.pick(rs), name, zone, rng.next() < 0.5 ? 1 : 28);
        e.rcode = nx;
        e.ancount = nx === null ? null : 0;
        return e;
      };
    }
    case 'nested': {
      // Random labels under existing names (<rand>.www.zone): the parent is a name the zone
      // answers for, so a per-suffix view of the zone's own names sees the flood beneath it.
      const candidates = byZone.get(zone)?.vocab.slice(0, 20) ?? ['www', 'cdn', 'mail', 'api'];
      const parents: string[] = [];
      const left = [...candidates];
      while (parents.length < Math.min(s.parents ?? 3, candidates.length))
        parents.push(left.splice(poolRng.int(0, left.length - 1), 1)[0]!);
      const rs = pool(s.resolvers ?? 200);
      return (rng, t) => {
        const host = `${rng.chars(ALNUM, rng.int(6, 14))}.${rng.pick(parents)}`;
        const e = baseEvent(
          rng,
          t,
          rng.pick(rs),
          `${host}.${zone}`,
          zone,
          rng.next() < 0.6 ? 1 : 28,
        );
        respond(e, host, known);
        return e;
      };
    }
    case 'wordlist': {
      // A small dictionary drawn uniformly: names repeat across resolvers, yet each resolver
      // rarely asks the same one twice, so every query still misses its cache.
      const words = wordlistNames(poolRng, s.vocabulary ?? 2000);
      const rs = pool(s.resolvers ?? 1500);
      return (rng, t) => {
        const host = rng.pick(words);
        const e = baseEvent(
          rng,
          t,
          rng.pick(rs),
          `${host}.${zone}`,
          zone,
          rng.next() < 0.7 ? 1 : 28,
        );
        respond(e, host, known);
        return e;
      };
    }
    case 'replay': {
      // A fixed list of scraped-looking names; each resolver walks it in order from its own
      // offset, so each (resolver, name) pair comes once per pass.
      const list = scrapedNames(poolRng, s.vocabulary ?? 1000);
      const rs = pool(s.resolvers ?? 1000);
      const cursor = rs.map(() => poolRng.int(0, list.length - 1));
      return (rng, t) => {
        const r = rng.int(0, rs.length - 1);
        const host = list[cursor[r]! % list.length]!;
        cursor[r] = cursor[r]! + 1;
        const e = baseEvent(rng, t, rs[r]!, `${host}.${zone}`, zone, rng.next() < 0.8 ? 1 : 28);
        respond(e, host, known);
        return e;
      };
    }
    case 'cdn': {
      // High-entropy hash hostnames that REPEAT: random-looking, but not never-seen.
      const hashRng = new Rng(hashString(`cdn:${zone}`));
      const hashes = Array.from({ length: 300 }, () => hashRng.chars(HEX, 20));
      const zipf = new Zipf(hashes.length, 1.0);
      const rs = pool(s.resolvers ?? 300);
      return (rng, t) => {
        const host = hashes[zipf.sample(rng)]!;
        const e = baseEvent(
          rng,
          t,
          rng.pick(rs),
          `${host}.edge.${zone}`,
          zone,
          rng.next() < 0.7 ? 1 : 28,
        );
        e.rcode = ok;
        e.ancount = ok === null ? null : 1;
        return e;
      };
    }
    case 'deploy': {
      // New hosts going live, seen from the authoritative: clients ask names by Zipf popularity
      // through resolvers of very different sizes (Zipf too), and a resolver asks the
      // authoritative only when its cached answer has expired — once per TTL per name at most.
      // Each query is the next cache miss: client asks are drawn until one misses. Unless
      // nearly every resolver asks every name every TTL (`qps` × TTL near resolvers × names,
      // then it is a replay whose pass is the TTL), popular names dominate and small resolvers
      // only ever ask those.
      const model = byZone.get(zone);
      const hosts =
        s.migrate && model
          ? model.vocab.map((h) => `${h}-v2`)
          : deployNames(poolRng, s.vocabulary ?? 300);
      const popularity = new Zipf(hosts.length, s.migrate ? 1.1 : 1.0);
      const rs = pool(s.resolvers ?? 3000);
      const size = new Zipf(rs.length, 0.8);
      const ttl = s.ttlMs ?? 300_000;
      const expires = new Map<number, number>();
      const created = new Set(hosts);
      return (rng, t) => {
        let r = 0;
        let x = 0;
        for (let tries = 0; tries < 200; tries++) {
          r = size.sample(rng);
          x = popularity.sample(rng);
          const until = expires.get(r * hosts.length + x);
          if (until === undefined || until <= t) break;
        }
        expires.set(r * hosts.length + x, t + ttl);
        const host = hosts[x]!;
        const e = baseEvent(rng, t, rs[r]!, `${host}.${zone}`, zone, rng.next() < 0.7 ? 1 : 28);
        respond(e, host, created);
        return e;
      };
    }
    case 'flashcrowd': {
      // Volume on names that already exist (the zone's most popular hosts).
      const model = byZone.get(zone);
      const hosts = model ? model.vocab.slice(0, 5) : ['www'];
      const rs = pool(s.resolvers ?? 1000);
      return (rng, t) => {
        const e = baseEvent(
          rng,
          t,
          rng.pick(rs),
          `${rng.pick(hosts)}.${zone}`,
          zone,
          rng.next() < 0.6 ? 1 : 28,
        );
        e.rcode = ok;
        e.ancount = ok === null ? null : 1;
        return e;
      };
    }
    case 'rum': {
      // Real-user-measurement beacons: unique random labels by design, under one subtree.
      const sub = s.subtree ?? 'rum';
      const rs = pool(s.resolvers ?? 500);
      return (rng, t) => {
        const e = baseEvent(
          rng,
          t,
          rng.pick(rs),
          `${rng.chars(HEX, 16)}-${rng.int(0, 9999)}.${sub}.${zone}`,
          zone,
          1,
        );
        e.rcode = nx;
        e.ancount = nx === null ? null : 0;
        return e;
      };
    }
  }
}
