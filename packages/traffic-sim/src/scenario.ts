import { type QueryEvent } from '@sluice/contracts';
import {
  ALNUM,
  DICTIONARY_WORDS,
  HEX,
  MIRAI_ALPHABET,
  MIRAI_DEFAULT_RESOLVERS,
  PUBLIC_RESOLVERS,
  RANDOMLABEL_ALPHABET,
  hostVocabulary,
  resolverPool,
  scrapedNames,
  wordlistNames,
  zoneName,
} from './names';
import { type ResolverSpace } from './resolver-space';
import { Rng, Zipf, hashString } from './rng';

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
/** Kinds whose streams (without ramp, pulses or shared resolvers) draw as they always have. */
const LEGACY_KINDS = [
  'mirai',
  'randomlabel',
  'hex',
  'dictionary',
  'lowslow',
  'nxns',
  'cdn',
  'flashcrowd',
  'rum',
] as const;
/** Benign look-alikes: repeating hash hostnames, flash crowds on existing names, RUM beacons. */
export const BENIGN_KINDS = ['cdn', 'flashcrowd', 'rum'] as const;
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
}

export interface ScenarioSpec {
  seed: number | string;
  /** Event time of the first query, epoch ms. */
  startTime: number;
  durationMs: number;
  /** Benign zones: a count (names from zoneName(i)) or explicit names. */
  zones: number | readonly string[];
  /** Total benign queries per second across all zones (Zipf over zones). */
  benignQps: number;
  /** Share of benign queries for names never asked before (new hosts, typos). Default 0.005. */
  benignNewNameShare?: number;
  /** Day/night swing of the benign rate: amplitude 0..1 over periodMs. */
  diurnal?: { amplitude: number; periodMs: number };
  /** Attach an rcode as if responses were observed (NXDOMAIN for names that do not exist). */
  withResponses?: boolean;
  streams?: readonly StreamSpec[];
  /**
   * Draw the simulated resolvers (the benign ISP pool and every stream's own pool) from these
   * allocated networks, weighted like a resolver population, so that each maps to a country and
   * an ASN (demos, reports). Without it they come from a synthetic space, partly unallocated,
   * that every existing seed's traffic is built on. Public and Mirai-default resolvers are
   * their real addresses either way.
   */
  resolverSpace?: ResolverSpace;
}

/** A generated query plus the ground truth the generator knows (for tests and benchmarks). */
export interface LabelledEvent {
  event: QueryEvent;
  /** The stream that produced it: 'benign' or a StreamKind. */
  origin: 'benign' | StreamKind;
}

/** qtype → share of ordinary resolver traffic toward an authoritative. */
export const BENIGN_QTYPES: readonly [number, number][] = [
  [1, 0.55],
  [28, 0.27],
  [65, 0.06],
  [15, 0.04],
  [16, 0.03],
  [2, 0.02],
  [6, 0.02],
  [33, 0.01],
];
const RANDOM_QTYPES = [1, 28, 2, 5, 6, 15, 16, 33, 65, 255] as const;

export function zonesOf(spec: ScenarioSpec): string[] {
  return typeof spec.zones === 'number'
    ? Array.from({ length: spec.zones }, (_, i) => zoneName(i))
    : [...spec.zones];
}

interface ZoneModel {
  zone: string;
  vocab: string[];
  zipf: Zipf;
}

// Per-event maths through module-scope bindings: under jest's vm sandbox `Math.x` is a slow
// global lookup on every call.
const { round, sqrt } = Math;

/** Builds events of one component; `t` is the event time already drawn. */
type Emit = (rng: Rng, t: number) => QueryEvent;
type ResolverDraw = (rng: Rng) => string;

/** Same exponent the benign mix spreads its queries over zones with. */
const ZONE_ZIPF_S = 0.9;

/** A value drawn from a `[value, weight]` table whose weights add up to 1. */
export function weightedPick(rng: Rng, table: readonly [number, number][]): number {
  let u = rng.next();
  for (const [value, weight] of table) {
    if ((u -= weight) <= 0) return value;
  }
  return table[0]![0];
}

function baseEvent(
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
 * Streams a scenario as time-ordered labelled events, one simulated second at a time, so
 * memory stays flat however long the scenario is. Same spec + seed → the same events.
 */
export function* simulateLabelled(spec: ScenarioSpec): Generator<LabelledEvent> {
  const root = new Rng(spec.seed);
  const zones = zonesOf(spec);
  const zoneRng = root.fork('zones');
  const models: ZoneModel[] = zones.map((zone, i) => {
    const vocab = hostVocabulary(
      zoneRng.fork(zone),
      Math.max(20, Math.round(300 / (1 + i * 0.05))),
    );
    return { zone, vocab, zipf: new Zipf(vocab.length, 1.1) };
  });
  const byZone = new Map(models.map((m) => [m.zone, m]));
  const zoneZipf = new Zipf(Math.max(1, zones.length), ZONE_ZIPF_S);
  const space = spec.resolverSpace;
  const ispPool = space ? space.pool(root.fork('isp'), 300) : resolverPool(root.fork('isp'), 300);
  const ispZipf = new Zipf(ispPool.length, 0.8);
  const newShare = spec.benignNewNameShare ?? 0.005;
  const withResponses = spec.withResponses ?? false;
  const benignResolvers: ResolverDraw = (rng) =>
    rng.next() < 0.35 ? rng.pick(PUBLIC_RESOLVERS) : ispPool[ispZipf.sample(rng)]!;

  const benign: Emit = (rng, t) => {
    const model = models[zoneZipf.sample(rng)]!;
    const resolver = benignResolvers(rng);
    const isNew = rng.next() < newShare;
    const host = isNew
      ? `${rng.pick(model.vocab)}-${rng.chars('abcdefghijklmnopqrstuvwxyz', 3)}${rng.int(0, 999)}`
      : model.vocab[model.zipf.sample(rng)]!;
    const e = baseEvent(
      rng,
      t,
      resolver,
      `${host}.${model.zone}`,
      model.zone,
      weightedPick(rng, BENIGN_QTYPES),
    );
    e.do = rng.next() < 0.5;
    e.ednsSize = rng.next() < 0.8 ? 1232 : 4096;
    if (withResponses) {
      e.rcode = isNew ? 3 : 0;
      e.ancount = isNew || hasNoData(host, e.qtype) ? 0 : 1;
    }
    return e;
  };

  const components = (spec.streams ?? []).map((s, i) => {
    checkStream(s);
    let emit = streamEmitter(s, root.fork(`pool:${i}`), byZone, withResponses, space);
    if (s.sharedResolvers) {
      const draw =
        s.resolvers === undefined
          ? benignResolvers
          : topResolvers(ispPool.slice(0, Math.max(1, s.resolvers)));
      const inner = emit;
      emit = (rng, t) => {
        const e = inner(rng, t);
        e.resolver = draw(rng);
        return e;
      };
    }
    return {
      spec: s,
      rng: root.fork(`stream:${i}:${s.kind}:${s.zone}`),
      emit,
      // Streams of the original kinds without the newer options draw exactly as they always
      // have (other tests' and benchmarks' traffic depends on it); every other stream draws its
      // times first and emits in time order, so per-resolver sequences (replay) keep their order.
      legacy:
        (LEGACY_KINDS as readonly string[]).includes(s.kind) &&
        s.rampMs === undefined &&
        s.onMs === undefined &&
        !s.sharedResolvers,
    };
  });
  const benignRng = root.fork('benign');
  const end = spec.startTime + spec.durationMs;

  for (let slice = spec.startTime; slice < end; slice += 1000) {
    const sliceEnd = Math.min(slice + 1000, end);
    const out: LabelledEvent[] = [];
    const rateScale = spec.diurnal
      ? 1 +
        spec.diurnal.amplitude *
          Math.sin((2 * Math.PI * (slice - spec.startTime)) / spec.diurnal.periodMs)
      : 1;
    const nBenign = benignRng.poisson((spec.benignQps * rateScale * (sliceEnd - slice)) / 1000);
    for (let i = 0; i < nBenign; i++) {
      out.push({ event: benign(benignRng, drawTs(benignRng, slice, sliceEnd)), origin: 'benign' });
    }
    for (const c of components) {
      const from = Math.max(slice, spec.startTime + c.spec.startMs);
      const to = Math.min(sliceEnd, spec.startTime + c.spec.startMs + c.spec.durationMs);
      if (to <= from) continue;
      if (!c.legacy) {
        for (const span of shapedSpans(c.spec, spec.startTime + c.spec.startMs, from, to)) {
          const n = c.rng.poisson((c.spec.qps * span.weightMs) / 1000);
          const times = Array.from({ length: n }, () => span.drawTs(c.rng)).sort((a, b) => a - b);
          for (const t of times) out.push({ event: c.emit(c.rng, t), origin: c.spec.kind });
        }
        continue;
      }
      const n = c.rng.poisson((c.spec.qps * (to - from)) / 1000);
      for (let i = 0; i < n; i++) {
        out.push({ event: c.emit(c.rng, drawTs(c.rng, from, to)), origin: c.spec.kind });
      }
    }
    out.sort((a, b) => a.event.ts - b.event.ts);
    yield* out;
  }
}

export function* simulate(spec: ScenarioSpec): Generator<QueryEvent> {
  for (const e of simulateLabelled(spec)) yield e.event;
}

/**
 * The mean benign queries per second a zone receives in this scenario (its Zipf share of
 * benignQps, before any diurnal swing); 0 for a zone outside the benign mix. Attack rates are
 * usually set as multiples of it ("40× the zone's volume").
 */
export function benignZoneQps(spec: ScenarioSpec, zone: string): number {
  const zones = zonesOf(spec);
  const rank = zones.indexOf(zone);
  if (rank < 0) return 0;
  let total = 0;
  for (let i = 1; i <= zones.length; i++) total += 1 / Math.pow(i, ZONE_ZIPF_S);
  return spec.benignQps / Math.pow(rank + 1, ZONE_ZIPF_S) / total;
}

/**
 * The mean rate of a stream at an offset from the scenario start (ramp and pulses applied):
 * ground truth for tests and benchmarks.
 */
export function streamQpsAt(s: StreamSpec, offsetMs: number): number {
  const u = offsetMs - s.startMs;
  if (u < 0 || u >= s.durationMs) return 0;
  if (s.onMs !== undefined && s.offMs !== undefined && u % (s.onMs + s.offMs) >= s.onMs) return 0;
  return s.rampMs !== undefined && s.rampMs > 0 && u < s.rampMs ? (s.qps * u) / s.rampMs : s.qps;
}

/** The spans of one stream where it is active (offsets from the scenario start), in order. */
export function activeSpans(s: StreamSpec): { startMs: number; endMs: number }[] {
  const end = s.startMs + s.durationMs;
  if (s.onMs === undefined || s.offMs === undefined) return [{ startMs: s.startMs, endMs: end }];
  const out: { startMs: number; endMs: number }[] = [];
  for (let a = s.startMs; a < end; a += s.onMs + s.offMs)
    out.push({ startMs: a, endMs: Math.min(end, a + s.onMs) });
  return out;
}

/**
 * Whether an existing host has no record of this type (NODATA): every host has A; about a
 * third lack each other type. A hash, not a draw, so it is the same on every ask.
 */
function hasNoData(host: string, qtype: number): boolean {
  return qtype !== 1 && hashString(`${host}/${qtype}`) % 3 === 0;
}

/** Microsecond-resolution event time, like a pcap or dnstap timestamp. */
function drawTs(rng: Rng, from: number, to: number): number {
  return round((from + rng.next() * (to - from)) * 1000) / 1000;
}

function checkStream(s: StreamSpec): void {
  if ((s.onMs === undefined) !== (s.offMs === undefined))
    throw new RangeError(`stream ${s.kind} on ${s.zone}: give both onMs and offMs, or neither`);
  if (s.onMs !== undefined && (s.onMs <= 0 || s.offMs! < 0))
    throw new RangeError(`stream ${s.kind} on ${s.zone}: onMs must be > 0 and offMs >= 0`);
  if (s.rampMs !== undefined && s.rampMs < 0)
    throw new RangeError(`stream ${s.kind} on ${s.zone}: rampMs must be >= 0`);
}

/** A popularity-weighted draw over a resolver list plus the public resolvers, as benign does. */
function topResolvers(pool: readonly string[]): ResolverDraw {
  const zipf = new Zipf(pool.length, 0.8);
  return (rng) => (rng.next() < 0.35 ? rng.pick(PUBLIC_RESOLVERS) : pool[zipf.sample(rng)]!);
}

interface Span {
  /** Expected queries of the span ÷ qps, in ms (its length, scaled down on the ramp). */
  weightMs: number;
  drawTs: (rng: Rng) => number;
}

/**
 * The parts of [from, to) where a ramped and/or pulsed stream starting at `origin` (epoch ms)
 * is on, split where the ramp ends, each with its share of the rate. On the ramp the density
 * rises linearly, so times are drawn by its inverse CDF.
 */
function shapedSpans(s: StreamSpec, origin: number, from: number, to: number): Span[] {
  const on: [number, number][] = [];
  if (s.onMs !== undefined && s.offMs !== undefined) {
    const period = s.onMs + s.offMs;
    for (let k = Math.floor((from - origin) / period); origin + k * period < to; k++) {
      const a = Math.max(from, origin + k * period);
      const b = Math.min(to, origin + k * period + s.onMs);
      if (b > a) on.push([a, b]);
    }
  } else {
    on.push([from, to]);
  }
  const ramp = s.rampMs ?? 0;
  const rampEnd = origin + ramp;
  const out: Span[] = [];
  for (const [a, b] of on) {
    if (ramp > 0 && a < rampEnd) {
      const u = a - origin;
      const v = Math.min(b, rampEnd) - origin;
      out.push({
        weightMs: (v * v - u * u) / (2 * ramp),
        drawTs: (rng) => round((origin + sqrt(u * u + rng.next() * (v * v - u * u))) * 1000) / 1000,
      });
    }
    const c = Math.max(a, ramp > 0 ? rampEnd : a);
    if (b > c) out.push({ weightMs: b - c, drawTs: (rng) => drawTs(rng, c, b) });
  }
  return out;
}

function streamEmitter(
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
