/**
 * DNS names as Sluice compares and stores them: lower case, no trailing dot. Two spellings of a
 * name (`Example.COM.`, `example.com`) must meet as one key in maps, Redis and blocklists.
 */
export function normaliseName(name: string): string {
  const n = name.toLowerCase();
  return n.endsWith('.') ? n.slice(0, -1) : n;
}

/**
 * A zone as an operator writes it in settings: trimmed, then as normaliseName, except that the
 * root stays `.` (normaliseName would make it the empty string).
 */
export function normaliseZone(zone: string): string {
  const z = zone.trim();
  return z === '.' ? '.' : normaliseName(z);
}

/** Is `name` the zone or below it? Both already normalised. */
export function inZone(name: string, zone: string): boolean {
  return name === zone || name.endsWith(`.${zone}`);
}
