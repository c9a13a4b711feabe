export * from './config/detector.config';
