/**
 * Before/after of the response path of pairing: decodeResponseHeadInto + responseQnameIs over
 * every response of a capture (kept in memory), the baseline checkout's built ingest and this
 * one taking turns in one process. The name compared is the response's own, except every 8th,
 * altered so that mismatches are timed too; both builds must agree on every comparison.
 *
 *   node --require @swc-node/register services/ingest/bench/response-name-ab.ts \
 *     <baseline checkout> <capture.pcap (Ethernet)> [passes=11]
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as current from '../dist';

type Ingest = typeof current;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

function main(): void {
  const [baseArg, capture, passesArg] = process.argv.slice(2);
  if (!baseArg || !capture) throw new Error('usage: response-name-ab.ts <baseline> <capture>');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const baseline = require(resolve(baseArg, 'services/ingest/dist')) as Ingest;
  const data = readFileSync(capture);
  const starts: number[] = [];
  const ends: number[] = [];
  const names: string[] = [];
  const packets = new current.PacketDecoder();
  const v = new current.PacketView();
  for (let at = 24; at + 16 <= data.length;) {
    const incl = data.readUInt32LE(at + 8);
    const kind = packets.decodeView(current.LinkType.ETHERNET, data, at + 16, at + 16 + incl, v);
    if (kind === current.PACKET_DNS && v.udp && (data[v.start + 2]! & 0x80) !== 0) {
      const r = current.decodeDnsResponse(data, v.start, v.end);
      if (r.ok) {
        starts.push(v.start);
        ends.push(v.end);
        names.push(starts.length % 8 === 0 ? `x${r.msg.qname}` : r.msg.qname);
      }
    }
    at += 16 + incl;
  }
  const run = (m: Ingest) => {
    const msg = m.emptyDnsSummary();
    const matched = new Uint8Array(starts.length);
    const t = process.cpuUsage();
    for (let i = 0; i < starts.length; i++) {
      if (m.decodeResponseHeadInto(data, starts[i]!, ends[i]!, msg) === null)
        matched[i] = m.responseQnameIs(data, names[i]!) ? 1 : 0;
    }
    const c = process.cpuUsage(t);
    return { ms: (c.user + c.system) / 1000, matched };
  };
  const ms: Record<'baseline' | 'this build', number[]> = { baseline: [], 'this build': [] };
  for (let i = 0; i < Number(passesArg ?? 11); i++) {
    const b = i % 2 === 0 ? run(baseline) : null;
    const c = run(current);
    const b2 = b ?? run(baseline);
    if (!Buffer.from(b2.matched).equals(Buffer.from(c.matched)))
      throw new Error('the builds disagree on a comparison');
    ms.baseline.push(b2.ms);
    ms['this build'].push(c.ms);
  }
  const matches = run(current).matched.reduce((n, x) => n + x, 0);
  for (const [name, xs] of Object.entries(ms))
    process.stdout.write(
      `${name}: ${xs.map((x) => x.toFixed(0)).join(', ')} ms — median ${median(xs).toFixed(0)}\n`,
    );
  process.stdout.write(
    `${starts.length} responses, ${matches} matched (same in both builds); baseline ÷ this build ${(median(ms.baseline) / median(ms['this build'])).toFixed(2)}×\n`,
  );
}

main();
