import { type AttackReport } from './report-model';
import { asnText, fmt, iso } from './report-format';

export type ReportSection = 'countries' | 'asns' | 'qps' | 'evidence';
export const REPORT_SECTIONS: readonly ReportSection[] = ['countries', 'asns', 'qps', 'evidence'];

export interface TableData {
  title: string;
  head: string[];
  rows: string[][];
}

/** Rows for terminal tables (the CLI feeds them to cli-table3) and for plain-text output. */
export function reportTables(
  report: AttackReport,
  section: ReportSection,
  limit = 20,
): TableData[] {
  switch (section) {
    case 'countries':
      return [
        {
          title: 'Share of attack traffic by resolver country',
          head: [
            'Resolver Country Code',
            'Number of Prefixes',
            'Number of ASNs',
            'Resolvers',
            '% of Traffic',
          ],
          rows: withOther(
            report.countries.map((c) => [
              c.country,
              String(c.prefixes),
              String(c.asns),
              String(c.resolvers),
              fmt(c.share),
            ]),
            report.countries.slice(limit).reduce((a, c) => a + c.share, 0),
            limit,
            5,
          ),
        },
      ];
    case 'asns': {
      const c = report.callouts;
      return [
        {
          title: 'Top ASNs',
          head: ['ASN', 'Organisation', 'Country', 'Resolvers', 'Prefixes', '% of Traffic', 'Note'],
          rows: withOther(
            report.asns.map((a) => [
              asnText(a.asn),
              a.org,
              a.country,
              String(a.resolvers),
              String(a.prefixes),
              fmt(a.share),
              [
                a.miraiDefaultOperator ? `Mirai default: ${a.miraiDefaultOperator}` : '',
                ...a.publicResolverOperators
                  .filter((o) => o !== a.miraiDefaultOperator)
                  .map((o) => `public: ${o}`),
              ]
                .filter(Boolean)
                .join('; '),
            ]),
            report.asns.slice(limit).reduce((a, r) => a + r.share, 0),
            limit,
            7,
          ),
        },
        {
          title: 'Called out',
          head: ['Carried by', 'Resolvers', 'Attack queries', '% of Traffic'],
          rows: [
            c.miraiDefaultAddresses,
            c.miraiDefaultNetworks,
            c.otherPublicResolvers,
            ...c.publicByOperator.map((p) => ({ ...p, label: `  public: ${p.label}` })),
            c.bogon,
            c.unknown,
          ].map((l) => [l.label, String(l.resolvers), String(l.attackQueries), fmt(l.share)]),
        },
      ];
    }
    case 'qps': {
      const q = report.qps;
      return [
        {
          title: `Queries per second per resolver IP (${q.basis})`,
          head: [
            'resolvers',
            'min',
            'mean',
            'p50',
            'p90',
            'p95',
            'p99',
            'max',
            'outliers (> fence)',
          ],
          rows: [
            [
              String(q.resolvers),
              fmt(q.min),
              fmt(q.mean),
              fmt(q.p50),
              fmt(q.p90),
              fmt(q.p95),
              fmt(q.p99),
              fmt(q.max),
              `${q.outlierCount} (> ${fmt(q.upperFence)} qps)`,
            ],
          ],
        },
        {
          title: 'Histogram',
          head: ['qps from', 'qps to', 'resolvers', ''],
          rows: q.histogram.map((b) => [
            fmt(b.from, 3),
            fmt(b.to, 3),
            String(b.resolvers),
            '#'.repeat(
              Math.ceil((b.resolvers / Math.max(1, ...q.histogram.map((x) => x.resolvers))) * 40),
            ),
          ]),
        },
        {
          title: 'Outliers',
          head: [
            'Resolver',
            'qps',
            'peak qps',
            'attack queries',
            'ASN',
            'Organisation',
            'Country',
            'Kind',
          ],
          rows: q.outliers.map((o) => [
            o.resolver,
            fmt(o.qps),
            fmt(o.peakQps),
            String(o.attackQueries),
            asnText(o.asn),
            o.org,
            o.country,
            o.kind,
          ]),
        },
      ];
    }
    case 'evidence':
      return [
        {
          title: 'Abuse evidence per ASN (first samples per resolver)',
          head: [
            'ASN',
            'Organisation',
            'Resolver',
            'First seen',
            'Last seen',
            'Attack queries',
            'Sample',
          ],
          rows: report.evidence
            .slice(0, limit)
            .flatMap((g) =>
              g.resolvers
                .slice(0, 5)
                .map((r) => [
                  asnText(g.asn),
                  g.org,
                  r.resolver,
                  iso(r.firstSeen),
                  iso(r.lastSeen),
                  String(r.attackQueries),
                  r.samples[0] ? `${iso(r.samples[0].ts)} ${r.samples[0].qname}` : '',
                ]),
            ),
        },
      ];
  }
}

function withOther(rows: string[][], otherShare: number, limit: number, width: number): string[][] {
  if (rows.length <= limit) return rows;
  const other = new Array<string>(width).fill('');
  other[0] = `(${rows.length - limit} more)`;
  other[width === 5 ? 4 : 5] = fmt(otherShare);
  return [...rows.slice(0, limit), other];
}

/** Plain text, for HTTP `format=text` and logs. */
export function renderText(report: AttackReport, sections = REPORT_SECTIONS): string {
  const out: string[] = [header(report)];
  for (const s of sections)
    for (const t of reportTables(report, s)) {
      out.push('', t.title);
      const widths = t.head.map((h, i) =>
        Math.max(h.length, ...t.rows.map((r) => (r[i] ?? '').length)),
      );
      const line = (cells: string[]) =>
        cells
          .map((c, i) => c.padEnd(widths[i]!))
          .join('  ')
          .trimEnd();
      out.push(line(t.head), line(widths.map((w) => '-'.repeat(w))), ...t.rows.map(line));
    }
  return `${out.join('\n')}\n`;
}

export function header(report: AttackReport): string {
  const s = report.scope;
  const what =
    s.kind === 'alert'
      ? `alert ${s.alertId}${s.zone ? ` on ${s.zone}` : ''}`
      : `zone ${s.zone} ${iso(s.from)} – ${iso(s.to)}`;
  const t = report.totals;
  return [
    `Attack report: ${what}`,
    report.alert
      ? `severity ${report.alert.severity}, phase ${report.alert.phase}, generator ${report.alert.generator}, onset ${iso(report.alert.onset)}${report.alert.endedAt ? `, ended ${iso(report.alert.endedAt)}` : ''}`
      : '',
    `traffic seen ${iso(report.from)} – ${iso(report.to)}: ${t.attackQueries} attack queries from ${t.resolvers} resolvers, ${t.prefixes} prefixes, ${t.asns} ASNs, ${t.countries} countries`,
    evictedLine(report),
    ...report.dataSources.map((d) => `data: ${d}`),
  ]
    .filter(Boolean)
    .join('\n');
}

/** What the store's row cap left out; empty when nothing was evicted. */
export function evictedLine(report: AttackReport): string {
  const e = report.evicted;
  if (e.rows === 0) return '';
  const all = report.totals.attackQueries + e.attackQueries;
  const share = all > 0 ? ((e.attackQueries / all) * 100).toFixed(2) : '0.00';
  return `not in these tables: ${e.rows} resolver rows with ${e.attackQueries} attack queries (${share} % of ${all}), evicted by the report store's cap (REPORT_MAX_RESOLVER_ROWS)`;
}

/** One section as JSON-ready data (the whole report is `report` itself). */
export function sectionData(report: AttackReport, section: ReportSection): unknown {
  switch (section) {
    case 'countries':
      return {
        scope: report.scope,
        totals: report.totals,
        evicted: report.evicted,
        countries: report.countries,
        dataSources: report.dataSources,
      };
    case 'asns':
      return {
        scope: report.scope,
        totals: report.totals,
        evicted: report.evicted,
        asns: report.asns,
        callouts: report.callouts,
        dataSources: report.dataSources,
      };
    case 'qps':
      return { scope: report.scope, qps: report.qps };
    case 'evidence':
      return {
        scope: report.scope,
        alert: report.alert,
        evidence: report.evidence,
        dataSources: report.dataSources,
      };
  }
}

/**
 * The report narrowed to one network's evidence: what goes to that network's abuse desk
 * (their resolvers, times, names), nothing about anyone else's.
 */
export function forAsn(report: AttackReport, asn: number): AttackReport {
  return { ...report, evidence: report.evidence.filter((g) => g.asn === asn) };
}
