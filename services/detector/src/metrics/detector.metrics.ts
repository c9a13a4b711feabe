import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type DetectorMetrics = ReturnType<typeof createDetectorMetrics>;

/** Every sluice_detector_* metric, in one place. */
export function createDetectorMetrics(registry?: Registry) {
  const registers = registry ? [registry] : [];
  return {
    events: new Counter({
      name: 'sluice_detector_events_total',
      help: 'Query events consumed',
      registers,
    }),
    late: new Counter({
      name: 'sluice_detector_late_events_total',
      help: 'Events older than their zone watermark (counted in the oldest open tick)',
      registers,
    }),
    malformed: new Counter({
      name: 'sluice_detector_malformed_total',
      help: 'Undecodable query batches, by reason',
      labelNames: ['reason'],
      registers,
    }),
    alerts: new Counter({
      name: 'sluice_detector_alerts_total',
      help: 'Alert lifecycle messages published',
      labelNames: ['phase'],
      registers,
    }),
    activeAlerts: new Gauge({
      name: 'sluice_detector_active_alerts',
      help: 'Attacks currently active',
      registers,
    }),
    zones: new Gauge({
      name: 'sluice_detector_zones',
      help: 'Zones with state on this instance',
      registers,
    }),
    partitions: new Gauge({
      name: 'sluice_detector_partitions',
      help: 'Query partitions assigned',
      registers,
    }),
    checkpointBytes: new Gauge({
      name: 'sluice_detector_checkpoint_bytes',
      help: 'Size of the last checkpoint',
      labelNames: ['partition'],
      registers,
    }),
    crashes: new Counter({
      name: 'sluice_detector_consumer_crashes_total',
      help: 'Kafka consumer crashes (each followed by a restart or rebuild)',
      registers,
    }),
    batchSeconds: new Histogram({
      name: 'sluice_detector_batch_seconds',
      help: 'Time to process one Kafka batch',
      buckets: [0.001, 0.005, 0.02, 0.1, 0.5, 2],
      registers,
    }),
  };
}
