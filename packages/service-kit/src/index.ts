export * from './bootstrap';
export * from './readiness';
export * from './service-kit.module';
export { Registry, Counter, Gauge, Histogram } from 'prom-client';
export { Logger, PinoLogger, InjectPinoLogger } from 'nestjs-pino';
