export * from './config/reputation.config';
