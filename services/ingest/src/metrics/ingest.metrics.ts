import { Counter, Gauge, type Registry } from 'prom-client';

/** Prometheus metrics of the ingest; the CLI replay passes its own Registry. */
export class IngestMetrics {
  readonly inputs: Counter<'source'>;
  readonly records: Counter<'source'>;
  readonly malformed: Counter<'reason'>;
  readonly deadLetters: Counter;
  readonly dropped: Counter<'source' | 'reason'>;
  readonly batches: Counter;
  readonly publishFailures: Counter;
  readonly connections: Gauge<'listener'>;
  readonly connectionsClosed: Counter<'listener' | 'reason'>;
  readonly bufferedBatches: Gauge;
  readonly bufferedBytes: Gauge;

  constructor(registry: Registry) {
    const registers = [registry];
    this.inputs = new Counter({
      name: 'sluice_ingest_inputs_total',
      help: 'Frames, packets and datagrams received',
      labelNames: ['source'],
      registers,
    });
    this.records = new Counter({
      name: 'sluice_ingest_records_total',
      help: 'Query records produced',
      labelNames: ['source'],
      registers,
    });
    this.malformed = new Counter({
      name: 'sluice_ingest_malformed_total',
      help: 'Malformed inputs by reason',
      labelNames: ['reason'],
      registers,
    });
    this.deadLetters = new Counter({
      name: 'sluice_ingest_deadletters_total',
      help: 'Malformed inputs sampled to the dead-letter topic',
      registers,
    });
    this.dropped = new Counter({
      name: 'sluice_ingest_dropped_total',
      help: 'Live inputs (dnstap frames, mirrored datagrams) dropped on purpose, by source and reason',
      labelNames: ['source', 'reason'],
      registers,
    });
    this.batches = new Counter({
      name: 'sluice_ingest_batches_total',
      help: 'Query batches handed to the Kafka producer',
      registers,
    });
    this.publishFailures = new Counter({
      name: 'sluice_ingest_publish_failures_total',
      help: 'Batches or dead letters Kafka did not acknowledge',
      registers,
    });
    this.connections = new Gauge({
      name: 'sluice_ingest_connections',
      help: 'Open dnstap connections',
      labelNames: ['listener'],
      registers,
    });
    this.connectionsClosed = new Counter({
      name: 'sluice_ingest_connections_closed_total',
      help: 'dnstap connections closed or refused, by why',
      labelNames: ['listener', 'reason'],
      registers,
    });
    this.bufferedBytes = new Gauge({
      name: 'sluice_ingest_buffered_bytes',
      help: 'Bytes of encoded batches waiting in the producer (in flight included)',
      registers,
    });
    this.bufferedBatches = new Gauge({
      name: 'sluice_ingest_buffered_batches',
      help: 'Batches waiting in the producer',
      registers,
    });
  }
}
