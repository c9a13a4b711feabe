import { type QueryEvent } from '@sluice/contracts';
import { PUBLIC_RESOLVERS, hostVocabulary, resolverPool, zoneName } from './names';
import { type ResolverSpace } from './resolver-space';
import { Rng, Zipf } from './rng';
import {
  type Emit,
  type ResolverDraw,
  type StreamKind,
  type StreamSpec,
  type ZoneModel,
  baseEvent,
  hasNoData,
  streamEmitter,
} from './stream-kinds';
import { checkStream, drawTs, shapedSpans } from './stream-shape';

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
export function zonesOf(spec: ScenarioSpec): string[] {
  return typeof spec.zones === 'number'
    ? Array.from({ length: spec.zones }, (_, i) => zoneName(i))
    : [...spec.zones];
}

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

/** A popularity-weighted draw over a resolver list plus the public resolvers, as benign does. */
function topResolvers(pool: readonly string[]): ResolverDraw {
  const zipf = new Zipf(pool.length, 0.8);
  return (rng) => (rng.next() < 0.35 ? rng.pick(PUBLIC_RESOLVERS) : pool[zipf.sample(rng)]!);
}
