import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { type QueryEvent } from '@sluice/contracts';
import { ZoneMapper } from './core/zone-mapper';
import { replayStream, type PacedSink } from './replay';
import {
  expectedDnsMixIgnored,
  expectedDnsMixMalformed,
  expectedDnsMixPackets,
  expectedDnsMixRecords,
} from '../test/fixtures/dns-mix.expected';

const fixtures = join(__dirname, '..', 'test', 'fixtures');

describe.each(['dns-mix.pcap', 'dns-mix.pcapng'])('replay of the fixture %s', (file) => {
  it('yields exactly the expected records and malformed counts', async () => {
    const records: QueryEvent[] = [];
    const reasons: string[] = [];
    const sink: PacedSink = {
      congested: false,
      whenUncongested: () => Promise.resolve(),
      record: (e) => void records.push(e),
      malformed: (reason) => void reasons.push(reason),
    };
    const bytes = readFileSync(join(fixtures, file));
    // Small chunks: every record boundary lands mid-chunk somewhere.
    const chunks = Array.from({ length: Math.ceil(bytes.length / 13) }, (_, i) =>
      bytes.subarray(i * 13, i * 13 + 13),
    );
    const summary = await replayStream(Readable.from(chunks), file, {
      sink,
      zones: new ZoneMapper(),
    });
    expect(records).toEqual(expectedDnsMixRecords);
    expect(summary.malformed).toEqual(expectedDnsMixMalformed);
    expect(reasons.sort()).toEqual(Object.keys(expectedDnsMixMalformed).sort());
    expect(summary).toMatchObject({
      format: file.endsWith('ng') ? 'pcapng' : 'pcap',
      packets: expectedDnsMixPackets,
      ignored: expectedDnsMixIgnored,
      records: 5,
      failed: false,
    });
  });
});
