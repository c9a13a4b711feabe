import { type EnrichmentBlock, type Evidence } from '@sluice/contracts';

// The shape of an attack report: what it is built from (per-resolver aggregates) and what it says.

/** What the enrichment service accumulates per resolver in one report scope (alert or bucket). */
export interface ResolverAggregate {
  resolver: string;
  attackQueries: number;
  totalQueries: number;
  /** Sum of the lengths of the detector windows this resolver appeared in. */
  activeMs: number;
  firstSeen: number;
  lastSeen: number;
  /** Highest attack qps in any one window. */
  peakQps: number;
  enrichment: EnrichmentBlock;
  /** Sampled "at time X resolver Y asked for Z", oldest first. */
  evidence: Evidence[];
}

/**
 * Rows the report store's cap (REPORT_MAX_RESOLVER_ROWS) evicted from a report's scopes, with
 * their queries: the report's tables cover the rows kept, this says what they leave out.
 */
export interface EvictedRows {
  rows: number;
  attackQueries: number;
  totalQueries: number;
}

export interface AlertSummary {
  alertId: string;
  zone: string;
  phase: string;
  severity: string;
  onset: number;
  endedAt: number | null;
  peakQps: number;
  generator: string;
}

export type ReportScope =
  | { kind: 'alert'; alertId: string; zone: string | null }
  | { kind: 'zone'; zone: string; from: number; to: number };

export interface CountryRow {
  country: string;
  /** Percent of attack queries, rounded so the column adds up to exactly 100. */
  share: number;
  attackQueries: number;
  resolvers: number;
  prefixes: number;
  asns: number;
}

export interface AsnRow {
  asn: number | null;
  org: string;
  country: string;
  share: number;
  attackQueries: number;
  resolvers: number;
  prefixes: number;
  /** Operator of a Mirai default resolver whose network this is (the seed's 24%). */
  miraiDefaultOperator: string | null;
  /** Public resolver operators seen in this ASN. */
  publicResolverOperators: string[];
}

export interface ShareLine {
  label: string;
  share: number;
  attackQueries: number;
  resolvers: number;
}

export interface QpsStats {
  basis: string;
  resolvers: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  max: number;
  histogram: Array<{ from: number; to: number; resolvers: number }>;
  /**
   * Outliers are above this: the upper Tukey fence of log10(qps), and at least 3× the median
   * (a tight distribution's fence alone would flag noise). NATs, CGNs, big resolvers, odd devices.
   */
  upperFence: number;
  outliers: Array<{
    resolver: string;
    qps: number;
    peakQps: number;
    attackQueries: number;
    asn: number | null;
    org: string;
    country: string;
    kind: string;
  }>;
  outlierCount: number;
}

export interface EvidenceRow {
  asn: number | null;
  org: string;
  country: string;
  resolver: string;
  firstSeen: number;
  lastSeen: number;
  attackQueries: number;
  totalQueries: number;
  samples: Evidence[];
}

export interface EvidenceGroup {
  asn: number | null;
  org: string;
  attackQueries: number;
  resolvers: EvidenceRow[];
}

export interface AttackReport {
  scope: ReportScope;
  alert: AlertSummary | null;
  generatedAt: number;
  /** Where ASN and country data came from, with the credit their licenses require. */
  dataSources: string[];
  from: number | null;
  to: number | null;
  totals: {
    attackQueries: number;
    totalQueries: number;
    resolvers: number;
    prefixes: number;
    asns: number;
    countries: number;
  };
  /** Rows evicted by the store's cap: not in the totals or the tables. */
  evicted: EvictedRows;
  countries: CountryRow[];
  asns: AsnRow[];
  callouts: {
    miraiDefaultAddresses: ShareLine;
    miraiDefaultNetworks: ShareLine;
    otherPublicResolvers: ShareLine;
    publicByOperator: ShareLine[];
    bogon: ShareLine;
    unknown: ShareLine;
  };
  qps: QpsStats;
  evidence: EvidenceGroup[];
}

/** Label for a missing country or organisation: shown, counted, never dropped. */
export const UNKNOWN = '??';
