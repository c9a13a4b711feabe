/** What the console shows per pipeline stage, from its /readyz and /metrics. */
export interface StageHealth {
  name: string;
  url: string;
  /** null: the stage did not answer. */
  ready: boolean | null;
  checks: Record<string, boolean>;
  /** Sum of `sluice_kafka_consumer_lag` over partitions, per consumer group; null when not exposed. */
  lag: Record<string, number> | null;
  /** Bad input (`sluice_<service>_malformed_total`), summed. */
  badInput: number | null;
  /** Dropped or failed (`*_dropped_total`, `*_deadletters_total`, `*_publish_failures_total`). */
  drops: number | null;
  error: string | null;
  checkedAt: number;
}

// The names before the rename to *_malformed_total too, for a stage still on an older release.
const BAD_INPUT = /_(malformed|bad_input|bad_records|bad_messages)_total$/;
const DROPS = /_(dropped|deadletters|publish_failures)_total$/;

/** Prometheus text exposition → the few numbers the console shows. Unknown lines are skipped. */
export function summariseMetrics(text: string): Pick<StageHealth, 'lag' | 'badInput' | 'drops'> {
  let lag: Record<string, number> | null = null;
  let badInput: number | null = null;
  let drops: number | null = null;
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const name = m[1]!;
    const value = Number(m[3]);
    if (!Number.isFinite(value)) continue;
    if (name === 'sluice_kafka_consumer_lag') {
      const group = /(?:^|[{,])group="((?:[^"\\]|\\.)*)"/.exec(m[2] ?? '')?.[1] ?? '';
      lag ??= {};
      lag[group] = (lag[group] ?? 0) + value;
    } else if (BAD_INPUT.test(name)) badInput = (badInput ?? 0) + value;
    else if (DROPS.test(name)) drops = (drops ?? 0) + value;
  }
  return { lag, badInput, drops };
}

export function parseReadyz(body: unknown): Pick<StageHealth, 'ready' | 'checks'> {
  const b = body as { ready?: unknown; checks?: unknown } | null;
  const checks: Record<string, boolean> = {};
  if (b && typeof b.checks === 'object' && b.checks !== null)
    for (const [k, v] of Object.entries(b.checks)) checks[k] = v === true;
  return { ready: b?.ready === true, checks };
}
