export * from './http';
export * from './load-config';
export * from './schemas';
