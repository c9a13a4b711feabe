import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import {
  defaultMetrics,
  promqlProblems,
  repoRoot,
  seriesIndex,
  sluiceMetrics,
} from './operate-helpers';

const dir = join(repoRoot, 'infra', 'grafana');

interface Target {
  refId: string;
  expr: string;
  datasource?: { type: string; uid: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type: string; uid: string };
  targets?: Target[];
  panels?: Panel[];
}
interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
  __inputs?: unknown;
}

const dashboards = readdirSync(join(dir, 'dashboards'))
  .filter((f) => f.endsWith('.json'))
  .map((f) => ({
    file: f,
    dashboard: JSON.parse(readFileSync(join(dir, 'dashboards', f), 'utf8')) as Dashboard,
  }));
const datasources = (
  parse(readFileSync(join(dir, 'provisioning', 'datasources', 'prometheus.yml'), 'utf8')) as {
    apiVersion: number;
    datasources: { uid: string; type: string; url: string }[];
  }
).datasources;
const providers = (
  parse(readFileSync(join(dir, 'provisioning', 'dashboards', 'sluice.yml'), 'utf8')) as {
    apiVersion: number;
    providers: { type: string; options: { path: string } }[];
  }
).providers;

/** Grafana's own interval macros, replaced by a duration so the PromQL grammar can parse. */
const macros = (expr: string) => expr.replace(/\$__(rate_interval|interval|range)/g, '5m');

describe('infra/grafana', () => {
  it('is provisioned as files: one Prometheus datasource with a fixed uid, one file provider', () => {
    expect(datasources).toHaveLength(1);
    expect(datasources[0]).toMatchObject({ type: 'prometheus', url: 'http://prometheus:9090' });
    expect(providers).toHaveLength(1);
    expect(providers[0]!.type).toBe('file');
    expect(dashboards.length).toBeGreaterThan(0);
  });

  it('the dashboard files load as they are: plain dashboard JSON, no import-time inputs, unique ids, a layout on the 24-column grid', () => {
    for (const { file, dashboard } of dashboards) {
      expect(`${file}: ${typeof dashboard.uid}`).toBe(`${file}: string`);
      expect(dashboard.uid).toMatch(/^[a-zA-Z0-9_-]{1,40}$/);
      expect(dashboard.title).toBeTruthy();
      expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
      // An exported dashboard with __inputs / ${DS_…} only loads through the import UI.
      expect(dashboard.__inputs).toBeUndefined();
      expect(JSON.stringify(dashboard)).not.toContain('${DS_');
      const all = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
      const ids = all.map((p) => p.id);
      expect(new Set(ids).size).toBe(ids.length);
      const cells = new Set<string>();
      for (const p of all) {
        expect(['row', 'timeseries', 'stat', 'table', 'gauge', 'bargauge']).toContain(p.type);
        const g = p.gridPos;
        expect(g.x + g.w).toBeLessThanOrEqual(24);
        for (let x = g.x; x < g.x + g.w; x++)
          for (let y = g.y; y < g.y + g.h; y++) {
            const cell = `${x},${y}`;
            if (cells.has(cell)) throw new Error(`${file}: panel "${p.title}" overlaps another`);
            cells.add(cell);
          }
      }
    }
  });

  it('every query goes to the provisioned datasource and uses only metrics and labels the services define', async () => {
    const index = seriesIndex([...sluiceMetrics(), ...(await defaultMetrics())]);
    const uid = datasources[0]!.uid;
    const problems: string[] = [];
    let queries = 0;
    for (const { file, dashboard } of dashboards)
      for (const p of dashboard.panels.flatMap((q) => [q, ...(q.panels ?? [])])) {
        if (p.type === 'row') continue;
        expect(p.targets?.length).toBeGreaterThan(0);
        if (p.datasource?.uid !== uid) problems.push(`${file} "${p.title}": panel datasource`);
        for (const t of p.targets ?? []) {
          queries++;
          if (t.datasource && t.datasource.uid !== uid)
            problems.push(`${file} "${p.title}" ${t.refId}: datasource ${t.datasource.uid}`);
          for (const problem of promqlProblems(macros(t.expr), index))
            problems.push(`${file} "${p.title}" ${t.refId}: ${problem}`);
        }
      }
    expect(problems).toEqual([]);
    expect(queries).toBeGreaterThan(10);
  });

  it('shows the views operators asked for: attacks, per-stage throughput, lag, drops, readiness', () => {
    const overview = dashboards.find((d) => d.dashboard.uid === 'sluice-overview')!.dashboard;
    const rows = overview.panels.filter((p) => p.type === 'row').map((p) => p.title);
    expect(rows).toEqual([
      'Attacks and mitigation',
      'Throughput per stage',
      'Lag',
      'Drops and bad input',
      'Readiness',
    ]);
    const exprs = overview.panels.flatMap((p) => p.targets ?? []).map((t) => t.expr);
    for (const metric of [
      'sluice_detector_active_alerts',
      'sluice_ingest_records_total',
      'sluice_detector_events_total',
      'sluice_enrichment_offenders_total',
      'sluice_kafka_consumer_lag',
      'sluice_ingest_dropped_total',
      'sluice_ingest_malformed_total',
      'sluice_ready',
    ])
      expect(exprs.some((e) => e.includes(metric))).toBe(true);
  });
});
