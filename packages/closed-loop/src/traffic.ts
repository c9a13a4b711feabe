import { ALNUM, BENIGN_QTYPES, MIRAI_ALPHABET, Rng, weightedPick, Zipf } from '@sluice/traffic-sim';
import { type ZoneSpec } from './zones';

/** Who sends: a big or small ISP resolver, a public resolver carrying many users, or a bot-only resolver. */
export type ResolverKind = 'isp' | 'public' | 'bot';

export interface Resolver {
  address: string;
  kind: ResolverKind;
}

/** What a query is, as the generator knows it (ground truth for the measurements). */
export const QueryClass = {
  /** A real name of the zone, Zipf-popular. */
  legit: 0,
  /** A real name that first appears during the run (a new deployment). */
  legitLate: 1,
  /** A mistyped real name: NXDOMAIN, but legitimate. */
  legitTypo: 2,
  /** Mirai-style `<12 of a-w0-8>.<zone>`. */
  floodMirai: 3,
  /** A random label under an existing name: `<rand>.www.<zone>`. */
  floodSub: 4,
} as const;
export type QueryClassCode = (typeof QueryClass)[keyof typeof QueryClass];
export const isFlood = (c: number) => c >= QueryClass.floodMirai;

export interface TrafficOptions {
  seed: number | string;
  zones: readonly ZoneSpec[];
  /** Indices into `zones` of the attacked zones (one or two). */
  attacked: readonly number[];
  /** Legitimate queries per second over all zones. */
  legitQps: number;
  /** Flood queries per second per attacked zone, as a multiple of that zone's legitimate rate. */
  floodMultiplier: number;
  /** Share of the flood carried by resolvers that also carry legitimate users (ISP and public). */
  floodSharedShare: number;
  /** Share of the flood that is Mirai-style (the rest: random labels under existing names). */
  floodMiraiShare: number;
  ispResolvers: number;
  publicResolvers: number;
  botResolvers: number;
  /** Share of legitimate traffic through the public resolvers. */
  publicShare: number;
  /** Share of bot-only resolvers placed in their own /24s (the rest share /24s with ISP resolvers). */
  botClusterShare: number;
  /** Zipf exponent of ISP resolver volumes (big ISP resolvers and many small ones). */
  resolverZipf: number;
  /** Zipf exponent of name popularity inside a zone. */
  nameZipf: number;
  /** Share of legitimate queries that are typos (NXDOMAIN). */
  typoShare: number;
  /** Share of legitimate queries that go to already-introduced late names. */
  lateQueryShare: number;
  warmupMs: number;
  floodMs: number;
  tailMs: number;
}

export const defaultTraffic: Omit<TrafficOptions, 'seed' | 'zones'> = {
  attacked: [1],
  legitQps: 500,
  floodMultiplier: 5,
  floodSharedShare: 0.5,
  floodMiraiShare: 0.7,
  ispResolvers: 2400,
  publicResolvers: 8,
  botResolvers: 600,
  publicShare: 0.25,
  botClusterShare: 0.3,
  resolverZipf: 1.0,
  nameZipf: 1.0,
  typoShare: 0.01,
  lateQueryShare: 0.02,
  warmupMs: 90_000,
  floodMs: 60_000,
  tailMs: 30_000,
};

export interface PlannedQuery {
  /** Offset from the start of the run, ms. */
  atMs: number;
  resolver: number;
  zone: number;
  qname: string;
  qtype: number;
  cls: QueryClassCode;
  rd: boolean;
  edns: boolean;
}

/**
 * The resolver population. Public resolvers sit in 127.53.53.0/24; bot-only resolvers partly in
 * their own /24s (127.15.x.y), the rest shuffled among the ISP resolvers (127.16–127.31.x.y,
 * 16 per /24), so most /24s mix legitimate and bot-only resolvers — a prefix block there would
 * hit users.
 */
export function buildResolvers(o: TrafficOptions): Resolver[] {
  const rng = new Rng(`resolvers:${String(o.seed)}`);
  const out: Resolver[] = [];
  for (let i = 0; i < o.publicResolvers; i++)
    out.push({ address: `127.53.53.${i + 1}`, kind: 'public' });
  const clustered = Math.round(o.botResolvers * o.botClusterShare);
  for (let i = 0; i < clustered; i++)
    out.push({ address: `127.15.${i >> 4}.${1 + (i & 15) * 15}`, kind: 'bot' });
  const mixed: ResolverKind[] = [
    ...Array<ResolverKind>(o.ispResolvers).fill('isp'),
    ...Array<ResolverKind>(o.botResolvers - clustered).fill('bot'),
  ];
  for (let i = mixed.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [mixed[i], mixed[j]] = [mixed[j]!, mixed[i]!];
  }
  mixed.forEach((kind, j) =>
    out.push({ address: `127.${16 + (j >> 12)}.${(j >> 4) & 255}.${1 + (j & 15) * 15}`, kind }),
  );
  return out;
}

function cdfPick(rng: Rng, cdf: Float64Array): number {
  const u = rng.next() * cdf[cdf.length - 1]!;
  let lo = 0;
  let hi = cdf.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cdf[mid]! < u) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function typo(rng: Rng, name: string): string {
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  const base = name === '' ? 'www' : name;
  const first = base.split('.')[0]!;
  const i = rng.int(0, first.length - 1);
  const r = rng.next();
  const t =
    r < 0.4
      ? first.slice(0, i) + first.slice(i + 1) // dropped letter
      : r < 0.7
        ? first.slice(0, i) + rng.pick([...letters]) + first.slice(i + 1) // wrong letter
        : first.slice(0, i) + first[i]! + first.slice(i); // doubled letter
  return [t || 'ww', ...base.split('.').slice(1)].join('.');
}

/** Whole-run length. */
export const runLength = (o: TrafficOptions) => o.warmupMs + o.floodMs + o.tailMs;

/**
 * The query plan, one second at a time (memory stays flat): same options and seed → the same
 * queries in the same order with the same offsets. Wall-clock sending is the sender's job.
 */
export function* planQueries(
  o: TrafficOptions,
  resolvers: readonly Resolver[],
): Generator<PlannedQuery> {
  const root = new Rng(`traffic:${String(o.seed)}`);
  const legitRng = root.fork('legit');
  const floodRng = root.fork('flood');
  const zones = o.zones;
  const zoneCdf = new Float64Array(zones.length);
  zones.reduce((acc, z, i) => (zoneCdf[i] = acc + z.share), 0);
  const nameZipf = zones.map((z) => new Zipf(z.names.length, o.nameZipf));
  const publics = resolvers.flatMap((r, i) => (r.kind === 'public' ? [i] : []));
  const isps = resolvers.flatMap((r, i) => (r.kind === 'isp' ? [i] : []));
  const bots = resolvers.flatMap((r, i) => (r.kind === 'bot' ? [i] : []));
  const ispZipf = new Zipf(Math.max(1, isps.length), o.resolverZipf);
  const publicZipf = new Zipf(Math.max(1, publics.length), 0.6);
  const lateNames = zones.map((z) => [...z.late].sort((a, b) => a[1] - b[1]));

  const legitResolver = (rng: Rng) =>
    publics.length > 0 && rng.next() < o.publicShare
      ? publics[publicZipf.sample(rng)]!
      : isps[ispZipf.sample(rng)]!;

  const pickName = (rng: Rng, zi: number, atMs: number): { name: string; cls: QueryClassCode } => {
    const z = zones[zi]!;
    const late = lateNames[zi]!;
    if (rng.next() < o.lateQueryShare) {
      let introduced = 0;
      while (introduced < late.length && late[introduced]![1] <= atMs) introduced++;
      if (introduced > 0)
        return { name: late[rng.int(0, introduced - 1)]![0], cls: QueryClass.legitLate };
    }
    for (let tries = 0; tries < 8; tries++) {
      const name = z.names[nameZipf[zi]!.sample(rng)]!;
      const intro = z.late.get(name);
      if (intro === undefined) return { name, cls: QueryClass.legit };
      if (intro <= atMs) return { name, cls: QueryClass.legitLate };
    }
    return { name: 'www', cls: QueryClass.legit };
  };

  const fqdn = (rel: string, zone: string) => (rel === '' ? zone : `${rel}.${zone}`);
  const legit = (atMs: number): PlannedQuery => {
    const rng = legitRng;
    const zi = cdfPick(rng, zoneCdf);
    const zone = zones[zi]!.zone;
    const resolver = legitResolver(rng);
    let { name, cls } = pickName(rng, zi, atMs);
    if (rng.next() < o.typoShare) {
      name = typo(rng, name);
      cls = QueryClass.legitTypo;
    }
    return {
      atMs,
      resolver,
      zone: zi,
      qname: fqdn(name, zone),
      qtype: name === '_dmarc' ? 16 : weightedPick(rng, BENIGN_QTYPES),
      cls,
      rd: false,
      edns: true,
    };
  };

  const flood = (atMs: number, zi: number): PlannedQuery => {
    const rng = floodRng;
    const z = zones[zi]!;
    const shared = rng.next() < o.floodSharedShare || bots.length === 0;
    const resolver = shared ? legitResolver(rng) : bots[rng.int(0, bots.length - 1)]!;
    const mirai = rng.next() < o.floodMiraiShare;
    const qname = mirai
      ? `${rng.chars(MIRAI_ALPHABET, 12)}.${z.zone}`
      : `${rng.chars(ALNUM, rng.int(6, 12))}.${fqdn(z.names[nameZipf[zi]!.sample(rng)] || 'www', z.zone)}`;
    return {
      atMs,
      resolver,
      zone: zi,
      qname,
      qtype: mirai ? 1 : rng.next() < 0.7 ? 1 : 28,
      cls: mirai ? QueryClass.floodMirai : QueryClass.floodSub,
      // Through a resolver the authoritative sees the resolver's query (RD=0, EDNS); bot-only
      // senders look like Mirai on the wire (RD=1, no EDNS).
      rd: !shared,
      edns: shared,
    };
  };

  const end = runLength(o);
  const floodFrom = o.warmupMs;
  const floodTo = o.warmupMs + o.floodMs;
  for (let slice = 0; slice < end; slice += 1000) {
    const out: PlannedQuery[] = [];
    const n = legitRng.poisson(o.legitQps);
    for (let i = 0; i < n; i++) out.push(legit(slice + legitRng.next() * 1000));
    if (slice + 1000 > floodFrom && slice < floodTo) {
      for (const zi of o.attacked) {
        const from = Math.max(slice, floodFrom);
        const to = Math.min(slice + 1000, floodTo);
        const rate = o.legitQps * zones[zi]!.share * o.floodMultiplier;
        const k = floodRng.poisson((rate * (to - from)) / 1000);
        for (let i = 0; i < k; i++) out.push(flood(from + floodRng.next() * (to - from), zi));
      }
    }
    out.sort((a, b) => a.atMs - b.atMs);
    yield* out;
  }
}

/** DNS query wire bytes: header, one question, optional OPT (1232, DO clear). */
export function encodeQuery(id: number, q: PlannedQuery): Buffer {
  const labels = q.qname.split('.');
  let nameLen = 1;
  for (const l of labels) nameLen += Buffer.byteLength(l) + 1;
  const buf = Buffer.alloc(12 + nameLen + 4 + (q.edns ? 11 : 0));
  buf.writeUInt16BE(id, 0);
  buf.writeUInt16BE(q.rd ? 0x0100 : 0, 2);
  buf.writeUInt16BE(1, 4);
  buf.writeUInt16BE(q.edns ? 1 : 0, 10);
  let p = 12;
  for (const l of labels) {
    const n = buf.write(l, p + 1, 'latin1');
    buf[p] = n;
    p += n + 1;
  }
  buf[p++] = 0;
  buf.writeUInt16BE(q.qtype, p);
  buf.writeUInt16BE(1, p + 2);
  p += 4;
  if (q.edns) {
    buf[p] = 0; // root
    buf.writeUInt16BE(41, p + 1); // OPT
    buf.writeUInt16BE(1232, p + 3); // UDP payload size
    // extended rcode, version, flags, rdlen: all zero
  }
  return buf;
}
