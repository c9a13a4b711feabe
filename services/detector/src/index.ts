export * from './config/detector.config';
export * from './core';
export * from './redis/checkpoint.repository';
export * from './detector.pipeline';
export * from './detector.runtime';
