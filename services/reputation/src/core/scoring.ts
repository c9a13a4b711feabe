import { decayTo, type Decayed } from './decay';

export type SubjectKind =
  'resolver-zone' | 'resolver' | 'prefix' | 'asn' | 'prefix-zone' | 'asn-zone';

export const subjectKinds: readonly SubjectKind[] = [
  'resolver-zone',
  'resolver',
  'prefix',
  'asn',
  'prefix-zone',
  'asn-zone',
];

export interface ScoringConfig {
  halfLifeMs: number;
  /** Decayed attack queries at which the volume confidence reaches 1. */
  minAttackQueries: number;
  /** Distinct offending resolvers a prefix/ASN needs for full weight (rollup breadth). */
  rollupMinResolvers: number;
  /** Distinct attacked zones a resolver needs before it can be scored for an outright block. */
  resolverMinZones: number;
}

/** What Redis keeps per subject, read back after an update or a sweep. */
export interface SubjectState extends Decayed {
  /** Distinct recent members: zones for a resolver, offending resolvers for a prefix/ASN. */
  members: number;
  /** A public resolver or allowlisted network was seen inside (prefix/ASN): never block outright. */
  protectedInside: boolean;
}

export interface Score {
  score: number;
  ratio: number;
  attack: number;
  total: number;
  confidence: number;
  breadth: number;
}

/**
 * Score in [0, 100] = 100 × attack ratio × volume confidence × breadth.
 * The ratio (attack/total of decayed sums) is what operators asked for: a big ISP resolver with
 * mostly good traffic scores low even when its raw attack rate is high. Confidence keeps a handful
 * of queries from blocking anyone; breadth makes prefixes/ASNs rise only when MANY resolvers in
 * them offend, and resolvers only when they hit several zones.
 */
export function scoreOf(
  kind: SubjectKind,
  state: SubjectState,
  now: number,
  cfg: ScoringConfig,
): Score {
  const d = decayTo(state, now, cfg.halfLifeMs);
  const ratio = d.total > 0 ? Math.min(1, d.attack / d.total) : 0;
  const confidence = Math.min(1, d.attack / cfg.minAttackQueries);
  const needed =
    kind === 'prefix' || kind === 'asn' || kind === 'prefix-zone' || kind === 'asn-zone'
      ? cfg.rollupMinResolvers
      : kind === 'resolver'
        ? cfg.resolverMinZones
        : 1;
  const breadth = Math.min(1, state.members / needed);
  return {
    score: round2(100 * ratio * confidence * breadth),
    ratio,
    attack: d.attack,
    total: d.total,
    confidence,
    breadth,
  };
}

/** Least share of a subject's queries that must be non-attack to count as legitimate traffic. */
const LEGIT_MIN_SHARE = 0.05;

/**
 * Do these counts show legitimate traffic? At least `minQueries` non-attack queries and 5 % of
 * the total: a bot-only resolver's few filter misses stay below it. Used on one offender record
 * (the fold marks its subjects) and on a subject's decayed sums (the policy's outright blocks).
 */
export function showsLegitimate(attack: number, total: number, minQueries: number): boolean {
  const legit = total - attack;
  return legit >= minQueries && legit >= LEGIT_MIN_SHARE * total;
}

export function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
