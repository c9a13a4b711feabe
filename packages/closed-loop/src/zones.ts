import { HEX, REGIONS, Rng, hostVocabulary, zoneName } from '@sluice/traffic-sim';

/** One served zone: its real names (relative, '' = apex) and which of them appear only later. */
export interface ZoneSpec {
  zone: string;
  /** Every owner name in the zone file (relative to the zone, '' is the apex). */
  names: string[];
  /** Names in the zone file that nobody asks for before `introducedAtMs` (new deployments). */
  late: Map<string, number>;
  /** Share of the legitimate traffic that goes to this zone (sums to 1 over the zones). */
  share: number;
}

export interface ZoneSetOptions {
  seed: number | string;
  /** Name counts per zone, e.g. [4000, 1200, 300, 80, 2500, 600, 150, 40]. */
  sizes: readonly number[];
  /** Legitimate traffic share per zone (normalised); default Zipf-like 1/(i+1)^0.7. */
  shares?: readonly number[];
  /** Share of each zone's names that first appear during the run (after warm-up starts). */
  lateShare?: number;
  /** The run's length: late names appear uniformly in [10 %, 90 %] of it. */
  durationMs: number;
}

/**
 * Realistic name sets: the usual host words (www, mail, api, cdn…) and their regional and
 * numbered variants, numbered server fleets (`node-0042.eu`), CDN hash names (`3fa9c0d1e2.cdn`)
 * and a few deeper names (`_dmarc`, `autodiscover`). Same seed → same zones.
 */
export function buildZones(o: ZoneSetOptions): ZoneSpec[] {
  const root = new Rng(`zones:${String(o.seed)}`);
  const weights = o.shares ?? o.sizes.map((_, i) => 1 / Math.pow(i + 1, 0.7));
  const total = weights.reduce((a, b) => a + b, 0);
  const lateShare = o.lateShare ?? 0.02;
  return o.sizes.map((size, i) => {
    const zone = zoneName(i);
    const rng = root.fork(zone);
    const names = new Set<string>(['', 'www', 'mail', 'api', 'cdn', 'm', '_dmarc']);
    for (const n of hostVocabulary(rng.fork('words'), Math.min(size, Math.max(20, size * 0.3))))
      names.add(n);
    const fleet = rng.pick(['node', 'srv', 'host', 'web', 'db', 'app']);
    while (names.size < size) {
      const r = rng.next();
      if (r < 0.45) names.add(`${fleet}-${String(rng.int(1, 9999)).padStart(4, '0')}`);
      else if (r < 0.7) names.add(`${rng.chars(HEX, 10)}.cdn`);
      else if (r < 0.9)
        names.add(`${fleet}${rng.int(1, 999)}.${rng.pick(REGIONS)}${rng.int(1, 3)}`);
      else names.add(`${rng.chars('abcdefghijklmnopqrstuvwxyz', rng.int(4, 9))}`);
    }
    const list = [...names];
    const late = new Map<string, number>();
    const lateRng = rng.fork('late');
    // The most popular names (the first 20) are never late.
    for (const n of list.slice(20)) {
      if (lateRng.next() < lateShare)
        late.set(n, Math.round(o.durationMs * (0.1 + 0.8 * lateRng.next())));
    }
    return { zone, names: list, late, share: weights[i]! / total };
  });
}

/** RFC 1035 zone file text for one zone: SOA, NS, and A/AAAA/MX/TXT records for its names. */
export function zoneFileText(z: ZoneSpec): string {
  const lines = [
    `$ORIGIN ${z.zone}.`,
    '$TTL 300',
    `@ IN SOA ns1.${z.zone}. hostmaster.${z.zone}. 1 3600 900 604800 60`,
    `@ IN NS ns1.${z.zone}.`,
    `ns1 IN A 127.0.0.1`,
    `@ IN A 192.0.2.1`,
    `@ IN MX 10 mail.${z.zone}.`,
    `@ IN TXT "v=spf1 mx -all"`,
  ];
  let k = 0;
  for (const n of z.names) {
    if (n === '' || n === 'ns1') continue;
    k++;
    if (n === '_dmarc') {
      lines.push(`_dmarc IN TXT "v=DMARC1; p=none"`);
      continue;
    }
    lines.push(`${n} IN A 198.51.${(k >> 8) & 255}.${k & 255}`);
    if (k % 3 === 0) lines.push(`${n} IN AAAA 2001:db8::${k.toString(16)}`);
  }
  return `${lines.join('\n')}\n`;
}
