import { Counter, Gauge, type Registry } from '@sluice/service-kit';
import { type ConsoleView } from '../core/console-view';

export type ConsoleMetrics = ReturnType<typeof createConsoleMetrics>;

/** Every sluice_console_* metric, in one place; the gauges read the view at scrape time. */
export function createConsoleMetrics(registry: Registry, view: () => ConsoleView) {
  const registers = [registry];
  new Gauge({
    name: 'sluice_console_blocklist_entries',
    help: 'Blocklist entries in the console view',
    registers,
    collect() {
      this.set(view().blocklist.size);
    },
  });
  new Gauge({
    name: 'sluice_console_attacks',
    help: 'Attacks in the console view, by phase',
    labelNames: ['phase'],
    registers,
    collect() {
      this.reset();
      const counts: Record<string, number> = {};
      for (const a of view().attackViews()) counts[a.phase] = (counts[a.phase] ?? 0) + 1;
      for (const [phase, n] of Object.entries(counts)) this.set({ phase }, n);
    },
  });
  return {
    records: new Counter({
      name: 'sluice_console_records_total',
      help: 'Records applied to the console view, by topic',
      labelNames: ['topic'],
      registers,
    }),
    malformed: new Counter({
      name: 'sluice_console_malformed_total',
      help: 'Records skipped because they did not match their schema, by topic',
      labelNames: ['topic'],
      registers,
    }),
    clients: new Gauge({
      name: 'sluice_console_clients',
      help: 'Browsers with an open event stream',
      registers,
    }),
  };
}
