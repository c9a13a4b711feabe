import { type QpsStats, type ResolverAggregate, UNKNOWN } from './report-model';

// The rate side of a report: each resolver's attack qps, their distribution and the outliers.

/** Attack queries per second of activity: a resolver seen in 3 of 10 windows is not diluted. */
export function resolverQps(r: ResolverAggregate): number {
  return r.activeMs > 0 ? r.attackQueries / (r.activeMs / 1000) : 0;
}

export function qpsStats(rows: readonly ResolverAggregate[], maxOutliers: number): QpsStats {
  const basis = 'attack queries ÷ seconds of the detector windows the resolver was active in';
  const withQps = rows.map((r) => ({ r, qps: resolverQps(r) })).sort((a, b) => a.qps - b.qps);
  const values = withQps.map((x) => x.qps);
  if (values.length === 0)
    return {
      basis,
      resolvers: 0,
      min: 0,
      mean: 0,
      p50: 0,
      p90: 0,
      p95: 0,
      p99: 0,
      max: 0,
      histogram: [],
      upperFence: 0,
      outliers: [],
      outlierCount: 0,
    };
  const positive = values.filter((v) => v > 0);
  const logs = positive.map(Math.log10);
  const q1 = quantile(logs, 0.25);
  const q3 = quantile(logs, 0.75);
  const upperFence = logs.length
    ? Math.max(10 ** (q3 + 1.5 * (q3 - q1)), 3 * quantile(values, 0.5))
    : 0;
  const outliers = withQps.filter((x) => x.qps > upperFence).reverse();
  return {
    basis,
    resolvers: values.length,
    min: values[0]!,
    mean: values.reduce((a, b) => a + b, 0) / values.length,
    p50: quantile(values, 0.5),
    p90: quantile(values, 0.9),
    p95: quantile(values, 0.95),
    p99: quantile(values, 0.99),
    max: values[values.length - 1]!,
    histogram: log2Histogram(values),
    upperFence,
    outlierCount: outliers.length,
    outliers: outliers.slice(0, maxOutliers).map(({ r, qps }) => ({
      resolver: r.resolver,
      qps,
      peakQps: r.peakQps,
      attackQueries: r.attackQueries,
      asn: r.enrichment.asn,
      org: r.enrichment.asOrg ?? UNKNOWN,
      country: r.enrichment.country ?? UNKNOWN,
      kind: r.enrichment.resolverKind,
    })),
  };
}

/** Power-of-two buckets: resolver rates span five or more decades (one bot to a CGN). */
function log2Histogram(sorted: readonly number[]): QpsStats['histogram'] {
  const positive = sorted.filter((v) => v > 0);
  const zero = sorted.length - positive.length;
  const out: QpsStats['histogram'] = [];
  if (zero > 0) out.push({ from: 0, to: 0, resolvers: zero });
  if (positive.length === 0) return out;
  const lo = Math.floor(Math.log2(positive[0]!));
  const hi = Math.floor(Math.log2(positive[positive.length - 1]!));
  for (let e = lo; e <= hi; e++) out.push({ from: 2 ** e, to: 2 ** (e + 1), resolvers: 0 });
  const offset = zero > 0 ? 1 : 0;
  for (const v of positive) {
    const bucket = out[Math.min(hi, Math.floor(Math.log2(v))) - lo + offset]!;
    bucket.resolvers++;
  }
  return out;
}

/** Linear interpolation between closest ranks, on an ascending array. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}
