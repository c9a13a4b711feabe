import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import type * as LezerPromql from '@prometheus-io/lezer-promql' with {
  'resolution-mode': 'import',
};
import ts from 'typescript';
import { collectDefaultMetrics, Registry } from '@sluice/service-kit';
import { repoRoot } from '@sluice/testing';
import { consoleConfigSchema } from '../../../services/console/src/config/console.config';
import { detectorConfigSchema } from '../../../services/detector/src/config/detector.config';
import { enrichmentConfigSchema } from '../../../services/enrichment/src/config/enrichment.config';
import { ingestConfigSchema } from '../../../services/ingest/src/config/ingest.config';
import { reputationConfigSchema } from '../../../services/reputation/src/config/reputation.config';

// The grammar ships as an ES module with a CommonJS build; jest runs CommonJS.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { parser: promqlParser } = require('@prometheus-io/lezer-promql') as typeof LezerPromql;

export { repoRoot };
export const run = promisify(execFile);

/** The pipeline's four stages and the operator's console: every program with its own config and metrics. */
export const services = ['ingest', 'detector', 'enrichment', 'reputation', 'console'] as const;
export type ServiceName = (typeof services)[number];

/** The part of a zod object schema these tests use. */
export interface EnvSchema {
  shape: Record<string, unknown>;
  safeParse(input: unknown): {
    success: boolean;
    error?: { issues: { path: PropertyKey[]; message: string }[] };
  };
}

/** Each service's one config schema: the env names it reads, and what values it accepts. */
export const configSchemas: Record<ServiceName, EnvSchema> = {
  ingest: ingestConfigSchema,
  detector: detectorConfigSchema,
  enrichment: enrichmentConfigSchema,
  reputation: reputationConfigSchema,
  console: consoleConfigSchema,
};

/** Each service's HTTP_PORT default, read from its schema: /healthz, /readyz, /metrics (and the console's page). */
export const httpPorts = Object.fromEntries(
  services.map((s) => [
    s,
    (configSchemas[s].shape.HTTP_PORT as { parse(v: unknown): number }).parse(undefined),
  ]),
) as Record<ServiceName, number>;

export function envNames(service: ServiceName): Set<string> {
  return new Set(Object.keys(configSchemas[service].shape));
}

/** Read by Node itself, not by a Sluice config schema; allowed in manifests. */
export const runtimeEnv = new Set(['NODE_OPTIONS', 'NODE_ENV']);

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary';

export interface MetricDef {
  name: string;
  type: MetricType;
  labels: string[];
  help: string;
  /** Service that exposes it, or 'all' (packages/service-kit: every service). */
  service: ServiceName | 'all';
  file: string;
}

const metricClasses: Record<string, MetricType> = {
  Counter: 'counter',
  Gauge: 'gauge',
  Histogram: 'histogram',
  Summary: 'summary',
};

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (entry.endsWith('.ts') && !entry.endsWith('.spec.ts') && !entry.endsWith('.d.ts'))
      out.push(path);
  }
  return out;
}

function stringProp(obj: ts.ObjectLiteralExpression, key: string): string | null {
  for (const p of obj.properties)
    if (ts.isPropertyAssignment(p) && p.name.getText() === key) {
      if (ts.isStringLiteralLike(p.initializer)) return p.initializer.text;
      throw new Error(`${key} of a metric is not a string literal: ${p.getText()}`);
    }
  return null;
}

function labelNamesProp(obj: ts.ObjectLiteralExpression): string[] {
  for (const p of obj.properties)
    if (ts.isPropertyAssignment(p) && p.name.getText() === 'labelNames') {
      if (!ts.isArrayLiteralExpression(p.initializer))
        throw new Error(`labelNames is not an array literal: ${p.getText()}`);
      return p.initializer.elements.map((e) => {
        if (!ts.isStringLiteralLike(e)) throw new Error(`label is not a literal: ${e.getText()}`);
        return e.text;
      });
    }
  return [];
}

/**
 * Every prom-client metric the services define, read from the source (`new Counter({ name, … })`
 * and friends, in services/*\/src and packages/service-kit): renaming a metric in code changes
 * this list, so rules, dashboards and docs that still use the old name fail their tests.
 */
export function sluiceMetrics(): MetricDef[] {
  const roots: { dir: string; service: ServiceName | 'all' }[] = [
    ...services.map((s) => ({ dir: join(repoRoot, 'services', s, 'src'), service: s })),
    { dir: join(repoRoot, 'packages', 'service-kit', 'src'), service: 'all' as const },
  ];
  const defs: MetricDef[] = [];
  for (const { dir, service } of roots) {
    for (const file of sourceFiles(dir)) {
      const text = readFileSync(file, 'utf8');
      if (!/prom-client|@sluice\/service-kit/.test(text)) continue;
      const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
      const visit = (node: ts.Node): void => {
        if (
          ts.isNewExpression(node) &&
          ts.isIdentifier(node.expression) &&
          node.expression.text in metricClasses &&
          node.arguments?.[0] &&
          ts.isObjectLiteralExpression(node.arguments[0])
        ) {
          const obj = node.arguments[0];
          const name = stringProp(obj, 'name');
          if (name)
            defs.push({
              name,
              type: metricClasses[node.expression.text]!,
              labels: labelNamesProp(obj),
              help: stringProp(obj, 'help') ?? '',
              service,
              file: relative(repoRoot, file),
            });
        }
        ts.forEachChild(node, visit);
      };
      visit(sf);
    }
  }
  return defs;
}

/** prom-client's process_* and nodejs_* metrics, which every service registers too. */
export async function defaultMetrics(): Promise<MetricDef[]> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const json = await registry.getMetricsAsJSON();
  return json.map((m) => ({
    name: m.name,
    type: String(m.type) as MetricType,
    labels: [...new Set(m.values.flatMap((v) => Object.keys(v.labels)))].filter(
      (l) => l !== 'le' && l !== 'quantile',
    ),
    help: m.help,
    service: 'all' as const,
    file: 'prom-client collectDefaultMetrics',
  }));
}

/** Labels every scraped series may carry besides its own: the registry's and Prometheus'. */
export const targetLabels = ['service', 'job', 'instance', 'namespace', 'pod'];

/** Series names a metric produces, each with the labels it may carry. */
export function seriesIndex(defs: readonly MetricDef[]): Map<string, Set<string>> {
  const index = new Map<string, Set<string>>();
  const add = (name: string, labels: string[]) =>
    index.set(name, new Set([...labels, ...targetLabels]));
  for (const d of defs) {
    if (d.type === 'histogram') {
      add(`${d.name}_bucket`, [...d.labels, 'le']);
      add(`${d.name}_sum`, d.labels);
      add(`${d.name}_count`, d.labels);
    } else if (d.type === 'summary') {
      add(d.name, [...d.labels, 'quantile']);
      add(`${d.name}_sum`, d.labels);
      add(`${d.name}_count`, d.labels);
    } else add(d.name, d.labels);
  }
  // Made by Prometheus for every target, not by the services.
  add('up', []);
  return index;
}

export interface PromqlUse {
  metric: string;
  labels: string[];
}

/**
 * Parses a PromQL expression (the Prometheus UI's own grammar) and returns its syntax errors,
 * the metrics it selects with the label names it matches on, and the labels each aggregation
 * groups by with the metrics underneath it.
 */
export function analysePromql(expr: string): {
  errors: string[];
  selectors: PromqlUse[];
  groupings: { labels: string[]; metrics: string[] }[];
} {
  const tree = promqlParser.parse(expr);
  const errors: string[] = [];
  const selectors: PromqlUse[] = [];
  const groupings: { labels: string[]; metrics: string[] }[] = [];
  const text = (from: number, to: number) => expr.slice(from, to);
  const cursor = tree.cursor();
  do {
    if (cursor.type.isError)
      errors.push(`syntax error at ${cursor.from}: "${text(cursor.from, cursor.from + 20)}"`);
  } while (cursor.next());

  tree.iterate({
    enter(node) {
      if (node.name === 'VectorSelector') {
        const id = node.node.getChild('Identifier');
        const labels: string[] = [];
        const matchers = node.node.getChild('LabelMatchers');
        for (const m of matchers?.getChildren('UnquotedLabelMatcher') ?? []) {
          const l = m.getChild('LabelName');
          if (l) labels.push(text(l.from, l.to));
        }
        if (id) selectors.push({ metric: text(id.from, id.to), labels });
        else errors.push(`selector without a metric name: ${text(node.from, node.to)}`);
      }
      if (node.name === 'AggregateExpr') {
        const labelsNode = node.node.getChild('AggregateModifier')?.getChild('GroupingLabels');
        if (!labelsNode) return;
        const labels = labelsNode.getChildren('LabelName').map((l) => text(l.from, l.to));
        const metrics: string[] = [];
        const inner = node.node.getChild('FunctionCallBody');
        if (inner)
          promqlParser.parse(text(inner.from, inner.to)).iterate({
            enter(n) {
              if (n.name === 'VectorSelector') {
                const id = n.node.getChild('Identifier');
                if (id) metrics.push(text(inner.from + id.from, inner.from + id.to));
              }
            },
          });
        groupings.push({ labels, metrics });
      }
    },
  });
  return { errors, selectors, groupings };
}

/** Problems of one expression against the metrics the code defines (empty = fine). */
export function promqlProblems(expr: string, index: Map<string, Set<string>>): string[] {
  const { errors, selectors, groupings } = analysePromql(expr);
  const problems = [...errors];
  for (const s of selectors) {
    const labels = index.get(s.metric);
    if (!labels) {
      problems.push(`metric ${s.metric} is defined by no service`);
      continue;
    }
    for (const l of s.labels) if (!labels.has(l)) problems.push(`${s.metric} has no label ${l}`);
  }
  for (const g of groupings)
    for (const l of g.labels)
      if (!g.metrics.some((m) => index.get(m)?.has(l)))
        problems.push(`grouping by ${l}, which none of ${g.metrics.join(', ')} has`);
  return problems;
}
