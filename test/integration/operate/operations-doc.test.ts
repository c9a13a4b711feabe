import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { envNames, repoRoot, runtimeEnv, services, sluiceMetrics } from './operate-helpers';

const doc = readFileSync(join(repoRoot, 'docs', 'operations.md'), 'utf8');

/** Rows of the markdown table that follows `heading`. */
function table(heading: string): string[][] {
  const start = doc.indexOf(heading);
  if (start < 0) throw new Error(`no "${heading}" in docs/operations.md`);
  const lines = doc.slice(start).split('\n');
  const first = lines.findIndex((l) => l.startsWith('|'));
  const rows: string[][] = [];
  for (const line of lines.slice(first + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(
      line
        .slice(1, -1)
        .split('|')
        .map((c) => c.trim()),
    );
  }
  return rows;
}
const unquote = (cell: string) =>
  cell === '—'
    ? []
    : cell
        .split(',')
        .map((s) => s.trim().replace(/^`|`$/g, ''))
        .filter(Boolean);

describe('docs/operations.md stays true to the code', () => {
  it('documents every metric the services define, with its type, labels and service', () => {
    const rows = table('### Metrics').map(([metric, type, labels, service]) => ({
      name: unquote(metric!)[0],
      type,
      labels: unquote(labels!).sort(),
      service,
    }));
    const defs = sluiceMetrics();
    expect(rows.map((r) => r.name).sort()).toEqual(defs.map((d) => d.name).sort());
    for (const d of defs) {
      const row = rows.find((r) => r.name === d.name)!;
      expect({ name: d.name, type: row.type, labels: row.labels }).toEqual({
        name: d.name,
        type: d.type,
        labels: [...d.labels].sort(),
      });
      if (d.service !== 'all') expect(`${d.name}: ${row.service}`).toContain(d.service);
    }
  });

  it('lists every alert rule', () => {
    const rules = (
      parse(readFileSync(join(repoRoot, 'infra/prometheus/rules/sluice.rules.yml'), 'utf8')) as {
        groups: { rules: { alert: string; labels: { severity: string } }[] }[];
      }
    ).groups.flatMap((g) => g.rules);
    const rows = table('### Alerts').map(([alert, , severity]) => [unquote(alert!)[0], severity]);
    expect(rows).toEqual(rules.map((r) => [r.alert, r.labels.severity]));
  });

  it('quotes the nameserver snippets exactly as the checked files say', () => {
    const includes = [...doc.matchAll(/<!-- include: (\S+) -->\s*```\w*\n([\s\S]*?)\n```/g)];
    expect(includes.map((m) => m[1]).sort()).toEqual([
      'infra/nameservers/bind/named.conf.options',
      'infra/nameservers/dnsdist/sluice-dnstap.lua',
      'infra/nameservers/knot/knot.conf',
      'infra/nameservers/nsd/sluice-dnstap.conf',
      'infra/nameservers/unbound/sluice-dnstap.conf',
    ]);
    for (const [, path, body] of includes)
      expect(`${path}:\n${body}`).toBe(
        `${path}:\n${readFileSync(join(repoRoot, path!), 'utf8').trimEnd()}`,
      );
  });

  it('names only settings a service reads', () => {
    const known = new Set([...services.flatMap((s) => [...envNames(s)]), ...runtimeEnv]);
    const named = new Set(
      [...doc.matchAll(/`([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)(?:[=`])/g)].map((m) => m[1]!),
    );
    // Families written with a wildcard: each must match some setting.
    const families = [...doc.matchAll(/`([A-Z][A-Z0-9_]*_)\*`/g)].map((m) => m[1]!);
    expect(named.size).toBeGreaterThan(30);
    expect([...named].filter((n) => !known.has(n))).toEqual([]);
    expect(families.filter((f) => ![...known].some((k) => k.startsWith(f)))).toEqual([]);
  });
});
