import { type BlocklistEntry, type BlockScope } from '@sluice/contracts';
import { normaliseName } from '@sluice/dns';

/** The one zone an entry is limited to, or null for outright (every-zone) entries. */
export function scopeZone(scope: BlockScope): string | null {
  switch (scope.kind) {
    case 'resolver-zone':
    case 'prefix-zone':
    case 'asn-zone':
    case 'zone':
      return normaliseName(scope.zone);
    case 'resolver':
    case 'prefix':
    case 'asn':
      return null;
  }
}

/**
 * Client addresses/networks an entry applies to (ASN kinds through their `networks`); empty for a
 * zone guard, which applies by name, not by client.
 */
export function scopeAddresses(entry: BlocklistEntry): string[] {
  const s = entry.scope;
  switch (s.kind) {
    case 'resolver-zone':
    case 'resolver':
      return [s.resolver];
    case 'prefix':
    case 'prefix-zone':
      return [s.prefix];
    case 'asn':
    case 'asn-zone':
      return entry.networks ?? [];
    case 'zone':
      return [];
  }
}

export function entryId(scope: BlockScope): string {
  switch (scope.kind) {
    case 'resolver-zone':
      return `rz:${scope.resolver}|${scope.zone}`;
    case 'resolver':
      return `r:${scope.resolver}`;
    case 'prefix':
      return `p:${scope.prefix}`;
    case 'asn':
      return `a:${scope.asn}`;
    case 'prefix-zone':
      return `pz:${scope.prefix}|${scope.zone}`;
    case 'asn-zone':
      return `az:${scope.asn}|${scope.zone}`;
    case 'zone':
      return `g:${scope.zone}`;
  }
}

/** Human form of the scope's subject: `192.0.2.1`, `192.0.2.0/24`, `AS64500`, or the zone. */
export function scopeValue(scope: BlockScope): string {
  switch (scope.kind) {
    case 'resolver-zone':
    case 'resolver':
      return scope.resolver;
    case 'prefix':
    case 'prefix-zone':
      return scope.prefix;
    case 'asn':
    case 'asn-zone':
      return `AS${scope.asn}`;
    case 'zone':
      return scope.zone;
  }
}
