import { type Alert, type KnownNames, type QueryEvent } from '@sluice/contracts';
import { DetectorCore, type DetectorSettings } from '@sluice/detector';
import { planFromEnv } from './options';
import {
  buildResolvers,
  defaultTraffic,
  isFlood,
  planQueries,
  QueryClass,
  type QueryClassCode,
  type TrafficOptions,
} from './traffic';
import { buildZones, zoneFileText, type ZoneSpec } from './zones';

/**
 * What a traffic-only zone guard would refuse, as a function of how much history the detector
 * saw: H of the closed loop's legitimate traffic for the attacked zone (its planner: Zipf over
 * names, typos, names that first appear late), with the responses the zone's authoritative gives
 * (as dnsdist's dnstap carries them), then a Mirai-style flood while the legitimate traffic goes
 * on. The detector alerts and publishes the zone's known names; every legitimate query of the
 * attack period whose name is not on that list is one the guard would refuse. All in event time,
 * no network: DetectorCore is fed directly, several settings side by side on the same events.
 */
export interface GuardCoverageOptions {
  seed: number | string;
  /** Legitimate history before the flood. */
  historyMs: number;
  /** Legitimate queries/s of the attacked zone (default: its rate in the closed loop). */
  zoneQps?: number;
  /** Flood and measured attack period (default 60 s). */
  attackMs?: number;
  /** Flood rate as a multiple of the zone's legitimate rate (default 5, as the closed loop). */
  floodMultiplier?: number;
  /**
   * Names added to the zone, each asked once (A, NOERROR) every `everyMs` of the history,
   * starting at everyMs / 2: a long-TTL name a resolver asks again only when its cache expires.
   */
  sparseNames?: readonly { label: string; everyMs: number }[];
  /**
   * Per variant, all fed the same events: detector settings, or a core of its own (another
   * commit's DetectorCore, say).
   */
  variants: Readonly<Record<string, Partial<DetectorSettings> | { core: () => CoverageCore }>>;
}

/** What the measurement needs of a detector core. */
export type CoverageCore = Pick<DetectorCore, 'process'>;

/** Legitimate queries of the attack period, and those whose name the guard's list lacks. */
export interface Tally {
  queries: number;
  refused: number;
}

export interface VariantCoverage {
  variant: string;
  /** Event time from the flood's onset to the alert's `started` (null: no alert). */
  alertAfterMs: number | null;
  /** Names on the list published with `started`, and on the last list of the attack period. */
  listSize: number;
  lastListSize: number;
  truncated: boolean;
  /** Against the list published at the alert's start: typos excluded / included. */
  atStart: { legit: Tally; withTypos: Tally; distinctRefused: number };
  /** Against the list in force at each query (the start list before it, updates after). */
  withUpdates: { legit: Tally; withTypos: Tally };
  /** Flood queries whose name was on a published list (the guard would let them through). */
  floodListed: number;
  /** The sparse names on the start list. */
  sparseListed: string[];
  /** CPU of this variant's DetectorCore over the whole run. */
  cpuMs: number;
}

export interface GuardCoverageResult {
  zone: string;
  zoneNames: number;
  zoneQps: number;
  historyMs: number;
  attackMs: number;
  floodMultiplier: number;
  /** Queries generated: history (legitimate) and attack period (legitimate / flood). */
  historyQueries: number;
  attackLegit: number;
  attackFlood: number;
  /** CPU spent generating the traffic (shared by the variants). */
  generateCpuMs: number;
  variants: VariantCoverage[];
}

/** Where the event clock starts (any fixed epoch: outputs depend only on the event sequence). */
const T0 = Date.UTC(2026, 0, 1);
const BATCH = 512;

/**
 * The closed loop's attacked zone (its names, and its late names spread over this run) with the
 * closed loop's defaults, carrying all of the planned traffic: the other zones' queries never
 * reach this zone's detector, so they are not generated.
 */
export function attackedZoneTraffic(o: GuardCoverageOptions): {
  zone: ZoneSpec;
  traffic: TrafficOptions;
} {
  const base = planFromEnv({}).base;
  const attackMs = o.attackMs ?? 60_000;
  const at = base.traffic.attacked?.[0] ?? 1;
  const spec = buildZones({
    seed: o.seed,
    sizes: base.zoneSizes,
    durationMs: o.historyMs + attackMs,
  })[at]!;
  const legitQps = base.traffic.legitQps ?? defaultTraffic.legitQps;
  const zone: ZoneSpec = { ...spec, share: 1 };
  const traffic: TrafficOptions = {
    ...defaultTraffic,
    ...base.traffic,
    seed: o.seed,
    zones: [zone],
    attacked: [0],
    legitQps: o.zoneQps ?? Math.round(legitQps * spec.share * 10) / 10,
    floodMultiplier: o.floodMultiplier ?? base.traffic.floodMultiplier ?? 5,
    floodMiraiShare: 1,
    warmupMs: o.historyMs,
    floodMs: attackMs,
    tailMs: 0,
  };
  return { zone, traffic };
}

/**
 * What the zone's authoritative answers, from its zone file: owner → record types. Empty
 * non-terminals (`eu1` under `node12.eu1`) exist too (NOERROR, no data).
 */
export function zoneAnswers(z: ZoneSpec): Map<string, Set<number>> {
  const types: Record<string, number> = { SOA: 6, NS: 2, A: 1, AAAA: 28, MX: 15, TXT: 16 };
  const out = new Map<string, Set<number>>();
  const entry = (owner: string) => {
    let s = out.get(owner);
    if (!s) out.set(owner, (s = new Set()));
    return s;
  };
  for (const line of zoneFileText(z).split('\n')) {
    const m = /^(\S+) IN (\S+) /.exec(line);
    if (!m) continue;
    const owner = m[1] === '@' ? '' : m[1]!;
    entry(owner).add(types[m[2]!] ?? -1);
    const labels = owner.split('.');
    for (let i = 1; i < labels.length; i++) entry(labels.slice(i).join('.'));
  }
  return out;
}

interface Measured {
  ts: number;
  qname: string;
  cls: QueryClassCode;
}

interface Published {
  at: number;
  names: Set<string>;
  truncated: boolean;
}

class VariantRun {
  readonly core: CoverageCore;
  cpuUs = 0;
  startedAt: number | null = null;
  readonly lists: Published[] = [];

  constructor(
    readonly name: string,
    variant: GuardCoverageOptions['variants'][string],
    private readonly zone: string,
  ) {
    this.core = 'core' in variant ? variant.core() : new DetectorCore(variant);
  }

  feed(batch: readonly QueryEvent[]): void {
    const before = process.cpuUsage();
    const out = this.core.process(0, batch);
    const used = process.cpuUsage(before);
    this.cpuUs += used.user + used.system;
    this.collect(out.alerts, out.knownNames);
  }

  private collect(alerts: readonly Alert[], known: readonly KnownNames[]): void {
    for (const k of known) {
      if (k.zone !== this.zone) continue;
      // The list goes out with its alert's started/updated message: that message's time.
      const a = alerts.find(
        (x) => x.alertId === k.alertId && (x.phase === 'started' || x.phase === 'updated'),
      );
      if (!a) throw new Error(`known names for ${k.alertId} without their alert message`);
      if (a.phase === 'started' && this.startedAt === null) this.startedAt = a.at;
      this.lists.push({ at: a.at, names: new Set(k.names), truncated: k.truncated });
    }
  }
}

function tally(): Tally {
  return { queries: 0, refused: 0 };
}

function add(t: Tally, refused: boolean): void {
  t.queries++;
  if (refused) t.refused++;
}

/** One history length, every variant on the same events. */
export function measureGuardCoverage(o: GuardCoverageOptions): GuardCoverageResult {
  const { zone: spec, traffic } = attackedZoneTraffic(o);
  const zone = spec.zone;
  const answers = zoneAnswers(spec);
  // Not in the planner's name list (its Zipf tail would ask them more often than `everyMs`).
  for (const s of o.sparseNames ?? []) answers.set(s.label, new Set([1]));
  const resolvers = buildResolvers(traffic);
  const addresses = resolvers.map((r) => r.address);
  const runs = Object.entries(o.variants).map(([name, s]) => new VariantRun(name, s, zone));
  const onset = T0 + o.historyMs;
  const end = onset + traffic.floodMs;
  const measured: Measured[] = [];
  const floodNames = new Set<string>();
  let floodQueries = 0;
  let historyQueries = 0;
  let genUs = 0;

  const sparse = (o.sparseNames ?? []).map((s) => ({ ...s, next: s.everyMs / 2 }));
  const event = (
    atMs: number,
    rel: string,
    qtype: number,
    resolver: string,
    rd: boolean,
    edns: boolean,
  ): QueryEvent => {
    const types = answers.get(rel);
    return {
      ts: T0 + atMs,
      resolver,
      resolverPort: 53,
      transport: 'udp',
      qname: rel === '' ? zone : `${rel}.${zone}`,
      qtype,
      qclass: 1,
      rd,
      cd: false,
      do: false,
      ednsSize: edns ? 1232 : null,
      id: 0,
      zone,
      rcode: types ? 0 : 3,
      ancount: types?.has(qtype) ? 1 : 0,
    };
  };

  let batch: QueryEvent[] = [];
  const flush = () => {
    for (const r of runs) r.feed(batch);
    batch = [];
  };
  let mark = process.cpuUsage();
  const suffix = `.${zone}`;
  for (const q of planQueries(traffic, resolvers)) {
    for (const s of sparse)
      while (s.next < Math.min(q.atMs, o.historyMs)) {
        batch.push(event(s.next, s.label, 1, addresses[0]!, false, true));
        s.next += s.everyMs;
      }
    const rel = q.qname === zone ? '' : q.qname.slice(0, -suffix.length);
    const e = event(q.atMs, rel, q.qtype, addresses[q.resolver]!, q.rd, q.edns);
    if (isFlood(q.cls)) {
      e.rcode = 3;
      e.ancount = 0;
      floodNames.add(e.qname);
      floodQueries++;
    } else if (e.ts >= onset) measured.push({ ts: e.ts, qname: e.qname, cls: q.cls });
    else historyQueries++;
    batch.push(e);
    if (batch.length >= BATCH) {
      const used = process.cpuUsage(mark);
      genUs += used.user + used.system;
      flush();
      mark = process.cpuUsage();
    }
  }
  const used = process.cpuUsage(mark);
  genUs += used.user + used.system;
  flush();

  const variants = runs.map((r): VariantCoverage => {
    const first = r.lists[0];
    const inAttack = r.lists.filter((l) => l.at < end);
    const atStart = { legit: tally(), withTypos: tally(), distinctRefused: 0 };
    const withUpdates = { legit: tally(), withTypos: tally() };
    const refusedNames = new Set<string>();
    let k = 0;
    for (const m of measured) {
      while (k + 1 < inAttack.length && inAttack[k + 1]!.at <= m.ts) k++;
      const now = inAttack[k];
      const refusedAtStart = !(first?.names.has(m.qname) ?? false);
      const refusedNow = !(now?.names.has(m.qname) ?? false);
      add(atStart.withTypos, refusedAtStart);
      add(withUpdates.withTypos, refusedNow);
      if (m.cls === QueryClass.legitTypo) continue;
      add(atStart.legit, refusedAtStart);
      add(withUpdates.legit, refusedNow);
      if (refusedAtStart) refusedNames.add(m.qname);
    }
    atStart.distinctRefused = refusedNames.size;
    let floodListed = 0;
    for (const n of floodNames) if (inAttack.some((l) => l.names.has(n))) floodListed++;
    return {
      variant: r.name,
      alertAfterMs: r.startedAt === null ? null : r.startedAt - onset,
      listSize: first?.names.size ?? 0,
      lastListSize: inAttack.at(-1)?.names.size ?? 0,
      truncated: inAttack.some((l) => l.truncated),
      atStart,
      withUpdates,
      floodListed,
      sparseListed: (o.sparseNames ?? [])
        .map((s) => `${s.label}.${zone}`)
        .filter((n) => first?.names.has(n) ?? false),
      cpuMs: r.cpuUs / 1000,
    };
  });

  return {
    zone,
    zoneNames: spec.names.length,
    zoneQps: traffic.legitQps,
    historyMs: o.historyMs,
    attackMs: traffic.floodMs,
    floodMultiplier: traffic.floodMultiplier,
    historyQueries,
    attackLegit: measured.length,
    attackFlood: floodQueries,
    generateCpuMs: genUs / 1000,
    variants,
  };
}
