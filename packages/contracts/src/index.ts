export * from './topics';
export * from './errors';
export * from './query';
export * from './messages';
export * from './codec';
export * from './query-batch-codec';
export * from './query-batch-columns';
export * from './offender-codec';
