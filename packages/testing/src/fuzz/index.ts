export { default as fc } from 'fast-check';
export * from './dns-fields';
export * from './mutate';
export * from './runner';
