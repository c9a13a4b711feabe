import { loadEnrichmentConfig } from './enrichment.config';

describe('enrichment config', () => {
  it('bounds the report store with a row cap an operator sets, refused by name when unusable', () => {
    expect(loadEnrichmentConfig({}).REPORT_MAX_RESOLVER_ROWS).toBe(1_000_000);
    expect(
      loadEnrichmentConfig({ REPORT_MAX_RESOLVER_ROWS: '20000' }).REPORT_MAX_RESOLVER_ROWS,
    ).toBe(20_000);
    for (const bad of ['500', '0', '-3', '1.5', 'lots'])
      expect(() => loadEnrichmentConfig({ REPORT_MAX_RESOLVER_ROWS: bad })).toThrow(
        /REPORT_MAX_RESOLVER_ROWS/,
      );
  });
});
