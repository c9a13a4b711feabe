import {
  type AlertSummary,
  type AsnRow,
  type AttackReport,
  type EvictedRows,
  type EvidenceGroup,
  type ReportScope,
  type ResolverAggregate,
  type ShareLine,
  UNKNOWN,
} from './report-model';
import { qpsStats } from './report-qps';

// Builds an AttackReport from per-resolver aggregates: shares by country and ASN, the
// call-outs, the evidence per network (the rates are report-qps.ts).

export interface BuildOptions {
  scope: ReportScope;
  alert?: AlertSummary | null;
  now?: number;
  dataSources?: string[];
  /** Rows listed as outliers at most. */
  maxOutliers?: number;
  /** Resolvers listed per ASN in the evidence. */
  evidencePerAsn?: number;
  /** What the store's row cap evicted from the scope (none when not given). */
  evicted?: EvictedRows;
}

/** The seed article's analysis, computed from per-resolver aggregates. Pure and deterministic. */
export function buildReport(
  rows: readonly ResolverAggregate[],
  options: BuildOptions,
): AttackReport {
  const attacking = rows.filter((r) => r.attackQueries > 0);
  const total = sum(attacking, (r) => r.attackQueries);

  const byCountry = groupBy(attacking, (r) => r.enrichment.country ?? UNKNOWN);
  const countryRows = [...byCountry].map(([country, rs]) => ({
    country,
    attackQueries: sum(rs, (r) => r.attackQueries),
    resolvers: rs.length,
    prefixes: distinct(rs, (r) => r.enrichment.prefix),
    asns: distinct(rs, (r) => r.enrichment.asn),
    share: 0,
  }));
  sortByQueries(countryRows, (r) => r.country);
  assignShares(countryRows, total);

  const byAsn = groupBy(attacking, (r) => r.enrichment.asn ?? -1);
  const asnRows: AsnRow[] = [...byAsn].map(([asn, rs]) => ({
    asn: asn === -1 ? null : asn,
    org: asn === -1 ? UNKNOWN : (mostCommon(rs, (r) => r.enrichment.asOrg) ?? UNKNOWN),
    country: mostCommon(rs, (r) => r.enrichment.country) ?? UNKNOWN,
    attackQueries: sum(rs, (r) => r.attackQueries),
    resolvers: rs.length,
    prefixes: distinct(rs, (r) => r.enrichment.prefix),
    miraiDefaultOperator:
      rs.find((r) => r.enrichment.miraiDefaultOperator)?.enrichment.miraiDefaultOperator ?? null,
    publicResolverOperators: [
      ...new Set(
        rs
          .filter(
            (r) =>
              r.enrichment.resolverKind === 'public' ||
              r.enrichment.resolverKind === 'mirai-default',
          )
          .map((r) => r.enrichment.resolverOperator ?? UNKNOWN),
      ),
    ].sort(),
    share: 0,
  }));
  sortByQueries(asnRows, (r) => String(r.asn ?? ''));
  assignShares(asnRows, total);

  const line = (label: string, pick: (r: ResolverAggregate) => boolean): ShareLine => {
    const rs = attacking.filter(pick);
    const q = sum(rs, (r) => r.attackQueries);
    return { label, share: pct(q, total), attackQueries: q, resolvers: rs.length };
  };
  const publicOps = groupBy(
    attacking.filter((r) => r.enrichment.resolverKind === 'public'),
    (r) => r.enrichment.resolverOperator ?? UNKNOWN,
  );
  const publicByOperator = [...publicOps]
    .map(([op, rs]) => {
      const q = sum(rs, (r) => r.attackQueries);
      return { label: op, share: pct(q, total), attackQueries: q, resolvers: rs.length };
    })
    .sort((a, b) => b.attackQueries - a.attackQueries || a.label.localeCompare(b.label));

  // Loops, not Math.min(...xs): a spread of 100k resolvers overflows the call stack.
  let from: number | null = null;
  let to: number | null = null;
  for (const r of attacking) {
    if (from === null || r.firstSeen < from) from = r.firstSeen;
    if (to === null || r.lastSeen > to) to = r.lastSeen;
  }

  return {
    scope: options.scope,
    alert: options.alert ?? null,
    generatedAt: options.now ?? Date.now(),
    dataSources: options.dataSources ?? [],
    from,
    to,
    totals: {
      attackQueries: total,
      totalQueries: sum(attacking, (r) => r.totalQueries),
      resolvers: attacking.length,
      prefixes: distinct(attacking, (r) => r.enrichment.prefix),
      asns: distinct(attacking, (r) => r.enrichment.asn),
      countries: distinct(attacking, (r) => r.enrichment.country),
    },
    evicted: options.evicted ?? { rows: 0, attackQueries: 0, totalQueries: 0 },
    countries: countryRows,
    asns: asnRows,
    callouts: {
      miraiDefaultAddresses: line(
        "Mirai's default resolvers (8.8.8.8, 74.82.42.42, 64.6.64.6, 4.2.2.2)",
        (r) => r.enrichment.resolverKind === 'mirai-default',
      ),
      miraiDefaultNetworks: line(
        "networks of Mirai's default resolvers (AS15169, AS6939, AS19905, AS3356)",
        (r) => !!r.enrichment.miraiDefaultOperator,
      ),
      otherPublicResolvers: line(
        'other public resolvers',
        (r) => r.enrichment.resolverKind === 'public' && !r.enrichment.miraiDefaultOperator,
      ),
      publicByOperator,
      bogon: line('private / bogon addresses', (r) => r.enrichment.resolverKind === 'bogon'),
      unknown: line('no ASN known', (r) => r.enrichment.resolverKind === 'unknown'),
    },
    qps: qpsStats(attacking, options.maxOutliers ?? 25),
    evidence: evidenceGroups(asnRows, byAsn, options.evidencePerAsn ?? 20),
  };
}

function evidenceGroups(
  asnRows: readonly AsnRow[],
  byAsn: Map<number, ResolverAggregate[]>,
  perAsn: number,
): EvidenceGroup[] {
  return asnRows.map((a) => {
    const rs = [...(byAsn.get(a.asn ?? -1) ?? [])].sort(
      (x, y) => y.attackQueries - x.attackQueries || x.resolver.localeCompare(y.resolver),
    );
    return {
      asn: a.asn,
      org: a.org,
      attackQueries: a.attackQueries,
      resolvers: rs.slice(0, perAsn).map((r) => ({
        asn: a.asn,
        org: a.org,
        country: r.enrichment.country ?? UNKNOWN,
        resolver: r.resolver,
        firstSeen: r.firstSeen,
        lastSeen: r.lastSeen,
        attackQueries: r.attackQueries,
        totalQueries: r.totalQueries,
        samples: r.evidence,
      })),
    };
  });
}

/** Merge aggregates of the same resolver from several scopes (time buckets of a zone). */
export function mergeAggregates(
  parts: Iterable<ResolverAggregate>,
  maxEvidence = 10,
): ResolverAggregate[] {
  const out = new Map<string, ResolverAggregate>();
  for (const p of parts) {
    const seen = out.get(p.resolver);
    if (!seen) {
      out.set(p.resolver, { ...p, evidence: p.evidence.slice(0, maxEvidence) });
      continue;
    }
    seen.attackQueries += p.attackQueries;
    seen.totalQueries += p.totalQueries;
    seen.activeMs += p.activeMs;
    seen.firstSeen = Math.min(seen.firstSeen, p.firstSeen);
    seen.lastSeen = Math.max(seen.lastSeen, p.lastSeen);
    seen.peakQps = Math.max(seen.peakQps, p.peakQps);
    if (seen.evidence.length < maxEvidence)
      seen.evidence = [...seen.evidence, ...p.evidence]
        .sort((a, b) => a.ts - b.ts)
        .slice(0, maxEvidence);
  }
  return [...out.values()];
}

/**
 * Largest-remainder rounding to 2 decimals: the printed shares add up to exactly 100.00
 * (naive rounding of 3 × 33.333 prints 99.99).
 */
export function assignShares<T extends { attackQueries: number; share: number }>(
  rows: T[],
  total: number,
): void {
  if (total <= 0 || rows.length === 0) return;
  const units = 10_000;
  const exact = rows.map((r) => (r.attackQueries / total) * units);
  const floors = exact.map(Math.floor);
  let left = units - floors.reduce((a, b) => a + b, 0);
  const order = exact
    .map((e, i) => ({ i, rem: e - floors[i]! }))
    .sort((a, b) => b.rem - a.rem || a.i - b.i);
  for (const { i } of order) {
    if (left <= 0) break;
    floors[i]!++;
    left--;
  }
  rows.forEach((r, i) => (r.share = floors[i]! / 100));
}

function pct(part: number, total: number): number {
  return total > 0 ? Math.round((part / total) * 10_000) / 100 : 0;
}

function sum<T>(xs: readonly T[], f: (x: T) => number): number {
  let s = 0;
  for (const x of xs) s += f(x);
  return s;
}

function distinct<T>(xs: readonly T[], f: (x: T) => unknown): number {
  const s = new Set<unknown>();
  for (const x of xs) {
    const v = f(x);
    if (v !== null && v !== undefined) s.add(v);
  }
  return s.size;
}

function groupBy<T, K>(xs: readonly T[], f: (x: T) => K): Map<K, T[]> {
  const m = new Map<K, T[]>();
  for (const x of xs) {
    const k = f(x);
    const list = m.get(k);
    if (list) list.push(x);
    else m.set(k, [x]);
  }
  return m;
}

function mostCommon<T>(xs: readonly T[], f: (x: T) => string | null): string | null {
  const counts = new Map<string, number>();
  for (const x of xs) {
    const v = f(x);
    if (v !== null) counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  let best: string | null = null;
  let n = 0;
  for (const [v, c] of counts) if (c > n) [best, n] = [v, c];
  return best;
}

function sortByQueries<T extends { attackQueries: number }>(
  rows: T[],
  key: (r: T) => string,
): void {
  rows.sort((a, b) => b.attackQueries - a.attackQueries || key(a).localeCompare(key(b)));
}
