import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { decodeQueryBatch, type QueryEvent } from '@sluice/contracts';
import { pcapHeader } from '@sluice/traffic-sim';
import { ZoneMapper } from './core/zone-mapper';
import { type EncodedBatch } from './core/query-batcher';
import { replayFileThreaded, replayStreamThreaded, type BatchSink } from './replay-threaded';
import {
  expectedDnsMixIgnored,
  expectedDnsMixMalformed,
  expectedDnsMixPackets,
  expectedDnsMixRecords,
} from '../test/fixtures/dns-mix.expected';

const fixtures = join(__dirname, '..', 'test', 'fixtures');

function collectingSink() {
  const batches: EncodedBatch[] = [];
  const reasons: string[] = [];
  const sink: BatchSink = {
    congested: false,
    whenUncongested: () => Promise.resolve(),
    publishBatch: (b) => void batches.push(b),
    malformed: (reason) => void reasons.push(reason),
  };
  const records = (): QueryEvent[] => batches.flatMap((b) => decodeQueryBatch(b.value).events);
  return { sink, batches, reasons, records };
}

const byTime = (a: QueryEvent, b: QueryEvent) => a.ts - b.ts || a.qname.localeCompare(b.qname);

describe.each(['dns-mix.pcap', 'dns-mix.pcapng'])('threaded replay of the fixture %s', (file) => {
  it('publishes exactly the records and malformed counts of the in-thread replay', async () => {
    const out = collectingSink();
    const summary = await replayFileThreaded(join(fixtures, file), {
      sink: out.sink,
      zones: new ZoneMapper(),
      batchEvents: 2,
    });
    // Batches are per zone, so only the order across zones differs from the capture's.
    expect(out.records().sort(byTime)).toEqual([...expectedDnsMixRecords].sort(byTime));
    for (const b of out.batches) {
      expect(b.events).toBe(decodeQueryBatch(b.value).events.length);
      expect(decodeQueryBatch(b.value).events.every((e) => e.zone === b.zone)).toBe(true);
    }
    expect(summary.malformed).toEqual(expectedDnsMixMalformed);
    expect(out.reasons.sort()).toEqual(Object.keys(expectedDnsMixMalformed).sort());
    expect(summary).toMatchObject({
      format: file.endsWith('ng') ? 'pcapng' : 'pcap',
      packets: expectedDnsMixPackets,
      ignored: expectedDnsMixIgnored,
      records: expectedDnsMixRecords.length,
      failed: false,
    });
  });
});

describe('threaded replay', () => {
  it('stops at unreadable input and reports it as failed', async () => {
    const out = collectingSink();
    const summary = await replayStreamThreaded(
      Readable.from([Buffer.from('this is not a capture file at all')]),
      'garbage',
      { sink: out.sink, zones: new ZoneMapper(), batchEvents: 100 },
    );
    expect(summary).toMatchObject({ failed: true, records: 0, format: 'unknown' });
    expect(summary.malformed).toEqual({ 'capture-bad-magic': 1 });
  });

  it('carries a large capture across the thread boundary in many chunks', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-threaded-'));
    try {
      // The fixture's packets repeated: many 256 KiB chunks cross the worker boundary.
      const one = readFileSync(join(fixtures, 'dns-mix.pcap'));
      const records = one.subarray(24);
      const copies = 4000;
      const path = join(dir, 'big.pcap');
      const body = Array.from({ length: copies }, () => records);
      writeFileSync(path, Buffer.concat([pcapHeader(one.readUInt32LE(20)), ...body]));
      const out = collectingSink();
      let progressCalls = 0;
      const summary = await replayFileThreaded(path, {
        sink: out.sink,
        zones: new ZoneMapper(),
        batchEvents: 500,
        pairWindowMs: 0,
        onProgress: () => void progressCalls++,
      });
      expect(summary.packets).toBe(expectedDnsMixPackets * copies);
      expect(out.records().length).toBe(summary.records);
      expect(summary.records).toBeGreaterThanOrEqual(expectedDnsMixRecords.length * copies);
      expect(progressCalls).toBeGreaterThan(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
