import { writeFileSync } from 'node:fs';
import { type Command } from 'commander';
import Table from 'cli-table3';
import {
  type AttackReport,
  forAsn,
  header,
  openReportService,
  renderCsv,
  renderSvg,
  renderText,
  REPORT_SECTIONS,
  reportTables,
  sectionData,
  type ChartKind,
  type ReportSection,
} from '@sluice/enrichment';

interface ReportOptions {
  alert?: string;
  zone?: string;
  from?: string;
  to?: string;
  last?: string;
  format: string;
  section?: string;
  chart: string;
  out?: string;
  api?: string;
  listAlerts?: boolean;
  limit: string;
  asn?: string;
}

/**
 * `sluice report`: who carried an attack — countries, ASNs, qps per resolver, abuse evidence.
 * Reads the aggregates the enrichment service keeps in Redis (REDIS_URL, REDIS_KEY_PREFIX),
 * or asks a running service with --api.
 */
export function register(program: Command): void {
  program
    .command('report')
    .description('attack report for one alert, or for a zone and time range')
    .option('--alert <id>', 'alert id (from sluice.alerts.v1)')
    .option('--zone <zone>', 'target zone (with --from/--to or --last)')
    .option('--from <time>', 'ISO 8601 or epoch ms')
    .option('--to <time>', 'ISO 8601 or epoch ms (default: now)')
    .option('--last <minutes>', 'the last N minutes instead of --from/--to')
    .option('--list-alerts', 'list the alert ids of --zone, newest first')
    .option('-f, --format <format>', 'table | text | json | csv | svg', 'table')
    .option(
      '-s, --section <section>',
      `one of ${REPORT_SECTIONS.join(', ')} (table/text/csv; default all, csv: countries)`,
    )
    .option('-c, --chart <chart>', 'svg chart: countries | asns | qps', 'countries')
    .option('-n, --limit <rows>', 'rows per table', '20')
    .option('--asn <asn>', 'evidence of one network only (e.g. 3356): what its abuse desk gets')
    .option('-o, --out <file>', 'write to a file instead of stdout')
    .option(
      '--api <url>',
      'ask a running enrichment service (e.g. http://127.0.0.1:8083) instead of Redis; its API key from SLUICE_API_KEY',
    )
    .action(async (o: ReportOptions) => {
      const started = Date.now();
      const output = await run(o);
      if (o.out) writeFileSync(o.out, output);
      else process.stdout.write(output);
      process.stderr.write(`report built in ${Date.now() - started} ms\n`);
    });
}

async function run(o: ReportOptions): Promise<string> {
  if (o.api) return fetchFromApi(o);
  const service = await openReportService();
  const { reports } = service;
  try {
    if (o.listAlerts) {
      if (!o.zone) throw new Error('--list-alerts needs --zone');
      return `${(await reports.alertsOfZone(o.zone)).join('\n')}\n`;
    }
    const report = o.alert
      ? await reports.build({ alertId: o.alert })
      : await reports.build({ zone: required(o.zone, '--zone or --alert'), ...range(o) });
    return render(report, o);
  } finally {
    await service.close();
  }
}

function render(built: AttackReport, o: ReportOptions): string {
  const report = o.asn ? forAsn(built, asnNumber(o.asn)) : built;
  const sections = o.section ? [section(o.section)] : REPORT_SECTIONS;
  switch (o.format) {
    case 'json':
      return `${JSON.stringify(o.section ? sectionData(report, section(o.section)) : report, null, 2)}\n`;
    case 'text':
      return renderText(report, sections);
    case 'csv':
      return renderCsv(report, o.section ? section(o.section) : 'countries');
    case 'svg':
      return renderSvg(report, chart(o.chart));
    case 'table': {
      // Colours only on a terminal: files and pipes get plain box drawing.
      const colour = !o.out && process.stdout.isTTY;
      const style = colour
        ? { head: ['cyan'], compact: true }
        : { head: [], border: [], compact: true };
      const out = [header(report)];
      for (const s of sections)
        for (const t of reportTables(report, s, Number(o.limit))) {
          const table = new Table({ head: t.head, style });
          table.push(...t.rows);
          out.push('', t.title, table.toString());
        }
      return `${out.join('\n')}\n`;
    }
    default:
      throw new Error('--format must be table, text, json, csv or svg');
  }
}

async function fetchFromApi(o: ReportOptions): Promise<string> {
  const q = new URLSearchParams();
  if (o.alert) q.set('alert', o.alert);
  else {
    const { from, to } = range(o);
    q.set('zone', required(o.zone, '--zone or --alert'));
    q.set('from', String(from));
    q.set('to', String(to));
  }
  // Tables are drawn here from the JSON; other formats come rendered by the service.
  const format = o.format === 'table' ? 'json' : o.format;
  q.set('format', format);
  // tables and JSON are cut down here (by section and ASN) from the whole report
  if (o.section && format !== 'json') q.set('section', o.section);
  if (o.asn && format !== 'json') q.set('asn', o.asn);
  q.set('chart', o.chart);
  // The key comes from the environment, not an option: command lines are visible in `ps`.
  const key = process.env.SLUICE_API_KEY;
  if (!key)
    throw new Error('--api needs the report API key in SLUICE_API_KEY (one of REPORT_API_KEYS)');
  const res = await fetch(`${o.api!.replace(/\/$/, '')}/report?${q.toString()}`, {
    headers: { 'X-Api-Key': key },
  });
  const body = await res.text();
  if (!res.ok) throw new Error(`${res.status} from ${o.api}: ${body}`);
  return format === 'json' ? render(JSON.parse(body) as AttackReport, o) : body;
}

function range(o: ReportOptions): { from: number; to: number } {
  const to = o.to ? time(o.to, '--to') : Date.now();
  if (o.last) return { from: to - Number(o.last) * 60_000, to };
  return { from: time(required(o.from, '--from or --last'), '--from'), to };
}

function time(v: string, name: string): number {
  const n = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isFinite(n)) throw new Error(`${name} must be ISO 8601 or epoch milliseconds`);
  return n;
}

function required(v: string | undefined, what: string): string {
  if (!v) throw new Error(`give ${what}`);
  return v;
}

function asnNumber(v: string): number {
  const m = /^(?:AS)?(\d+)$/i.exec(v);
  if (!m) throw new Error('--asn must be a number, e.g. 3356 or AS3356');
  return Number(m[1]);
}

function section(v: string): ReportSection {
  if ((REPORT_SECTIONS as readonly string[]).includes(v)) return v as ReportSection;
  throw new Error(`--section must be one of ${REPORT_SECTIONS.join(', ')}`);
}

function chart(v: string): ChartKind {
  if (v === 'countries' || v === 'asns' || v === 'qps') return v;
  throw new Error('--chart must be countries, asns or qps');
}
