import { getDomain } from 'tldts';

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
    return (
      getDomain(qname, {
        allowPrivateDomains: false,
        extractHostname: false,
        validateHostname: false,
      }) ?? qname
    );
  }

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

export function normaliseZone(zone: string): string {
  const z = zone.trim().toLowerCase();
  if (z === '.') return '.';
  return z.endsWith('.') ? z.slice(0, -1) : z;
}
