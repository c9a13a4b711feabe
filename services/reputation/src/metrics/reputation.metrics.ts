import {
  type ConsumerLagSource,
  Counter,
  Gauge,
  type Registry,
  registerConsumerLag,
} from '@sluice/service-kit';
import { type PipelineStats } from '../reputation.pipeline';

/** What the runtime reports to the gauges read at scrape time. */
export interface ReputationObserved {
  /** undefined until the pipeline is built. */
  stats(): PipelineStats | undefined;
  consumerLag: ConsumerLagSource['snapshot'];
}

export type ReputationMetrics = ReturnType<typeof createReputationMetrics>;

/** Every sluice_reputation_* metric (and the shared consumer lag), in one place. */
export function createReputationMetrics(registry: Registry, observed: ReputationObserved) {
  const registers = [registry];
  registerConsumerLag(registry, { snapshot: () => observed.consumerLag() });
  new Gauge({
    name: 'sluice_reputation_pipeline',
    help: 'Pipeline counters since start: records, duplicates, upserts, removed, guards (zone guards started), evicted (subjects past REPUTATION_MAX_SUBJECTS)',
    labelNames: ['counter'],
    registers,
    collect() {
      const s = observed.stats();
      if (!s) return;
      for (const k of ['records', 'duplicates', 'upserts', 'removed', 'guards', 'evicted'] as const)
        this.set({ counter: k }, s[k]);
    },
  });
  new Gauge({
    name: 'sluice_reputation_skipped',
    help: 'Evaluations that produced no entry, by reason',
    labelNames: ['reason'],
    registers,
    collect() {
      for (const [k, v] of Object.entries(observed.stats()?.skipped ?? {}))
        this.set({ reason: k }, v);
    },
  });
  return {
    rpzRequests: new Counter({
      name: 'sluice_reputation_rpz_requests_total',
      help: 'Requests to the RPZ server, by outcome and transport',
      labelNames: ['outcome', 'transport'],
      registers,
    }),
    malformed: new Counter({
      name: 'sluice_reputation_malformed_total',
      help: 'Input records rejected, by reason',
      labelNames: ['reason'],
      registers,
    }),
    blocklistEntries: new Gauge({
      name: 'sluice_reputation_blocklist_entries',
      help: 'Live blocklist entries',
      registers,
    }),
  };
}
