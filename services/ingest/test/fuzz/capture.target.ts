import {
  applyMutations,
  chunked,
  chunkSizes,
  describeMutant,
  fc,
  recipeArbitrary,
  type FuzzTarget,
  type FuzzTargetFactory,
  type Mutation,
  type Seed,
} from '@sluice/testing';
import { type PacketErrorReason } from '../../src/core/packet-decoder';
import { type CaptureErrorReason } from '../../src/core/pcap-reader';
import { CaptureIngest } from '../../src/core/sources';
import { type TcpErrorReason } from '../../src/core/tcp-reassembler';
import { ZoneMapper } from '../../src/core/zone-mapper';
import { DNS_REASONS } from './dns.target';
import { Outcomes, sameOutcomes, tallyVerdict } from './outcomes';
import { pcapngSeeds, pcapSeeds } from './seeds';

const CAPTURE_REASONS = [
  'capture-bad-magic',
  'capture-truncated',
  'capture-bad-block',
  'capture-unknown-interface',
] as const satisfies readonly CaptureErrorReason[];
const PACKET_REASONS = [
  'link-unsupported',
  'link-truncated',
  'ip-truncated',
  'ip-bad-header',
  'ip-fragment',
  'udp-truncated',
  'tcp-truncated',
] as const satisfies readonly PacketErrorReason[];
export const TCP_REASONS = [
  'tcp-gap',
  'tcp-incomplete-message',
  'tcp-flow-evicted',
  'tcp-zero-length',
] as const satisfies readonly TcpErrorReason[];
/** Compile-time: every reason the component declares is in its list. */
type Covers<All, Listed> = [Exclude<All, Listed>] extends [never] ? true : never;
const complete: [
  Covers<CaptureErrorReason, (typeof CAPTURE_REASONS)[number]>,
  Covers<PacketErrorReason, (typeof PACKET_REASONS)[number]>,
  Covers<TcpErrorReason, (typeof TCP_REASONS)[number]>,
] = [true, true, true];
void complete;

interface Input {
  seed: number;
  mutations: Mutation[];
  chunks: number[];
}

const zones = new ZoneMapper(['example.com', 'victim.test']);

function replay(bytes: Buffer, chunks: number[]) {
  const out = new Outcomes('capture');
  // Replay's own pairing (query held 500 ms for its response), with a small bound so the
  // oldest-first eviction runs too.
  const ingest = new CaptureIngest('fuzz.pcap', {
    zones,
    sink: out,
    assembler: { pairWindowMs: 500, maxPending: 4 },
  });
  for (const c of chunked(bytes, chunks)) ingest.push(c);
  ingest.end();
  return { out, ingest };
}

function captureTarget(name: 'pcap' | 'pcapng', seeds: Seed[]): FuzzTarget<Input> {
  const bytesOf = (i: Input) => {
    const s = seeds[i.seed]!;
    return applyMutations(s.bytes, i.mutations, seeds, s.fields);
  };
  return {
    name,
    arbitrary: fc
      .tuple(recipeArbitrary(seeds.length, { maxMutations: 6 }), chunkSizes())
      .map(([r, chunks]): Input => ({ ...r, chunks })),
    reasons: [...CAPTURE_REASONS, ...PACKET_REASONS, ...TCP_REASONS, ...DNS_REASONS],
    describe: (i) =>
      `${describeMutant(seeds, { seed: i.seed, mutations: i.mutations, bytes: bytesOf(i) })}\nchunks ${JSON.stringify(i.chunks)}`,
    run(i) {
      const bytes = bytesOf(i);
      const a = replay(bytes, i.chunks);
      // The reader streams (stdin from tcpdump): where the reads were cut must not matter.
      const b = replay(bytes, []);
      sameOutcomes(a.out, b.out, 'whole vs chunked');
      return tallyVerdict(a.ingest.tally, !a.ingest.failed && a.ingest.tally.malformedTotal === 0);
    },
  };
}

const description = (format: string) =>
  `${format} captures from traffic-sim's capture writer (Ethernet, VLAN, QinQ, SLL, SLL2, raw; IPv4/IPv6; UDP and DNS over TCP)${format === 'pcapng' ? ', tsresol options, SPB, obsolete PB, NRB/ISB, big-endian sections' : ', big-endian/ns variant'} and the dns-mix fixture, random chunking → CaptureIngest (reader, packet decoder, TCP reassembler, DNS decoder)`;

/** pcap replay: every packet decoded, ignored (not DNS) or counted as malformed with its reason. */
export const pcapFuzzTarget: FuzzTargetFactory = {
  name: 'pcap',
  network: false,
  description: description('pcap'),
  create: () => Promise.resolve(captureTarget('pcap', pcapSeeds()) as FuzzTarget<unknown>),
};

export const pcapngFuzzTarget: FuzzTargetFactory = {
  name: 'pcapng',
  network: false,
  description: description('pcapng'),
  create: () => Promise.resolve(captureTarget('pcapng', pcapngSeeds()) as FuzzTarget<unknown>),
};
