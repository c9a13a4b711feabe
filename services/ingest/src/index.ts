export * from './config/ingest.config';
