import { type AttackReport } from './report-model';
import { asnText, fmt } from './report-format';

// Self-contained SVG charts of a report: every text from the data is escaped for XML.

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
