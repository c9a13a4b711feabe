import { type AttackReport } from './report';

export type ReportSection = 'countries' | 'asns' | 'qps' | 'evidence';
export const REPORT_SECTIONS: readonly ReportSection[] = ['countries', 'asns', 'qps', 'evidence'];

export interface TableData {
  title: string;
  head: string[];
  rows: string[][];
}

const iso = (ms: number | null) => (ms === null ? '' : new Date(ms).toISOString());
const fmt = (n: number, digits = 2) => n.toFixed(digits);
const asnText = (asn: number | null) => (asn === null ? '??' : `AS${asn}`);

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
    ...report.dataSources.map((d) => `data: ${d}`),
  ]
    .filter(Boolean)
    .join('\n');
}

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

/** Characters XML 1.0 forbids (a NUL in a query name would make the whole SVG unparseable). */
/* eslint-disable no-control-regex */
const XML_INVALID =
  /[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
/* eslint-enable no-control-regex */

const esc = (s: string) =>
  s
    .replace(XML_INVALID, '\ufffd')
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;');

export type ChartKind = 'countries' | 'asns' | 'qps';

/** A self-contained SVG chart (no fonts or scripts to fetch): bars for shares, a histogram for qps. */
export function renderSvg(report: AttackReport, chart: ChartKind, limit = 15): string {
  if (chart === 'qps') {
    const bins = report.qps.histogram;
    const w = 720;
    const h = 360;
    const left = 60;
    const bottom = 300;
    const top = 50;
    const max = Math.max(1, ...bins.map((b) => b.resolvers));
    const bw = bins.length ? (w - left - 20) / bins.length : 0;
    const bars = bins
      .map((b, i) => {
        const bh = ((bottom - top) * b.resolvers) / max;
        const x = left + i * bw;
        const label = b.to === 0 ? '0' : `${fmtQ(b.from)}–${fmtQ(b.to)}`;
        return (
          `<rect x="${x + 2}" y="${bottom - bh}" width="${Math.max(1, bw - 4)}" height="${bh}" fill="#3b6ea5"><title>${esc(label)} qps: ${b.resolvers} resolvers</title></rect>` +
          `<text x="${x + bw / 2}" y="${bottom + 14}" font-size="10" text-anchor="middle">${esc(label)}</text>` +
          `<text x="${x + bw / 2}" y="${bottom - bh - 4}" font-size="10" text-anchor="middle">${b.resolvers}</text>`
        );
      })
      .join('');
    const q = report.qps;
    return svgDoc(
      w,
      h,
      `Queries per second per resolver IP (p50 ${fmt(q.p50)}, p99 ${fmt(q.p99)}, max ${fmt(q.max)}; ${q.outlierCount} outliers)`,
      `${bars}<line x1="${left}" y1="${bottom}" x2="${w - 20}" y2="${bottom}" stroke="#333"/>` +
        `<text x="${w / 2}" y="${bottom + 36}" font-size="12" text-anchor="middle">attack qps per resolver (log₂ bins)</text>`,
      report.dataSources,
    );
  }
  const rows =
    chart === 'countries'
      ? report.countries.slice(0, limit).map((c) => ({
          label: c.country,
          share: c.share,
          note: `${c.prefixes} prefixes, ${c.asns} ASNs`,
        }))
      : report.asns.slice(0, limit).map((a) => ({
          label: `${asnText(a.asn)} ${a.org}`.slice(0, 40),
          share: a.share,
          note: a.miraiDefaultOperator
            ? 'Mirai default'
            : a.publicResolverOperators.length
              ? 'public resolver'
              : '',
        }));
  const w = 760;
  const rowH = 22;
  const left = chart === 'countries' ? 50 : 290;
  const h = 60 + rows.length * rowH;
  const max = Math.max(1, ...rows.map((r) => r.share));
  const body = rows
    .map((r, i) => {
      const y = 40 + i * rowH;
      const bw = ((w - left - 200) * r.share) / max;
      const colour =
        r.note === 'Mirai default'
          ? '#c0392b'
          : r.note === 'public resolver'
            ? '#e67e22'
            : '#3b6ea5';
      return (
        `<text x="${left - 6}" y="${y + 14}" font-size="12" text-anchor="end">${esc(r.label)}</text>` +
        `<rect x="${left}" y="${y + 2}" width="${bw}" height="${rowH - 6}" fill="${colour}"/>` +
        `<text x="${left + bw + 6}" y="${y + 14}" font-size="11">${r.share.toFixed(2)}%${r.note ? ` · ${esc(r.note)}` : ''}</text>`
      );
    })
    .join('');
  const title =
    chart === 'countries'
      ? 'Share of attack traffic by resolver country'
      : 'Top ASNs by share of attack traffic';
  return svgDoc(w, h, title, body, report.dataSources);
}

function fmtQ(v: number): string {
  return v >= 1 ? String(Math.round(v)) : v.toPrecision(2);
}

function svgDoc(w: number, h0: number, title: string, body: string, credits: string[]): string {
  // Credit lines under the chart: CC BY data must be attributed wherever results are shown.
  const h = h0 + credits.length * 14 + 6;
  const foot = credits
    .map(
      (c, i) => `<text x="10" y="${h0 + 14 + i * 14}" font-size="9" fill="#666">${esc(c)}</text>`,
    )
    .join('');
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="sans-serif">` +
    `<rect width="100%" height="100%" fill="#fff"/><text x="10" y="22" font-size="14" font-weight="bold">${esc(title)}</text>${body}${foot}</svg>\n`
  );
}

/** One section as JSON-ready data (the whole report is `report` itself). */
export function sectionData(report: AttackReport, section: ReportSection): unknown {
  switch (section) {
    case 'countries':
      return {
        scope: report.scope,
        totals: report.totals,
        countries: report.countries,
        dataSources: report.dataSources,
      };
    case 'asns':
      return {
        scope: report.scope,
        totals: report.totals,
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
