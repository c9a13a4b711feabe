import { normaliseName } from '@sluice/dns';

/**
 * Owner names of a DNS master file (RFC 1035 §5; e.g. `dig axfr` output or the zone's source),
 * absolute, lower case, without the trailing dot: the names the zone really has. Handles
 * $ORIGIN, `@`, relative owners, blank owners (previous owner), comments and parentheses.
 * Not a full parser: record data is not interpreted, only owners are collected.
 */
export function zoneFileNames(text: string, origin: string): string[] {
  let current = normaliseName(origin);
  let previous: string | null = null;
  let depth = 0;
  const names = new Set<string>();
  for (const raw of text.split('\n')) {
    const line = stripComment(raw);
    const continuing = depth > 0;
    depth = Math.max(0, depth + count(line, '(') - count(line, ')'));
    if (continuing || line.trim() === '') continue;
    if (/^\$ORIGIN\s/i.test(line)) {
      current = absolute(line.trim().split(/\s+/)[1] ?? '', current);
      continue;
    }
    if (line.startsWith('$')) continue;
    let owner: string | null;
    if (/^\s/.test(line)) owner = previous;
    else {
      const token = line.split(/\s+/)[0]!;
      owner = token === '@' ? current : absolute(token, current);
    }
    if (owner === null) continue;
    previous = owner;
    names.add(owner);
  }
  return [...names];
}

function absolute(name: string, origin: string): string {
  if (name.endsWith('.')) return normaliseName(name);
  return normaliseName(origin === '' ? name : `${name}.${origin}`);
}

function stripComment(line: string): string {
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '"' && line[i - 1] !== '\\') quoted = !quoted;
    else if (c === ';' && !quoted) return line.slice(0, i);
  }
  return line;
}

function count(s: string, ch: string): number {
  let n = 0;
  for (const c of s) if (c === ch) n++;
  return n;
}
