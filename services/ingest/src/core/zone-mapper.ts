import { getDomain } from 'tldts';
import { normaliseZone } from '@sluice/dns';

const CACHE_SLOTS = 16_384;

/**
 * qname → target zone: the longest configured served zone that is a suffix of the name
 * (on a label boundary), else the registrable domain from the Public Suffix List (ICANN
 * section only: an authoritative operator serves blogspot.com, not each blog), else the name.
 */
export class ZoneMapper {
  /** Served zone → the same string: answers are these very strings (cheap to compare and hash downstream). */
  private readonly served: Map<string, string>;
  private readonly maxServedLabels: number;
  /** servedLength[n] = 1 when a served zone is n characters long: most names skip the exact lookup. */
  private readonly servedLength = new Uint8Array(256);

  constructor(servedZones: readonly string[] = []) {
    const normalised = servedZones.map(normaliseZone).filter((z) => z.length > 0);
    this.served = new Map(normalised.map((z) => [z, z]));
    for (const z of normalised) if (z.length < 256) this.servedLength[z.length] = 1;
    this.maxServedLabels = Math.max(
      0,
      ...normalised.map((z) => (z === '.' ? 0 : z.split('.').length)),
    );
  }

  zoneOf(qname: string): string {
    const length = qname.length;
    if (this.served.size > 0 && length < 256 && this.servedLength[length] === 1) {
      const exact = this.served.get(qname);
      if (exact !== undefined) return exact;
    }
    if (qname === '.' || qname === '') return '.';
    const dot = qname.indexOf('.');
    if (dot < 0) return this.served.has('.') ? '.' : registrable(qname);
    // The name is not itself served, so its zone depends only on the rest after its first
    // label: a served suffix of the rest, else its registrable domain D when the rest is D or
    // below it (adding a label on the left cannot change D: the ICANN section has no rules below
    // a registrable domain; zone-mapper.spec.ts checks edge cases). A flood's names differ only
    // in their first label, so the answer is cached by the rest: a direct-mapped cache on a hash
    // of the rest, read in place (no sliced string to allocate and hash per query). A slot holds
    // one (rest, zone) pair; a collision simply recomputes.
    let h = 0;
    for (let i = dot + 1; i < length; i++) h = (Math.imul(h, 31) + qname.charCodeAt(i)) | 0;
    const slot = (h ^ (h >>> 15)) & (CACHE_SLOTS - 1);
    const restLength = length - dot - 1;
    const cachedRest = this.cacheRest[slot];
    if (cachedRest !== undefined && cachedRest.length === restLength && qname.endsWith(cachedRest))
      return this.cacheZone[slot]!;
    const rest = qname.slice(dot + 1);
    const served = this.served.size > 0 ? this.longestServed(rest) : null;
    if (served !== null) {
      this.cacheRest[slot] = rest;
      this.cacheZone[slot] = served;
      return served;
    }
    const domain = registrable(qname);
    if (domain.length <= restLength && qname.endsWith(domain)) {
      this.cacheRest[slot] = rest;
      this.cacheZone[slot] = domain;
    }
    return domain;
  }

  private readonly cacheRest: (string | undefined)[] = new Array<string | undefined>(CACHE_SLOTS);
  private readonly cacheZone: (string | undefined)[] = new Array<string | undefined>(CACHE_SLOTS);

  /** The longest served zone that `name` is in (itself included), else null. */
  private longestServed(name: string): string | null {
    // Walk suffixes from the longest candidate that a served zone could be.
    const dots: number[] = [];
    for (let i = 0; i < name.length; i++) if (name.charCodeAt(i) === 0x2e) dots.push(i);
    const labels = dots.length + 1;
    for (let n = Math.min(labels, this.maxServedLabels); n >= 1; n--) {
      const candidate = n === labels ? name : name.slice(dots[labels - n - 1]! + 1);
      const zone = this.served.get(candidate);
      if (zone !== undefined) return zone;
    }
    return this.served.get('.') ?? null;
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
