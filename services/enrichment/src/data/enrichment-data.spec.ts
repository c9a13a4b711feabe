import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packagedDataPaths } from './packaged-data';
import { EnrichmentData, type ReloadEvent } from './enrichment-data';

const fixtures = join(__dirname, '../../test/fixtures/mmdb');

// Generous: the reload polls the file, and CI's unit run keeps both cores busy (a 5 s budget for
// the whole test timed out there once); the test still fails if a reload never comes.
async function until<T>(f: () => T | undefined, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('EnrichmentData', () => {
  let dir: string;
  let data: EnrichmentData | null = null;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'sluice-data-'))));
  afterEach(() => {
    data?.close();
    data = null;
    rmSync(dir, { recursive: true, force: true });
  });

  it('fails boot naming a missing operator file', () => {
    const missing = join(dir, 'GeoLite2-ASN.mmdb');
    expect(() =>
      EnrichmentData.load({ asnMmdb: missing, countryMmdb: null, cacheSize: 10 }),
    ).toThrow(`MMDB file ${missing} cannot be read (ENOENT)`);
  });

  it('fails boot naming a corrupt operator file', () => {
    const bad = join(dir, 'GeoLite2-Country.mmdb');
    writeFileSync(bad, Buffer.alloc(5000, 7));
    expect(() => EnrichmentData.load({ asnMmdb: null, countryMmdb: bad, cacheSize: 10 })).toThrow(
      new RegExp(`MMDB file ${bad} is not a valid MaxMind database`),
    );
  });

  it('reloads a changed file, and keeps serving the old data when the new one is corrupt', async () => {
    const asn = join(dir, 'asn.mmdb');
    const country = join(dir, 'country.mmdb');
    copyFileSync(join(fixtures, 'GeoLite2-ASN-Test.mmdb'), asn);
    copyFileSync(join(fixtures, 'GeoLite2-Country-Test.mmdb'), country);
    data = EnrichmentData.load({ asnMmdb: asn, countryMmdb: country, cacheSize: 10 });
    const events: ReloadEvent[] = [];
    data.watch(25, (e) => events.push(e));
    expect(data.enricher.enrich('81.2.69.160').country).toBe('GB');
    expect(data.enricher.enrich('8.8.8.8').country).toBeNull();

    // a broken download lands: reported, previous data keeps answering
    writeFileSync(country, 'half a file');
    const failed = await until(() => events.find((e) => !e.ok));
    expect(failed).toMatchObject({ file: country, role: 'country', ok: false });
    expect(data.enricher.enrich('81.2.69.160').country).toBe('GB');

    // the fixed file arrives: swapped in, cache cleared
    copyFileSync(packagedDataPaths().countryMmdb, country);
    await until(() => events.find((e) => e.ok));
    expect(data.enricher.enrich('8.8.8.8').country).toBe('US');
  }, 45_000);
});
