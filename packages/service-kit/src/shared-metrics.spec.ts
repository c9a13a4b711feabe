import { Registry } from 'prom-client';
import { Readiness } from './readiness';
import { registerConsumerLag, registerReadinessMetrics } from './shared-metrics';

describe('shared metrics', () => {
  it('sluice_ready follows /readyz, and each check has its own series', async () => {
    const registry = new Registry();
    const readiness = new Readiness();
    let kafkaUp = true;
    readiness.register('kafka', () => kafkaUp);
    registerReadinessMetrics(registry, readiness);

    let text = await registry.metrics();
    expect(text).toMatch(/^sluice_ready 1$/m);
    expect(text).toMatch(/^sluice_ready_check\{check="kafka"\} 1$/m);

    kafkaUp = false;
    text = await registry.metrics();
    expect(text).toMatch(/^sluice_ready 0$/m);
    expect(text).toMatch(/^sluice_ready_check\{check="kafka"\} 0$/m);
    expect(text).toMatch(/^sluice_ready_check\{check="notShuttingDown"\} 1$/m);
  });

  it('sluice_kafka_consumer_lag shows the latest snapshot only', async () => {
    const registry = new Registry();
    let rows = [
      { group: 'g', topic: 't', partition: 0, lag: 7 },
      { group: 'g', topic: 't', partition: 1, lag: 0 },
    ];
    registerConsumerLag(registry, { snapshot: () => rows });
    let text = await registry.metrics();
    expect(text).toMatch(/^sluice_kafka_consumer_lag\{group="g",topic="t",partition="0"\} 7$/m);
    rows = [];
    text = await registry.metrics();
    expect(text).not.toMatch(/^sluice_kafka_consumer_lag\{/m);
  });
});
