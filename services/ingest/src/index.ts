export * from './config/ingest.config';
export * from './core';
export * from './metrics/ingest.metrics';
export * from './publish/query.publisher';
export * from './publish/open-publisher';
export * from './listeners/dnstap.listener';
export * from './listeners/udp-mirror.listener';
export * from './replay';
