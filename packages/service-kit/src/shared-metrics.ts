import { Gauge, type Registry } from 'prom-client';
import { type Readiness } from './readiness';

/**
 * Metrics every service exposes under one name (the registry adds the `service` label), so one
 * alert rule and one dashboard panel cover all stages.
 */

/** `sluice_ready` (what /readyz answers, 1 or 0) and `sluice_ready_check{check}`, per check. */
export function registerReadinessMetrics(registry: Registry, readiness: Readiness): void {
  new Gauge({
    name: 'sluice_ready',
    help: '1 when /readyz answers 200 (every check passes), else 0',
    registers: [registry],
    async collect() {
      this.set((await readiness.report()).ready ? 1 : 0);
    },
  });
  new Gauge({
    name: 'sluice_ready_check',
    help: 'Each readiness check of /readyz: 1 passing, 0 failing',
    labelNames: ['check'],
    registers: [registry],
    async collect() {
      const report = await readiness.report();
      this.reset();
      for (const [check, ok] of Object.entries(report.checks)) this.set({ check }, ok ? 1 : 0);
    },
  });
}

export interface ConsumerLagSource {
  snapshot(): readonly { group: string; topic: string; partition: number; lag: number }[];
}

/** `sluice_kafka_consumer_lag{group,topic,partition}` from a ConsumerLagMonitor (@sluice/kafka). */
export function registerConsumerLag(registry: Registry, source: ConsumerLagSource): void {
  new Gauge({
    name: 'sluice_kafka_consumer_lag',
    help: "Messages between a consumer group's committed offset and the partition's end",
    labelNames: ['group', 'topic', 'partition'],
    registers: [registry],
    collect() {
      this.reset();
      for (const r of source.snapshot())
        this.set({ group: r.group, topic: r.topic, partition: String(r.partition) }, r.lag);
    },
  });
}
