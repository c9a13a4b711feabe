import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import * as dnsPacket from 'dns-packet';
import { type QueryEvent } from '@sluice/contracts';
import { ipBytes, pcapHeader, pcapRecords, simulate, zonesOf } from '@sluice/traffic-sim';
import { encodeDnstap } from './core/dnstap';
import {
  ControlType,
  DNSTAP_CONTENT_TYPE,
  encodeControlFrame,
  encodeDataFrame,
} from './core/frame-streams';
import { ZoneMapper } from './core/zone-mapper';
import { replayFile, replayStream, type PacedSink, type ReplaySummary } from './replay';
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

describe('replayFile (chunks read into one reused buffer)', () => {
  const collect = () => {
    const records: QueryEvent[] = [];
    const reasons: string[] = [];
    const sink: PacedSink = {
      congested: false,
      whenUncongested: () => Promise.resolve(),
      record: (e) => void records.push({ ...e }),
      malformed: (reason) => void reasons.push(reason),
    };
    return { records, reasons, sink };
  };
  /** The file replayed from disk, and the same bytes as one fresh chunk: the same output. */
  async function expectSameAsOneChunk(bytes: Buffer, name: string, served: string[], speed = 0) {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-replay-'));
    try {
      const path = join(dir, name);
      writeFileSync(path, bytes);
      const fromFile = collect();
      const file = await replayFile(path, {
        sink: fromFile.sink,
        zones: new ZoneMapper(served),
        speed,
      });
      const whole = collect();
      const stream = await replayStream(Readable.from([Buffer.from(bytes)]), name, {
        sink: whole.sink,
        zones: new ZoneMapper(served),
      });
      const strip = ({ seconds: _s, ...rest }: ReplaySummary) => rest;
      expect(strip(file)).toEqual(strip(stream));
      expect(fromFile.reasons).toEqual(whole.reasons);
      expect(fromFile.records).toEqual(whole.records);
      return file;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  const simSpec = {
    seed: 7,
    startTime: 1_700_000_000_000,
    durationMs: 6000,
    zones: 5,
    benignQps: 2500,
    withResponses: true,
  };
  const simPcap = () => {
    const parts = [pcapHeader(1)];
    for (const e of simulate(simSpec)) parts.push(...pcapRecords(e, { withResponses: true }));
    return Buffer.concat(parts);
  };

  it('a pcap of several chunks, records straddling their boundaries', async () => {
    const bytes = simPcap();
    expect(bytes.length).toBeGreaterThan(3 * 1024 * 1024);
    const summary = await expectSameAsOneChunk(bytes, 'sim.pcap', zonesOf(simSpec));
    expect(summary.records).toBeGreaterThan(14_000);
  });

  it('paced: each read pushed in slices, the same records, and no faster than the pace', async () => {
    // 6 s of event time at 100× takes at least 60 ms: the last slice waits for its time.
    const summary = await expectSameAsOneChunk(simPcap(), 'sim.pcap', zonesOf(simSpec), 100);
    expect(summary.records).toBeGreaterThan(14_000);
    expect(summary.seconds).toBeGreaterThanOrEqual(0.05);
  });

  /** 40,000 dnstap frames over 40 s of event time, one ending exactly at the first MiB. */
  const fstrmFile = () => {
    const frames = [encodeControlFrame(ControlType.START, [DNSTAP_CONTENT_TYPE])];
    let size = frames[0]!.length;
    for (let i = 0; i < 40_000; i++) {
      // A frame ends exactly where the first 1 MiB chunk does, so the second is decoded in
      // place and the start of its last, unfinished frame is kept as a view of the read buffer
      // (filler: one data frame that is not dnstap).
      const boundary = 1024 * 1024;
      if (size >= boundary - 300 && size < boundary) {
        frames.push(encodeDataFrame(Buffer.alloc(boundary - size - 4, 0xff)));
        size = boundary;
      }
      const name = `${'x'.repeat(30 + (i % 23))}-${i}.example.com`;
      const frame = encodeDataFrame(
        encodeDnstap({
          socketFamily: 1,
          socketProtocol: 1,
          queryAddress: ipBytes(`192.0.2.${i % 250}`),
          queryPort: 1024 + i,
          queryTimeSec: 1_700_000_000 + Math.floor(i / 1000),
          queryTimeNsec: (i % 1000) * 1_000_000,
          identity: 'ns1',
          type: 1,
          queryMessage: dnsPacket.encode({
            type: 'query',
            id: i & 0xffff,
            questions: [{ type: 'A', name }],
          }),
        }),
      );
      frames.push(frame);
      size += frame.length;
    }
    frames.push(encodeControlFrame(ControlType.STOP));
    return Buffer.concat(frames);
  };

  it('an .fstrm file whose frames straddle chunks (the decoder keeps views of them)', async () => {
    const bytes = fstrmFile();
    // Past three chunks: the second one's leftover is overwritten by a whole third.
    expect(bytes.length).toBeGreaterThan(3.5 * 1024 * 1024);
    const summary = await expectSameAsOneChunk(bytes, 'ns1.fstrm', ['example.com']);
    expect(summary.records).toBe(40_000);
    expect(summary.malformed).toEqual({ 'dnstap-decode': 1 });
  });

  it('paced .fstrm: frames straddle the slices of each read, the same records', async () => {
    const summary = await expectSameAsOneChunk(fstrmFile(), 'ns1.fstrm', ['example.com'], 1000);
    expect(summary.records).toBe(40_000);
    expect(summary.malformed).toEqual({ 'dnstap-decode': 1 });
    expect(summary.seconds).toBeGreaterThanOrEqual(0.035);
  });
});
