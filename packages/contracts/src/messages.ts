import { z } from 'zod';

const resolverCount = z.object({ resolver: z.string(), count: z.number().int().nonnegative() });
export type ResolverCount = z.infer<typeof resolverCount>;

/** sluice.zone-stats.v1 — one per zone per window tick. */
export const zoneStatsSchema = z.object({
  v: z.literal(1),
  zone: z.string(),
  windowStart: z.number(),
  windowEnd: z.number(),
  queries: z.number().int().nonnegative(),
  qps: z.number().nonnegative(),
  baselineQps: z.number().nonnegative().nullable(),
  uniqueSubnames: z.number().nonnegative(),
  neverSeenRate: z.number().min(0).max(1),
  randomShare: z.number().min(0).max(1),
  nxdomainShare: z.number().min(0).max(1).nullable(),
  /** Share of observed responses that answered nothing: NXDOMAIN, NODATA, SERVFAIL, REFUSED. */
  failureShare: z.number().min(0).max(1).nullable().optional(),
  topResolvers: z.array(resolverCount),
  /** Queries under allowlisted zones/subtrees (measured, never alerted). */
  allowlistedQueries: z.number().int().nonnegative().optional(),
  /** Mean randomness score of the window's queries (0..1). */
  meanRandomScore: z.number().min(0).max(1).optional(),
  /** The zone's active alert during this window, if any. */
  alertId: z.string().nullable().optional(),
});
export type ZoneStats = z.infer<typeof zoneStatsSchema>;

export const alertPhaseSchema = z.enum(['started', 'updated', 'ended']);
export type AlertPhase = z.infer<typeof alertPhaseSchema>;

export const severitySchema = z.enum(['low', 'medium', 'high', 'critical']);
export type Severity = z.infer<typeof severitySchema>;

/** What the generator of the attack names looks like: enough to recognise Mirai by its alphabet. */
export const fingerprintSchema = z.object({
  /** Label length (left of the zone, first label) → share of attack names. */
  labelLengths: z.record(z.string(), z.number()),
  /** Characters observed in attack labels, sorted. Mirai: a–w and 0–8, never x, y, z or 9. */
  alphabet: z.string(),
  /** Number of labels left of the zone → share. */
  labelsPerName: z.record(z.string(), z.number()),
  /** Best guess at the generator: 'mirai', 'hex', 'randomlabel', 'dictionary', 'numeric', 'unknown'. */
  generator: z.string(),
  /** qtype → share. */
  qtypes: z.record(z.string(), z.number()),
  /** Number of attack names the shares above were computed from. */
  sampleSize: z.number().int().nonnegative().optional(),
  /** Share of attack queries with RD set (Mirai: 1) and with an EDNS OPT record (Mirai: 0). */
  rdShare: z.number().min(0).max(1).optional(),
  ednsShare: z.number().min(0).max(1).optional(),
  /** Mean character-bigram surprise of attack names, bits per character (random ≈ 5–6, words ≈ 3–4). */
  meanBitsPerChar: z.number().nonnegative().optional(),
});
export type Fingerprint = z.infer<typeof fingerprintSchema>;

/** Evidence an abuse desk can act on: at time X resolver Y asked for name Z. */
export const evidenceSchema = z.object({ ts: z.number(), resolver: z.string(), qname: z.string() });
export type Evidence = z.infer<typeof evidenceSchema>;

/** sluice.alerts.v1 — attack lifecycle, keyed by zone. */
export const alertSchema = z.object({
  v: z.literal(1),
  alertId: z.string(),
  zone: z.string(),
  phase: alertPhaseSchema,
  severity: severitySchema,
  /** Event time of the onset and of this message. */
  onset: z.number(),
  at: z.number(),
  endedAt: z.number().nullable(),
  qps: z.number().nonnegative(),
  baselineQps: z.number().nonnegative(),
  uniqueRate: z.number().nonnegative(),
  neverSeenRate: z.number().min(0).max(1),
  randomShare: z.number().min(0).max(1),
  nxdomainShare: z.number().min(0).max(1).nullable(),
  meanEntropy: z.number().nonnegative(),
  sampleNames: z.array(z.string()),
  evidence: z.array(evidenceSchema),
  topResolvers: z.array(resolverCount),
  fingerprint: fingerprintSchema,
  /** Never-seen queries per second observed and the excess over what the baseline predicts. */
  neverSeenQps: z.number().nonnegative().optional(),
  excessQps: z.number().optional(),
  /** Anomaly strength (standard deviations) of the excess, and the zone's sensitivity setting. */
  zScore: z.number().optional(),
  sensitivity: z.number().positive().optional(),
  /** Mean randomness score (0..1) of the attack names. */
  meanRandomScore: z.number().min(0).max(1).optional(),
  /**
   * The evidence that raised and carried the alert: `never-seen` names above the baseline,
   * responses that answered nothing (`failures`), a volume `surge` on names the zone had not
   * established (floods whose names repeat), or floors on a zone without a baseline (`cold-zone`).
   */
  signals: z.array(z.enum(['never-seen', 'failures', 'surge', 'cold-zone'])).optional(),
  /**
   * Of the responses observed (null without any): the share that answered nothing and the zone's
   * usual share, and the NODATA, SERVFAIL and REFUSED shares.
   */
  failureShare: z.number().min(0).max(1).nullable().optional(),
  baselineFailureShare: z.number().min(0).max(1).nullable().optional(),
  nodataShare: z.number().min(0).max(1).nullable().optional(),
  servfailShare: z.number().min(0).max(1).nullable().optional(),
  refusedShare: z.number().min(0).max(1).nullable().optional(),
});
export type Alert = z.infer<typeof alertSchema>;
export type AlertSignal = NonNullable<Alert['signals']>[number];

/** sluice.offenders.v1 — per (resolver, zone, window), keyed by zone. */
export const offenderSchema = z.object({
  v: z.literal(1),
  zone: z.string(),
  resolver: z.string(),
  windowStart: z.number(),
  windowEnd: z.number(),
  attackQueries: z.number().int().nonnegative(),
  totalQueries: z.number().int().nonnegative(),
  /** The alert this window belongs to, when one is active. */
  alertId: z.string().nullable(),
  evidence: z.array(evidenceSchema),
});
export type Offender = z.infer<typeof offenderSchema>;

export const resolverKindSchema = z.enum(['public', 'mirai-default', 'bogon', 'isp', 'unknown']);
export type ResolverKind = z.infer<typeof resolverKindSchema>;

/** Namespaced block the enrichment stage adds. Null fields mean "not known", never a guess. */
export const enrichmentBlockSchema = z.object({
  asn: z.number().int().nonnegative().nullable(),
  asOrg: z.string().nullable(),
  prefix: z.string().nullable(),
  country: z.string().length(2).nullable(),
  resolverKind: resolverKindSchema,
  /** Operator of a well-known public resolver (Google, Cloudflare, …), else null. */
  resolverOperator: z.string().nullable(),
  /** Why the kind was chosen, e.g. "private (RFC 1918)" or "egress network of Quad9". */
  note: z.string().nullable().optional(),
  /** Operator of the Mirai default resolver whose network (ASN) this is, else null. */
  miraiDefaultOperator: z.string().nullable().optional(),
});
export type EnrichmentBlock = z.infer<typeof enrichmentBlockSchema>;

/** sluice.offenders.enriched.v1 — an offender plus its enrichment block. */
export const enrichedOffenderSchema = offenderSchema.extend({ enrichment: enrichmentBlockSchema });
export type EnrichedOffender = z.infer<typeof enrichedOffenderSchema>;

export const blockScopeSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('resolver-zone'), resolver: z.string(), zone: z.string() }),
  z.object({ kind: z.literal('resolver'), resolver: z.string() }),
  z.object({ kind: z.literal('prefix'), prefix: z.string() }),
  z.object({ kind: z.literal('asn'), asn: z.number().int().nonnegative() }),
  /** A zone guard: queries under `zone` for names it does not have get the entry's action. */
  z.object({ kind: z.literal('zone'), zone: z.string() }),
  /** Every resolver in `prefix`, for one attacked zone only. */
  z.object({ kind: z.literal('prefix-zone'), prefix: z.string(), zone: z.string() }),
  /** Every resolver in the ASN (its offending `networks`), for one attacked zone only. */
  z.object({
    kind: z.literal('asn-zone'),
    asn: z.number().int().nonnegative(),
    zone: z.string(),
  }),
]);
export type BlockScope = z.infer<typeof blockScopeSchema>;

/**
 * `guard` (zone-scoped kinds only): these clients get the zone's guard — its known names are
 * answered, every other name under the zone gets the zone guard entry's action.
 */
export const blockActionSchema = z.enum(['drop', 'refused', 'nxdomain', 'truncate', 'guard']);
export type BlockAction = z.infer<typeof blockActionSchema>;

/** What a zone guard lets through, and for whom. */
export const zoneGuardSchema = z.object({
  /** The alert the guard follows (it ends a hold time after the alert ends). */
  alertId: z.string(),
  /**
   * `offenders`: only clients with a `guard` entry for the zone (resolver-zone, prefix-zone,
   * asn-zone); `all`: every client, public resolvers included — chosen when per-resolver scoping
   * would let too much of the flood through.
   */
  appliesTo: z.enum(['offenders', 'all']),
  /** Names under the zone that are answered (lower case, no trailing dot; the apex included). */
  knownNames: z.array(z.string()),
  /** Names were left out to respect the size cap: enforcers should treat the list as partial. */
  namesTruncated: z.boolean(),
  /** Where the names came from: `traffic` (learned before onset), `zone-file:<path>`, `axfr:<host>`. */
  sources: z.array(z.string()),
  /** Event time (ms) the alert ended, once it has; the guard holds until `expiresAt`. */
  alertEndedAt: z.number().nullable(),
  /** Subtrees answered whatever the name (allowlisted, e.g. RUM beacons under the zone). */
  allowedSubtrees: z.array(z.string()).optional(),
});
export type ZoneGuard = z.infer<typeof zoneGuardSchema>;

/** sluice.blocklist.v1 — keyed by `id`, compacted; a null value (tombstone) removes the entry. */
export const blocklistEntrySchema = z.object({
  v: z.literal(1),
  id: z.string(),
  scope: blockScopeSchema,
  action: blockActionSchema,
  reason: z.string(),
  score: z.number().nonnegative(),
  createdAt: z.number(),
  expiresAt: z.number(),
  /** Shadow (dry-run) entries are published for review but must not be enforced. */
  shadow: z.boolean(),
  /**
   * For an `asn` scope: the offending prefixes seen in that ASN, so address-based enforcers (RPZ
   * client-IP triggers, dnsdist) can apply it. Absent for other scopes. Added after v1's first
   * shape: consumers must treat it as optional.
   */
  networks: z.array(z.string()).optional(),
  /** For a `zone` scope: the guard (known names, who it applies to). Optional like `networks`. */
  guard: zoneGuardSchema.optional(),
});
export type BlocklistEntry = z.infer<typeof blocklistEntrySchema>;

/**
 * sluice.known-names.v1 — keyed by zone, compacted: the names a zone's own traffic established
 * before an attack's onset (asked repeatedly, or answered NOERROR). Published by the detector when
 * an alert starts; the reputation service turns it into the zone guard's allow list.
 */
export const knownNamesSchema = z.object({
  v: z.literal(1),
  zone: z.string(),
  alertId: z.string(),
  /** Event time the names were established before (the alert's onset). */
  asOf: z.number(),
  /** Full names, lower case, no trailing dot, most asked first. */
  names: z.array(z.string()),
  /** More names qualified than the size cap allowed. */
  truncated: z.boolean(),
});
export type KnownNames = z.infer<typeof knownNamesSchema>;

/** sluice.deadletter.v1 — sampled undecodable input, for debugging decoders against real traffic. */
export const deadLetterSchema = z.object({
  v: z.literal(1),
  source: z.string(),
  reason: z.string(),
  receivedAt: z.number(),
  /** Raw bytes, base64. */
  raw: z.string(),
  detail: z.string().nullable(),
});
export type DeadLetter = z.infer<typeof deadLetterSchema>;
