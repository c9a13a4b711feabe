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
});
