import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeQueryBatch, type QueryEvent } from '@sluice/contracts';
import {
  pcapHeader,
  pcapRecords,
  simulate,
  zoneName,
  zonesOf,
  type ScenarioSpec,
} from '@sluice/traffic-sim';
import { QueryBatcher } from './query-batcher';
import { CaptureIngest } from './sources';
import { ZoneMapper } from './zone-mapper';

/**
 * The replay path's output, pinned: the same capture must give the same Kafka batches, byte for
 * byte, whatever the decoder, pairing or encoder do inside. The digests were recorded with the
 * code before the replay path was made cheaper (issue 13); a change to them is a change of output.
 */

function replayBatches(
  capture: Buffer,
  served: readonly string[],
  chunk: number,
): { digest: string; events: QueryEvent[]; batches: number; malformed: number } {
  const hash = createHash('sha256');
  const events: QueryEvent[] = [];
  let batches = 0;
  let malformed = 0;
  const batcher = new QueryBatcher((b) => {
    batches++;
    hash.update(`${b.source}|${b.zone}|${b.events}|`);
    hash.update(b.value);
    events.push(...decodeQueryBatch(b.value).events);
  }, 50);
  const ingest = new CaptureIngest('replay:capture.pcap', {
    zones: new ZoneMapper(served),
    sink: {
      record: (e, source) => batcher.add(e, source),
      malformed: () => void malformed++,
    },
  });
  for (let at = 0; at < capture.length; at += chunk) ingest.push(capture.subarray(at, at + chunk));
  ingest.end();
  batcher.drain();
  return { digest: hash.digest('hex'), events, batches, malformed };
}

const spec: ScenarioSpec = {
  seed: 13,
  startTime: 1_700_000_000_000,
  durationMs: 4000,
  zones: 6,
  benignQps: 600,
  withResponses: true,
  streams: [
    { kind: 'mirai', zone: zoneName(1), startMs: 500, durationMs: 2000, qps: 400 },
    { kind: 'hex', zone: zoneName(2), startMs: 1000, durationMs: 2000, qps: 300, resolvers: 200 },
  ],
};

/**
 * A traffic-sim capture with every response (IPv4 and IPv6 resolvers), varied: every 17th query
 * gets no response (it goes out without rcode after the pair window), every 23rd response has no
 * query (a record from the response alone), every 29th resolver is IPv4-mapped IPv6, every 31st
 * query is sent twice (a retransmission, answered once).
 */
function generatedCapture(): { capture: Buffer; plain: QueryEvent[] } {
  const plain = [...simulate(spec)];
  const parts: Buffer[] = [pcapHeader(1)];
  plain.forEach((e, i) => {
    let event = e;
    if (i % 29 === 0 && !e.resolver.includes(':'))
      event = { ...e, resolver: `::ffff:${e.resolver}` };
    if (i % 17 === 0) event = { ...event, rcode: null };
    const [q, r] = pcapRecords(event, { withResponses: true });
    if (i % 23 !== 0) parts.push(q!);
    if (i % 31 === 0) parts.push(q!);
    if (r) parts.push(r);
  });
  return { capture: Buffer.concat(parts), plain };
}

describe('replay output (pinned)', () => {
  const fixtures = join(__dirname, '../../test/fixtures');

  it.each([
    ['dns-mix.pcap', '771677493be4103023e51f79980a55574eb787abf516d639f25882bd715622e5'],
    ['dns-mix.pcapng', '771677493be4103023e51f79980a55574eb787abf516d639f25882bd715622e5'],
  ])('%s gives the same batches', (file, digest) => {
    const capture = readFileSync(join(fixtures, file));
    for (const chunk of [capture.length, 61]) {
      const out = replayBatches(capture, ['example.com'], chunk);
      expect(out.digest).toBe(digest);
    }
  });

  it('a traffic-sim capture with responses, IPv4 and IPv6, gives the same batches', () => {
    const { capture } = generatedCapture();
    const served = zonesOf(spec).slice(0, 5); // the sixth zone goes through the suffix list
    const whole = replayBatches(capture, served, 256 * 1024);
    expect(whole.malformed).toBe(0);
    expect({ batches: whole.batches, events: whole.events.length, digest: whole.digest }).toEqual({
      batches: 83,
      events: 4017,
      digest: 'bc3660f2000e34a74b03a13bb6f2d1c680fc251047c30b6a4c6931fa57672e77',
    });
    // Chunking never changes the output.
    expect(replayBatches(capture, served, 997).digest).toBe(whole.digest);
  });

  it('the plain capture replays to exactly the simulated events', () => {
    const plain = [...simulate(spec)];
    const parts = [pcapHeader(1), ...plain.flatMap((e) => pcapRecords(e, { withResponses: true }))];
    const out = replayBatches(Buffer.concat(parts), zonesOf(spec), 64 * 1024);
    const key = (e: QueryEvent) => `${e.ts}|${e.resolver}|${e.resolverPort}|${e.id}|${e.qname}`;
    const sort = (xs: QueryEvent[]) => [...xs].sort((a, b) => (key(a) < key(b) ? -1 : 1));
    const strip = (e: QueryEvent) => ({ ...e, ts: Math.round(e.ts * 1000) / 1000 });
    expect(sort(out.events).map(strip)).toEqual(sort(plain).map(strip));
  });
});
