import { type AttackReport } from './report-model';
import { iso } from './report-format';
import { type ReportSection } from './report-render';

// CSV of a report section, for spreadsheets: cells from query names are attacker input.

function csvCell(v: string | number | null): string {
  let s = v === null ? '' : String(v);
  // Query names are attacker-chosen: a text cell a spreadsheet would read as a formula
  // (=, +, -, @, tab, CR first) is prefixed with ' so it stays text (OWASP CSV injection).
  if (typeof v === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}
const csv = (head: string[], rows: Array<Array<string | number | null>>) =>
  `${[head, ...rows].map((r) => r.map(csvCell).join(',')).join('\n')}\n`;

/** CSV of one section, complete (no top-N cut): what an operator sends to a network owner. */
export function renderCsv(report: AttackReport, section: ReportSection): string {
  switch (section) {
    case 'countries':
      return csv(
        ['country', 'prefixes', 'asns', 'resolvers', 'attack_queries', 'share_pct'],
        report.countries.map((c) => [
          c.country,
          c.prefixes,
          c.asns,
          c.resolvers,
          c.attackQueries,
          c.share.toFixed(2),
        ]),
      );
    case 'asns':
      return csv(
        [
          'asn',
          'org',
          'country',
          'resolvers',
          'prefixes',
          'attack_queries',
          'share_pct',
          'mirai_default_operator',
          'public_resolver_operators',
        ],
        report.asns.map((a) => [
          a.asn,
          a.org,
          a.country,
          a.resolvers,
          a.prefixes,
          a.attackQueries,
          a.share.toFixed(2),
          a.miraiDefaultOperator,
          a.publicResolverOperators.join(';'),
        ]),
      );
    case 'qps':
      return csv(
        ['qps_from', 'qps_to', 'resolvers'],
        report.qps.histogram.map((b) => [b.from, b.to, b.resolvers]),
      );
    case 'evidence':
      return csv(
        [
          'asn',
          'org',
          'country',
          'resolver',
          'time_utc',
          'qname',
          'resolver_first_seen_utc',
          'resolver_last_seen_utc',
          'resolver_attack_queries',
          'resolver_total_queries',
        ],
        report.evidence.flatMap((g) =>
          g.resolvers.flatMap((r) =>
            (r.samples.length ? r.samples : [null]).map((e) => [
              g.asn,
              g.org,
              r.country,
              r.resolver,
              e ? iso(e.ts) : '',
              e ? e.qname : '',
              iso(r.firstSeen),
              iso(r.lastSeen),
              r.attackQueries,
              r.totalQueries,
            ]),
          ),
        ),
      );
  }
}
