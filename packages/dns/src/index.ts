export * from './address';
export * from './network';
export * from './name';
