import { loadIngestConfig } from './ingest.config';

describe('ingest config', () => {
  it('reads hot zones as zone:K and stops on a bad one, naming INGEST_HOT_ZONES', () => {
    const c = loadIngestConfig({ INGEST_HOT_ZONES: 'Flooded.Example.:4, other.example:2' });
    expect([...c.INGEST_HOT_ZONES]).toEqual([
      ['flooded.example', 4],
      ['other.example', 2],
    ]);
    expect(c.INGEST_HOT_QUERIES_TOPIC).toBe('sluice.hot-queries.v1');
    expect(loadIngestConfig({}).INGEST_HOT_ZONES.size).toBe(0);
    for (const bad of ['flooded.example', 'flooded.example:0', 'flooded.example:65', ':4'])
      expect(() => loadIngestConfig({ INGEST_HOT_ZONES: bad })).toThrow(/INGEST_HOT_ZONES/);
  });

  it('batches per partition unless told per zone, and stops on anything else, naming the setting', () => {
    expect(loadIngestConfig({}).INGEST_BATCH_PER).toBe('partition');
    expect(loadIngestConfig({ INGEST_BATCH_PER: 'zone' }).INGEST_BATCH_PER).toBe('zone');
    expect(() => loadIngestConfig({ INGEST_BATCH_PER: 'resolver' })).toThrow(
      /INGEST_BATCH_PER.*partition or zone/,
    );
  });
});
