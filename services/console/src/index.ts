export * from './config/console.config';
export * from './core/blocklist-table';
export * from './core/console-view';
export * from './core/stage-health';
export * from './console.state';
export * from './console.module';
