import { ErrorCodes, SluiceError } from '@sluice/contracts';
import { buildReport } from '../core/report';
import { type AttackReport } from '../core/report-model';
import { type ReportRepository } from './report.repository';

export type ReportQuery = { alertId: string } | { zone: string; from: number; to: number };

/** Turns stored aggregates into an AttackReport; shared by the HTTP endpoint and `sluice report`. */
export class ReportService {
  constructor(private readonly repository: ReportRepository) {}

  async build(query: ReportQuery): Promise<AttackReport> {
    if ('alertId' in query) {
      const [alert, { rows, evicted }, dataSources] = await Promise.all([
        this.repository.alert(query.alertId),
        this.repository.aggregatesForAlert(query.alertId),
        this.repository.dataSources(),
      ]);
      if (!alert && rows.length === 0 && evicted.rows === 0)
        throw new SluiceError(
          ErrorCodes.notFound,
          `no report data for alert ${query.alertId}: check the id (sluice report --zone Z lists alerts) or the retention`,
        );
      return buildReport(rows, {
        scope: { kind: 'alert', alertId: query.alertId, zone: alert?.zone ?? null },
        alert,
        dataSources,
        evicted,
      });
    }
    if (!(query.to > query.from))
      throw new SluiceError(
        ErrorCodes.config,
        `time range is empty: from ${query.from} must be before to ${query.to}`,
      );
    const { rows, evicted } = await this.repository.aggregatesForZone(
      query.zone,
      query.from,
      query.to,
    );
    return buildReport(rows, {
      scope: { kind: 'zone', zone: query.zone, from: query.from, to: query.to },
      evicted,
    });
  }

  alertsOfZone(zone: string, from?: number, to?: number): Promise<string[]> {
    return this.repository.alertsOfZone(zone, from, to);
  }
}
