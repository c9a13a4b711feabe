import { LRUCache } from 'lru-cache';
import {
  type EnrichedOffender,
  type EnrichmentBlock,
  encodeEnrichedOffender,
  encodeEnrichmentBlock,
  type Offender,
} from '@sluice/contracts';
import { formatIp, parseIp } from '@sluice/dns';
import { PublicResolverTable } from './public-resolvers';
import { type AsnRecord, type AsnSource, type CountrySource } from './sources';
import { specialPurpose } from './special-ranges';

export interface EnricherSources {
  asn: AsnSource;
  country: CountrySource;
}

export interface EnricherStats {
  lookups: number;
  cacheHits: number;
  cacheSize: number;
}

/**
 * Resolver IP → enrichment block. Pure apart from the LRU: resolvers repeat window after
 * window, so most lookups are one Map get. Never throws on input: an unparsable address is
 * `unknown`, a special-purpose one `bogon`.
 */
export class Enricher {
  private readonly cache: LRUCache<string, EnrichmentBlock>;
  private lookups = 0;
  private hits = 0;
  /**
   * Each cached block's JSON as published: made once per resolver, not once per record. A Map
   * (a WeakMap's ephemerons cost the GC every cycle), cleared with the cache or when full.
   */
  private readonly blockJson = new Map<EnrichmentBlock, string>();

  constructor(
    private sources: EnricherSources,
    cacheSize = 100_000,
    private readonly resolvers = new PublicResolverTable(),
  ) {
    this.cache = new LRUCache({ max: Math.max(1, cacheSize) });
  }

  get sourceNames(): { asn: string; country: string } {
    return { asn: this.sources.asn.name, country: this.sources.country.name };
  }

  /** Credit lines for whatever data is loaded now; reports print them. */
  get attributions(): string[] {
    return [
      this.sources.asn.attribution ?? this.sources.asn.name,
      this.sources.country.attribution ?? this.sources.country.name,
    ];
  }

  /** Swap data (an operator's MMDB changed on disk); cached answers from the old data go. */
  replaceSources(next: Partial<EnricherSources>): void {
    this.sources = { ...this.sources, ...next };
    this.cache.clear();
    this.blockJson.clear();
  }

  enrich(address: string): EnrichmentBlock {
    this.lookups++;
    const cached = this.cache.get(address);
    if (cached) {
      this.hits++;
      return cached;
    }
    const block = this.compute(address);
    this.cache.set(address, block);
    return block;
  }

  /**
   * Enriches `offender` in place (it becomes the EnrichedOffender: no copy per record; callers
   * hand it their freshly decoded value) and returns its value on sluice.offenders.enriched.v1,
   * byte for byte what encodeMessage(enrichedOffenderSchema, …) writes (and throws on the same
   * records), without a schema walk of the block per record.
   */
  enrichRecord(offender: Offender): string {
    const enrichment = this.enrich(offender.resolver);
    let blockJson = this.blockJson.get(enrichment);
    if (blockJson === undefined) {
      if (this.blockJson.size >= 2 * this.cache.max) this.blockJson.clear();
      this.blockJson.set(enrichment, (blockJson = encodeEnrichmentBlock(enrichment)));
    }
    // Encoded first: the offender must not carry its block yet.
    const json = encodeEnrichedOffender(offender, enrichment, blockJson);
    (offender as EnrichedOffender).enrichment = enrichment;
    return json;
  }

  /** Same as enrich(), without the cache: for benchmarks and tests of the lookup itself. */
  compute(address: string): EnrichmentBlock {
    const ip = parseIp(address.trim());
    if (!ip) return empty('unknown', 'not an IP address');
    const special = specialPurpose(ip);
    if (special !== null) return empty('bogon', special);

    const asn = this.sources.asn.lookup(ip);
    const country = this.sources.country.lookup(ip);
    const asnNumber = asn?.asn ?? null;
    const mirai = asnNumber !== null ? this.resolvers.miraiOperatorOfAsn(asnNumber) : null;
    const block = (
      resolverKind: EnrichmentBlock['resolverKind'],
      resolverOperator: string | null,
      note: string | null,
    ) => blockOf(asn, country, mirai, resolverKind, resolverOperator, note);

    const match = this.resolvers.match(formatIp(ip));
    if (match)
      return match.miraiDefault
        ? block('mirai-default', match.operator, 'one of the four resolvers hard-coded in Mirai')
        : block('public', match.operator, 'service address of a public resolver');
    const egressOf = asnNumber !== null ? this.resolvers.operatorOfAsn(asnNumber) : null;
    if (egressOf !== null) return block('public', egressOf, `egress network of ${egressOf}`);
    if (asnNumber === null) return block('unknown', null, 'no routed ASN');
    return block('isp', null, null);
  }

  stats(): EnricherStats {
    return { lookups: this.lookups, cacheHits: this.hits, cacheSize: this.cache.size };
  }
}

/**
 * A looked-up block, its keys in the order published since blocks were `{...base, kind…}`. One
 * literal: on Node 20 that spread cost ~5 µs a block (V8's object-spread clone; a first sight's
 * largest single cost), a literal ~0.1 µs.
 */
function blockOf(
  asn: AsnRecord | null,
  country: string | null,
  miraiDefaultOperator: string | null,
  resolverKind: EnrichmentBlock['resolverKind'],
  resolverOperator: string | null,
  note: string | null,
): EnrichmentBlock {
  return {
    asn: asn?.asn ?? null,
    asOrg: asn?.org ?? null,
    prefix: asn?.prefix ?? null,
    country,
    miraiDefaultOperator,
    resolverKind,
    resolverOperator,
    note,
  };
}

function empty(kind: 'bogon' | 'unknown', note: string): EnrichmentBlock {
  return {
    asn: null,
    asOrg: null,
    prefix: null,
    country: null,
    resolverKind: kind,
    resolverOperator: null,
    note,
    miraiDefaultOperator: null,
  };
}
