import { getDomain } from 'tldts';
import { normaliseZone } from '@sluice/dns';

const CACHE_SLOTS = 16_384;

/**
 * qname → target zone: the longest configured served zone that is a suffix of the name
 * (on a label boundary), else the registrable domain from the Public Suffix List (ICANN
 * section only: an authoritative operator serves blogspot.com, not each blog), else the name.
 */
export class ZoneMapper {
  private readonly served: Set<string>;
  private readonly maxServedLabels: number;

  constructor(servedZones: readonly string[] = []) {
    const normalised = servedZones.map(normaliseZone).filter((z) => z.length > 0);
    this.served = new Set(normalised);
    this.maxServedLabels = Math.max(
      0,
      ...normalised.map((z) => (z === '.' ? 0 : z.split('.').length)),
    );
  }

  zoneOf(qname: string): string {
    if (this.served.size > 0) {
      const served = this.longestServed(qname);
      if (served !== null) return served;
    }
    if (qname === '.' || qname === '') return '.';
    // A flood's names differ only in their first label: cache by the rest. If the rest is its
    // registrable domain D or below it, adding a label on the left cannot change D (the ICANN
    // section has no rules below a registrable domain; zone-mapper.spec.ts checks edge cases).
    const dot = qname.indexOf('.');
    if (dot < 0) return registrable(qname);
    // Direct-mapped cache on a hash of the rest, read in place: no sliced string to allocate
    // and hash per query. A slot holds one (rest, zone) pair; a collision simply recomputes.
    let h = 0;
    for (let i = dot + 1; i < qname.length; i++) h = (Math.imul(h, 31) + qname.charCodeAt(i)) | 0;
    const slot = (h ^ (h >>> 15)) & (CACHE_SLOTS - 1);
    const restLength = qname.length - dot - 1;
    const cachedRest = this.cacheRest[slot];
    if (cachedRest !== undefined && cachedRest.length === restLength && qname.endsWith(cachedRest))
      return this.cacheZone[slot]!;
    const domain = registrable(qname);
    if (domain.length <= restLength && qname.endsWith(domain)) {
      this.cacheRest[slot] = qname.slice(dot + 1);
      this.cacheZone[slot] = domain;
    }
    return domain;
  }

  private readonly cacheRest: (string | undefined)[] = new Array<string | undefined>(CACHE_SLOTS);
  private readonly cacheZone: (string | undefined)[] = new Array<string | undefined>(CACHE_SLOTS);

  private longestServed(qname: string): string | null {
    // Walk suffixes from the longest candidate that a served zone could be.
    const dots: number[] = [];
    for (let i = 0; i < qname.length; i++) if (qname.charCodeAt(i) === 0x2e) dots.push(i);
    const labels = dots.length + 1;
    for (let n = Math.min(labels, this.maxServedLabels); n >= 1; n--) {
      const candidate = n === labels ? qname : qname.slice(dots[labels - n - 1]! + 1);
      if (this.served.has(candidate)) return candidate;
    }
    return this.served.has('.') ? '.' : null;
  }
}

function registrable(qname: string): string {
  return (
    getDomain(qname, {
      allowPrivateDomains: false,
      extractHostname: false,
      validateHostname: false,
    }) ?? qname
  );
}
