import {
  BadRequestException,
  Controller,
  Get,
  Inject,
  NotFoundException,
  Query,
  Res,
} from '@nestjs/common';
import { ErrorCodes, SluiceError } from '@sluice/contracts';
import { renderCsv } from '../core/report-csv';
import { type AttackReport } from '../core/report-model';
import {
  forAsn,
  sectionData,
  renderText,
  REPORT_SECTIONS,
  type ReportSection,
} from '../core/report-render';
import { type ChartKind, renderSvg } from '../core/report-svg';
import { ReportService, type ReportQuery } from './report.service';

interface HeaderSink {
  setHeader(name: string, value: string): void;
}

/**
 * GET /report?alert=ID or ?zone=Z&from=T&to=T (ISO 8601 or epoch ms)
 *   &format=json|text|csv|svg  &section=countries|asns|qps|evidence  &chart=countries|asns|qps (svg)
 *   &asn=N (evidence of one network only: what its abuse desk gets)
 */
@Controller('report')
export class ReportController {
  constructor(@Inject(ReportService) private readonly reports: ReportService) {}

  @Get()
  async report(
    @Query() q: Record<string, string | undefined>,
    @Res({ passthrough: true }) res: HeaderSink,
  ): Promise<AttackReport | string> {
    const built = await this.build(parseQuery(q));
    const report = q.asn ? forAsn(built, parseAsn(q.asn)) : built;
    const format = q.format ?? 'json';
    switch (format) {
      case 'json':
        return q.section ? (sectionData(report, section(q.section)) as AttackReport) : report;
      case 'text':
        res.setHeader('content-type', 'text/plain; charset=utf-8');
        return renderText(report, q.section ? [section(q.section)] : REPORT_SECTIONS);
      case 'csv': {
        const s = section(q.section ?? 'countries');
        res.setHeader('content-type', 'text/csv; charset=utf-8');
        res.setHeader('content-disposition', `attachment; filename="sluice-report-${s}.csv"`);
        return renderCsv(report, s);
      }
      case 'svg':
        res.setHeader('content-type', 'image/svg+xml');
        return renderSvg(report, chart(q.chart ?? 'countries'));
      default:
        throw new BadRequestException('format must be json, text, csv or svg');
    }
  }

  @Get('alerts')
  async alerts(@Query('zone') zone?: string): Promise<{ zone: string; alerts: string[] }> {
    if (!zone) throw new BadRequestException('zone is required');
    return { zone, alerts: await this.reports.alertsOfZone(zone) };
  }

  private async build(query: ReportQuery): Promise<AttackReport> {
    try {
      return await this.reports.build(query);
    } catch (error) {
      if (error instanceof SluiceError && error.code === ErrorCodes.notFound)
        throw new NotFoundException(error.message);
      if (error instanceof SluiceError && error.code === ErrorCodes.config)
        throw new BadRequestException(error.message);
      throw error;
    }
  }
}

export function parseTime(v: string, name: string): number {
  const n = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isFinite(n))
    throw new BadRequestException(`${name} must be ISO 8601 or epoch milliseconds`);
  return n;
}

function parseQuery(q: Record<string, string | undefined>): ReportQuery {
  if (q.alert) return { alertId: q.alert };
  if (q.zone && q.from && q.to)
    return { zone: q.zone, from: parseTime(q.from, 'from'), to: parseTime(q.to, 'to') };
  throw new BadRequestException('give alert=ID, or zone, from and to');
}

function parseAsn(v: string): number {
  const m = /^(?:AS)?(\d+)$/i.exec(v);
  if (!m) throw new BadRequestException('asn must be a number, e.g. 3356 or AS3356');
  return Number(m[1]);
}

function section(v: string): ReportSection {
  if ((REPORT_SECTIONS as readonly string[]).includes(v)) return v as ReportSection;
  throw new BadRequestException(`section must be one of ${REPORT_SECTIONS.join(', ')}`);
}

function chart(v: string): ChartKind {
  if (v === 'countries' || v === 'asns' || v === 'qps') return v;
  throw new BadRequestException('chart must be countries, asns or qps');
}
