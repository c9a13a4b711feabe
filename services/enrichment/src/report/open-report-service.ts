import { z } from 'zod';
import { reportMaxRows } from '../config/enrichment.config';
import { env, loadConfig, redisConfigFrom, redisEnvShape, type Env } from '@sluice/config';
import { createRedis } from '@sluice/redis';
import { ReportRepository } from './report.repository';
import { ReportService } from './report.service';

const reportEnvSchema = z.object({
  ...redisEnvShape,
  REPORT_BUCKET_SECONDS: env.positiveInt().default(60),
  REPORT_RETENTION_DAYS: env.positiveInt().default(30),
  REPORT_EVIDENCE_PER_RESOLVER: env.positiveInt().default(5),
  REPORT_MAX_RESOLVER_ROWS: reportMaxRows(),
});

/** A ReportService straight on Redis, for `sluice report` (no Kafka, no data files). */
export async function openReportService(
  source: Env = process.env,
): Promise<{ reports: ReportService; close(): Promise<void> }> {
  const e = loadConfig(reportEnvSchema, source);
  const redis = createRedis(redisConfigFrom(e));
  await redis.connect();
  const reports = new ReportService(
    new ReportRepository(redis, {
      bucketSeconds: e.REPORT_BUCKET_SECONDS,
      retentionDays: e.REPORT_RETENTION_DAYS,
      evidencePerResolver: e.REPORT_EVIDENCE_PER_RESOLVER,
      maxRows: e.REPORT_MAX_RESOLVER_ROWS,
    }),
  );
  return {
    reports,
    close: async () => {
      await redis.quit();
    },
  };
}
