export * from './api-keys';
export * from './bootstrap';
export * from './http-guard';
export * from './logger';
export * from './readiness';
export * from './service-kit.module';
export * from './shared-metrics';
export { Registry, Counter, Gauge, Histogram, collectDefaultMetrics } from 'prom-client';
export { Logger, PinoLogger, InjectPinoLogger } from 'nestjs-pino';
