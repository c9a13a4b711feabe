import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import {
  defaultMetrics,
  promqlProblems,
  repoRoot,
  run,
  seriesIndex,
  sluiceMetrics,
  type MetricDef,
} from './operate-helpers';

const dir = join(repoRoot, 'infra', 'prometheus');
const rulesFile = join(dir, 'rules', 'sluice.rules.yml');

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
const rules = (
  parse(readFileSync(rulesFile, 'utf8')) as { groups: { rules: Rule[] }[] }
).groups.flatMap((g) => g.rules);

/**
 * promtool is Debian's `prometheus` package (.ci/run installs it). These tests check the files
 * the way Prometheus will load them, and that they speak of metrics the code really defines.
 */
describe('infra/prometheus', () => {
  let metrics: MetricDef[];

  beforeAll(async () => {
    metrics = [...sluiceMetrics(), ...(await defaultMetrics())];
  });

  it('promtool accepts the scrape configuration and the rule files it loads', async () => {
    const { stdout } = await run('promtool', ['check', 'config', join(dir, 'prometheus.yml')]);
    expect(stdout).toContain('SUCCESS');
    // check config also checks rule_files; say so explicitly for the rules file.
    const rulesCheck = await run('promtool', ['check', 'rules', rulesFile]);
    expect(rulesCheck.stdout).toContain(`SUCCESS: ${rules.length} rules found`);
  });

  it('scrapes each service and the console on its HTTP_PORT default', () => {
    const config = parse(readFileSync(join(dir, 'prometheus.yml'), 'utf8')) as {
      scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
    };
    const targets = Object.fromEntries(
      config.scrape_configs.map((c) => [c.job_name, c.static_configs.flatMap((s) => s.targets)]),
    );
    expect(targets).toEqual({
      'sluice-ingest': ['ingest:8081'],
      'sluice-detector': ['detector:8082'],
      'sluice-enrichment': ['enrichment:8083'],
      'sluice-reputation': ['reputation:8084'],
      'sluice-console': ['console:8085'],
    });
  });

  it('every metric and label an alert rule uses is one the services define', () => {
    const index = seriesIndex(metrics);
    const problems = rules.flatMap((r) =>
      promqlProblems(r.expr, index).map((p) => `${r.alert}: ${p}`),
    );
    expect(problems).toEqual([]);
  });

  it('covers what operators asked for: an attack, lag, drops and bad input, a stage not ready or down', () => {
    const uses = (alert: string, metric: string) =>
      rules.find((r) => r.alert === alert)?.expr.includes(metric) ?? false;
    expect(uses('SluiceAttackStarted', 'sluice_detector_active_alerts')).toBe(true);
    expect(uses('SluiceAttackStarted', 'sluice_detector_alerts_total')).toBe(true);
    expect(uses('SluiceConsumerLagHigh', 'sluice_kafka_consumer_lag')).toBe(true);
    expect(uses('SluiceIngestDropping', 'sluice_ingest_dropped_total')).toBe(true);
    expect(uses('SluiceMalformedInput', 'sluice_ingest_malformed_total')).toBe(true);
    expect(uses('SluiceStageNotReady', 'sluice_ready')).toBe(true);
    expect(uses('SluiceStageDown', 'up')).toBe(true);
    for (const r of rules) {
      expect(['critical', 'warning']).toContain(r.labels?.severity);
      expect(r.annotations?.summary).toBeTruthy();
    }
  });

  /**
   * `promtool test rules`: each alert fires on the series it is about, with the labels a
   * receiver routes on, and stays quiet on healthy series. Annotations use $labels only, so the
   * expected text is the rule's own template with the labels filled in.
   */
  it('each alert fires on its series and not on healthy ones (promtool test rules)', async () => {
    const job = (service: string, port: number) => ({
      service,
      job: `sluice-${service}`,
      instance: `${service}:${port}`,
    });
    const ingest = job('ingest', 8081);
    const detector = job('detector', 8082);
    const enrichment = job('enrichment', 8083);
    const series = (name: string, labels: Record<string, string>, values: string) => ({
      series: `${name}{${Object.entries(labels)
        .map(([k, v]) => `${k}="${v}"`)
        .join(',')}}`,
      values,
    });
    const lag = { group: 'sluice-detector', topic: 'sluice.queries.v1' };
    const cases: {
      alert: string;
      input: ReturnType<typeof series>[];
      at: string;
      expect: Record<string, string>[];
    }[] = [
      {
        alert: 'SluiceAttackStarted',
        input: [series('sluice_detector_active_alerts', detector, '0 0 1 1 1 1 1 1')],
        at: '5m',
        expect: [{ service: 'detector' }],
      },
      {
        alert: 'SluiceAttackStarted',
        input: [series('sluice_detector_active_alerts', detector, '0x10')],
        at: '8m',
        expect: [],
      },
      {
        alert: 'SluiceConsumerLagHigh',
        input: [
          series('sluice_kafka_consumer_lag', { ...detector, ...lag, partition: '0' }, '9000x10'),
          series('sluice_kafka_consumer_lag', { ...detector, ...lag, partition: '1' }, '2000x10'),
        ],
        at: '6m',
        expect: [{ service: 'detector', ...lag }],
      },
      {
        alert: 'SluiceConsumerLagHigh',
        input: [
          series('sluice_kafka_consumer_lag', { ...detector, ...lag, partition: '0' }, '9000x10'),
        ],
        at: '6m',
        expect: [],
      },
      {
        alert: 'SluiceConsumerLagGrowing',
        input: [
          series(
            'sluice_kafka_consumer_lag',
            { ...detector, ...lag, partition: '0' },
            '1000+100x30',
          ),
        ],
        at: '25m',
        expect: [{ service: 'detector', ...lag }],
      },
      {
        alert: 'SluiceConsumerLagGrowing',
        input: [
          series(
            'sluice_kafka_consumer_lag',
            { ...detector, ...lag, partition: '0' },
            '5000-100x30',
          ),
        ],
        at: '25m',
        expect: [],
      },
      {
        alert: 'SluiceDetectorConsumerCrashed',
        input: [series('sluice_detector_consumer_crashes_total', detector, '0 0 0 1 1 1')],
        at: '5m',
        expect: [detector],
      },
      {
        alert: 'SluiceIngestPublishFailures',
        input: [series('sluice_ingest_publish_failures_total', ingest, '0 0 0 4 4 4')],
        at: '5m',
        expect: [ingest],
      },
      {
        alert: 'SluiceIngestBacklog',
        input: [series('sluice_ingest_buffered_batches', ingest, '180x10')],
        at: '6m',
        expect: [ingest],
      },
      {
        alert: 'SluiceIngestNoInput',
        input: [
          series(
            'sluice_ingest_inputs_total',
            { ...ingest, source: 'dnstap-unix' },
            '0+600x5 3000x20',
          ),
        ],
        at: '20m',
        expect: [{ service: 'ingest', instance: ingest.instance }],
      },
      {
        alert: 'SluiceIngestNoInput',
        input: [
          series('sluice_ingest_inputs_total', { ...ingest, source: 'dnstap-unix' }, '0+600x25'),
        ],
        at: '20m',
        expect: [],
      },
      {
        alert: 'SluiceIngestDropping',
        input: [
          series('sluice_ingest_dropped_total', { ...ingest, reason: 'backpressure' }, '0+60x10'),
        ],
        at: '8m',
        expect: [{ service: 'ingest', instance: ingest.instance, reason: 'backpressure' }],
      },
      {
        alert: 'SluiceMalformedInput',
        input: [
          series('sluice_ingest_inputs_total', { ...ingest, source: 'dnstap-tcp' }, '0+1000x20'),
          series(
            'sluice_ingest_malformed_total',
            { ...ingest, reason: 'dns-truncated' },
            '0+50x20',
          ),
        ],
        at: '16m',
        expect: [{ service: 'ingest', instance: ingest.instance }],
      },
      {
        alert: 'SluiceMalformedInput',
        input: [
          series('sluice_ingest_inputs_total', { ...ingest, source: 'dnstap-tcp' }, '0+1000x20'),
          series('sluice_ingest_malformed_total', { ...ingest, reason: 'dns-truncated' }, '0+5x20'),
        ],
        at: '16m',
        expect: [],
      },
      {
        alert: 'SluiceLateEvents',
        input: [
          series('sluice_detector_events_total', detector, '0+10000x20'),
          series('sluice_detector_late_events_total', detector, '0+500x20'),
        ],
        at: '16m',
        expect: [{ service: 'detector' }],
      },
      {
        alert: 'SluiceBadInput',
        input: [
          series(
            'sluice_enrichment_malformed_total',
            { ...enrichment, reason: 'schema' },
            '0+3x10',
          ),
        ],
        at: '8m',
        expect: [{ service: 'enrichment', reason: 'schema' }],
      },
      {
        alert: 'SluiceStageNotReady',
        input: [series('sluice_ready', detector, '1 1 0 0 0 0 0')],
        at: '5m',
        expect: [detector],
      },
      {
        alert: 'SluiceStageNotReady',
        input: [series('sluice_ready', detector, '1 1 0 1 1 1 1')],
        at: '5m',
        expect: [],
      },
      {
        alert: 'SluiceStageDown',
        input: [
          series('up', { job: 'sluice-reputation', instance: 'reputation:8084' }, '1 0 0 0 0'),
        ],
        at: '4m',
        expect: [{ job: 'sluice-reputation', instance: 'reputation:8084' }],
      },
    ];
    // Every alert has at least one firing case.
    expect(new Set(cases.filter((c) => c.expect.length).map((c) => c.alert))).toEqual(
      new Set(rules.map((r) => r.alert)),
    );

    const render = (template: string, labels: Record<string, string>) => {
      const out = template.replace(
        /\{\{\s*\$labels\.(\w+)\s*\}\}/g,
        (_, l: string) => labels[l] ?? '',
      );
      if (out.includes('{{')) throw new Error(`template beyond $labels: ${template}`);
      return out;
    };
    const tmp = mkdtempSync(join(tmpdir(), 'sluice-promtool-'));
    try {
      const testFile = join(tmp, 'sluice.rules.test.yml');
      writeFileSync(
        testFile,
        stringify({
          rule_files: [rulesFile],
          evaluation_interval: '1m',
          tests: cases.map((c) => {
            const rule = rules.find((r) => r.alert === c.alert)!;
            return {
              interval: '1m',
              input_series: c.input,
              alert_rule_test: [
                {
                  eval_time: c.at,
                  alertname: c.alert,
                  exp_alerts: c.expect.map((labels) => {
                    const all = { ...labels, ...rule.labels };
                    return {
                      exp_labels: all,
                      exp_annotations: Object.fromEntries(
                        Object.entries(rule.annotations ?? {}).map(([k, v]) => [k, render(v, all)]),
                      ),
                    };
                  }),
                },
              ],
            };
          }),
        }),
      );
      const result = await run('promtool', ['test', 'rules', testFile]).catch(
        (e: { stdout?: string; stderr?: string }) => ({ stdout: `${e.stdout}\n${e.stderr}` }),
      );
      expect(result.stdout).toContain('SUCCESS');
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
