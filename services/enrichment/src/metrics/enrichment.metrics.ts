import {
  type ConsumerLagSource,
  Counter,
  Gauge,
  type Registry,
  registerConsumerLag,
} from '@sluice/service-kit';

/** What the runtime reports to the gauges read at scrape time. */
export interface EnrichmentObserved {
  stats(): { lookups: number; cacheHits: number };
  consumerLag: ConsumerLagSource['snapshot'];
}

export type EnrichmentMetrics = ReturnType<typeof createEnrichmentMetrics>;

/** Every sluice_enrichment_* metric (and the shared consumer lag), in one place. */
export function createEnrichmentMetrics(registry: Registry, observed: EnrichmentObserved) {
  const registers = [registry];
  new Gauge({
    name: 'sluice_enrichment_lookups',
    help: 'Enrichment lookups since start (cache hits included)',
    registers,
    collect() {
      this.set(observed.stats().lookups);
    },
  });
  new Gauge({
    name: 'sluice_enrichment_cache_hits',
    help: 'Enrichment lookups answered from the LRU cache since start',
    registers,
    collect() {
      this.set(observed.stats().cacheHits);
    },
  });
  registerConsumerLag(registry, { snapshot: () => observed.consumerLag() });
  return {
    offenders: new Counter({
      name: 'sluice_enrichment_offenders_total',
      help: 'Offender records enriched and published',
      registers,
    }),
    malformed: new Counter({
      name: 'sluice_enrichment_malformed_total',
      help: 'Input messages that did not match their schema, by reason',
      labelNames: ['reason'],
      registers,
    }),
    reportEvicted: new Counter({
      name: 'sluice_enrichment_report_evicted_total',
      help: 'Report rows (a resolver in one alert or zone bucket) evicted by REPORT_MAX_RESOLVER_ROWS',
      registers,
    }),
    mmdbReloads: new Counter({
      name: 'sluice_enrichment_mmdb_reloads_total',
      help: 'Operator MMDB reloads after a change on disk, by role and result',
      labelNames: ['role', 'result'],
      registers,
    }),
  };
}
