import { decodeMessage, encodeMessage } from './codec';
import {
  type EnrichedOffender,
  enrichedOffenderSchema,
  type EnrichmentBlock,
  enrichmentBlockSchema,
  type Evidence,
  type Offender,
  offenderSchema,
} from './messages';

/**
 * Hand-written checks for the two offender messages, the only JSON topics whose volume follows
 * the flood (~66 records per 1,000 queries): zod's generic walk, its output copy and its error
 * machinery were a third of the enrichment and reputation services' per-record CPU. The zod
 * schemas in messages.ts stay the contract: each check here accepts only what the schema accepts
 * and returns exactly what the schema's parse returns (known keys in the schema's order, unknown
 * keys dropped), and anything it does not accept goes to zod, so errors and their messages are
 * zod's. offender-codec.spec.ts holds the two to each other on generated inputs.
 */

type Obj = Record<string, unknown>;

const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);
const isNum = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
/** z.number().int().nonnegative(): a safe integer ≥ 0 (-0 included). */
const isCount = (x: unknown): x is number =>
  typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
const isStrOrNull = (x: unknown): x is string | null => x === null || typeof x === 'string';

const EVIDENCE_KEYS = ['ts', 'resolver', 'qname'];
const OFFENDER_KEYS = [
  'v',
  'zone',
  'resolver',
  'windowStart',
  'windowEnd',
  'attackQueries',
  'totalQueries',
  'alertId',
  'evidence',
];
const ENRICHED_KEYS = [...OFFENDER_KEYS, 'enrichment'];
const BLOCK_KEYS = ['asn', 'asOrg', 'prefix', 'country', 'resolverKind', 'resolverOperator'];
const BLOCK_OPTIONAL = ['note', 'miraiDefaultOperator'];

/**
 * The object has exactly these keys in this order (then `optional` ones, each at most once, in
 * order): then, once its values are checked, it is already what zod's parse would return — the
 * same keys in the same order — and is returned as is instead of copied. What a Sluice producer
 * writes always has this shape; anything else is copied key by key.
 */
function exactKeys(x: Obj, keys: readonly string[], optional: readonly string[] = []): boolean {
  let i = 0;
  let j = 0;
  for (const k in x) {
    if (i < keys.length) {
      if (k !== keys[i]) return false;
      i++;
      continue;
    }
    while (j < optional.length && optional[j] !== k) j++;
    if (j === optional.length) return false;
    j++;
  }
  return i === keys.length;
}

function evidenceOf(x: unknown): Evidence[] | null {
  if (!Array.isArray(x)) return null;
  let out: Evidence[] | null = null;
  for (let i = 0; i < x.length; i++) {
    const e: unknown = x[i];
    if (!isObj(e)) return null;
    const { ts, resolver, qname } = e;
    if (!isNum(ts) || typeof resolver !== 'string' || typeof qname !== 'string') return null;
    if (out === null && !exactKeys(e, EVIDENCE_KEYS)) out = (x as Evidence[]).slice(0, i);
    out?.push({ ts, resolver, qname });
  }
  return out ?? (x as Evidence[]);
}

/** The schema's parse output for a value it accepts, or null when the fast check is unsure. */
export function checkOffender(x: unknown): Offender | null {
  return isObj(x) ? offenderOf(x, OFFENDER_KEYS) : null;
}

/** Validates the offender fields of x; x itself when its keys are exactly `keys`, else a copy. */
function offenderOf(x: Obj, keys: readonly string[]): Offender | null {
  const { v, zone, resolver, windowStart, windowEnd, attackQueries, totalQueries, alertId } = x;
  if (
    v !== 1 ||
    typeof zone !== 'string' ||
    typeof resolver !== 'string' ||
    !isNum(windowStart) ||
    !isNum(windowEnd) ||
    !isCount(attackQueries) ||
    !isCount(totalQueries) ||
    !isStrOrNull(alertId)
  )
    return null;
  const evidence = evidenceOf(x.evidence);
  if (evidence === null) return null;
  if (evidence === x.evidence && exactKeys(x, keys)) return x as Offender;
  return {
    v,
    zone,
    resolver,
    windowStart,
    windowEnd,
    attackQueries,
    totalQueries,
    alertId,
    evidence,
  };
}

/**
 * z.string().length(2) counts code points: two UTF-16 units that are not surrogates are surely
 * two. Anything else (an emoji pair, a lone surrogate) is left to zod.
 */
const isTwoLetters = (x: unknown): x is string =>
  typeof x === 'string' &&
  x.length === 2 &&
  (x.charCodeAt(0) & 0xf800) !== 0xd800 &&
  (x.charCodeAt(1) & 0xf800) !== 0xd800;

const kinds = new Set<unknown>(['public', 'mirai-default', 'bogon', 'isp', 'unknown']);

export function checkEnrichmentBlock(x: unknown): EnrichmentBlock | null {
  if (!isObj(x)) return null;
  const { asn, asOrg, prefix, country, resolverKind, resolverOperator } = x;
  if (
    !(asn === null || isCount(asn)) ||
    !isStrOrNull(asOrg) ||
    !isStrOrNull(prefix) ||
    !(country === null || isTwoLetters(country)) ||
    !kinds.has(resolverKind) ||
    !isStrOrNull(resolverOperator)
  )
    return null;
  if (exactKeys(x, BLOCK_KEYS, BLOCK_OPTIONAL)) {
    const { note, miraiDefaultOperator: m } = x;
    if (note !== undefined && !isStrOrNull(note)) return null;
    if (m !== undefined && !isStrOrNull(m)) return null;
    return x as EnrichmentBlock;
  }
  const out: EnrichmentBlock = {
    asn,
    asOrg,
    prefix,
    country,
    resolverKind: resolverKind as EnrichmentBlock['resolverKind'],
    resolverOperator,
  };
  // Optional keys: zod keeps a key that is present (even when undefined) and adds none.
  if ('note' in x) {
    const note = x.note;
    if (note !== undefined && !isStrOrNull(note)) return null;
    out.note = note;
  }
  if ('miraiDefaultOperator' in x) {
    const m = x.miraiDefaultOperator;
    if (m !== undefined && !isStrOrNull(m)) return null;
    out.miraiDefaultOperator = m;
  }
  return out;
}

export function checkEnrichedOffender(x: unknown): EnrichedOffender | null {
  if (!isObj(x)) return null;
  const enrichment = checkEnrichmentBlock(x.enrichment);
  if (enrichment === null) return null;
  const o = offenderOf(x, ENRICHED_KEYS);
  if (o === null) return null;
  if (o === x && enrichment === x.enrichment) return x as EnrichedOffender;
  return { ...o, enrichment };
}

function parseJson(raw: Buffer | string | null): unknown {
  if (raw === null) return undefined;
  try {
    return JSON.parse(typeof raw === 'string' ? raw : raw.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** decodeMessage(offenderSchema, raw), without zod for every well-formed record. */
export function decodeOffender(raw: Buffer | string | null): Offender {
  return checkOffender(parseJson(raw)) ?? decodeMessage(offenderSchema, raw);
}

/** decodeMessage(enrichedOffenderSchema, raw), without zod for every well-formed record. */
export function decodeEnrichedOffender(raw: Buffer | string | null): EnrichedOffender {
  return checkEnrichedOffender(parseJson(raw)) ?? decodeMessage(enrichedOffenderSchema, raw);
}

/**
 * encodeMessage(offenderSchema, offender), byte for byte, without zod's walk for a well-formed
 * record: the detector publishes one per (resolver, zone) and offender window, so during a flood
 * this is most of what it encodes. Throws like encodeMessage on anything the fast check refuses
 * and zod refuses too.
 */
export function encodeOffender(offender: Offender): Buffer {
  const o = checkOffender(offender);
  if (o === null) return encodeMessage(offenderSchema, offender);
  return Buffer.from(JSON.stringify(o));
}

/**
 * The JSON of an enrichment block exactly as encodeMessage(enrichedOffenderSchema, …) writes it
 * inside an enriched offender: validated, in the schema's key order. Throws like encodeMessage.
 */
export function encodeEnrichmentBlock(block: EnrichmentBlock): string {
  const checked = checkEnrichmentBlock(block);
  if (checked !== null) return JSON.stringify(checked);
  return encodeMessage(enrichmentBlockSchema, block).toString('utf8');
}

/**
 * encodeMessage(enrichedOffenderSchema, {...offender, enrichment}) as a string, byte for byte,
 * given the block's JSON from encodeEnrichmentBlock (callers cache it per block: resolvers
 * repeat window after window). Falls back to encodeMessage for anything the fast check refuses.
 */
export function encodeEnrichedOffender(
  offender: Offender,
  enrichment: EnrichmentBlock,
  enrichmentJson: string,
): string {
  const o = checkOffender(offender);
  if (o === null)
    return encodeMessage(enrichedOffenderSchema, { ...offender, enrichment }).toString('utf8');
  const head = JSON.stringify(o);
  return `${head.slice(0, -1)},"enrichment":${enrichmentJson}}`;
}
