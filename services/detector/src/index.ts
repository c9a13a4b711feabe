export * from './config/detector.config';
export * from './core';
export * from './checkpoint.repository';
export * from './detector-pipeline.service';
