export * from './config/enrichment.config';
