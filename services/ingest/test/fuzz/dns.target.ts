import { isIP } from 'node:net';
import { queryEventSchema, type QueryEvent } from '@sluice/contracts';
import {
  describeMutant,
  mutants,
  type FuzzTarget,
  type FuzzTargetFactory,
  type Mutant,
} from '@sluice/testing';
import {
  clientSubnetAddress,
  decodeDnsFast,
  decodeDnsReference,
  DNS_FALLBACK,
  type DnsDecodeResult,
  type MalformedDnsReason,
} from '../../src/core/dns-decode';
import { DatagramIngest } from '../../src/core/sources';
import { ZoneMapper } from '../../src/core/zone-mapper';
import { dnsSeeds } from './seeds';

/** Every reason the DNS decoder names (the compile-time check below keeps the list complete). */
export const DNS_REASONS = [
  'dns-short-header',
  'dns-truncated',
  'dns-label-overflow',
  'dns-bad-pointer',
  'dns-name-too-long',
  'dns-bad-label',
  'dns-no-question',
  'dns-malformed',
] as const satisfies readonly MalformedDnsReason[];
const dnsReasonsComplete: [Exclude<MalformedDnsReason, (typeof DNS_REASONS)[number]>] extends [
  never,
]
  ? true
  : never = true;
void dnsReasonsComplete;

/** Records must be what the contract says: the detector trusts every field of a QueryEvent. */
export function checkRecord(e: QueryEvent, where: string): void {
  const parsed = queryEventSchema.safeParse(e);
  if (!parsed.success)
    throw new Error(`${where}: record outside the QueryEvent contract: ${parsed.error.message}`);
}

function same(a: DnsDecodeResult, b: DnsDecodeResult): boolean {
  if (a.ok !== b.ok) return false;
  if (!a.ok || !b.ok) return !a.ok && !b.ok && a.reason === b.reason;
  const x = a.msg;
  const y = b.msg;
  return (
    x.id === y.id &&
    x.isResponse === y.isResponse &&
    x.rd === y.rd &&
    x.cd === y.cd &&
    x.rcode === y.rcode &&
    x.ancount === y.ancount &&
    x.qname === y.qname &&
    x.qtype === y.qtype &&
    x.qclass === y.qclass &&
    x.ednsSize === y.ednsSize &&
    x.do === y.do
  );
}

/** Collects what the UDP mirror path made of one datagram. */
class OneDatagram {
  records: QueryEvent[] = [];
  malformed: string[] = [];
  record(e: QueryEvent): void {
    this.records.push(e);
  }
  malformedInput(reason: string): void {
    this.malformed.push(reason);
  }
}

/**
 * The DNS decoder: each mutated message goes through the question fast path (which must agree
 * with dns-packet wherever it answers), the ECS reader, and the UDP mirror path end to end
 * (DatagramIngest: decode, zone mapping, record), which must count it exactly once: one record
 * inside the QueryEvent contract, or one malformed reason.
 */
export const dnsFuzzTarget: FuzzTargetFactory = {
  name: 'dns-decoder',
  network: false,
  description:
    'DNS messages (traffic-sim queries/responses, ECS, cookies, compression, UTF-8 labels) → fast path vs dns-packet, ECS reader, UDP mirror ingest',
  create() {
    const seeds = dnsSeeds();
    const zones = new ZoneMapper(['example.com', 'victim.test']);
    const collect = new OneDatagram();
    const ingest = new DatagramIngest('fuzz:udp', {
      zones,
      sink: {
        record: (e) => collect.record(e),
        malformed: (reason) => collect.malformedInput(reason),
      },
      // No pairing: every datagram comes out at once, so one datagram is one outcome.
      assembler: { pairWindowMs: 0, maxPending: 1 },
    });
    const target: FuzzTarget<Mutant> = {
      name: 'dns-decoder',
      arbitrary: mutants(seeds, { maxMutations: 5 }),
      reasons: DNS_REASONS,
      // A message of at most a few hundred bytes decodes in microseconds; 2 ms is a flood's worth.
      maxInputMs: 2,
      describe: (m) => describeMutant(seeds, m),
      run(m) {
        const buf = m.bytes;
        const fast = decodeDnsFast(buf);
        if (fast !== DNS_FALLBACK) {
          const reference = decodeDnsReference(buf);
          if (!same(fast, reference))
            throw new Error(
              `fast path and dns-packet disagree: ${JSON.stringify(fast)} vs ${JSON.stringify(reference)}`,
            );
        }
        const ecs = clientSubnetAddress(buf);
        if (ecs !== null && isIP(ecs) === 0)
          throw new Error(`ECS address ${JSON.stringify(ecs)} is not an IP address`);
        collect.records.length = 0;
        collect.malformed.length = 0;
        const before = ingest.tally.records + ingest.tally.malformedTotal;
        ingest.datagram(buf, 1_700_000_000_000, '192.0.2.1', 5353);
        const counted = ingest.tally.records + ingest.tally.malformedTotal - before;
        const outcomes = collect.records.length + collect.malformed.length;
        if (counted !== 1 || outcomes !== 1)
          throw new Error(`one datagram counted ${counted} times, ${outcomes} outcomes`);
        for (const e of collect.records) checkRecord(e, 'UDP mirror');
        return { decoded: collect.records.length, malformed: collect.malformed };
      },
    };
    return Promise.resolve(target as FuzzTarget<unknown>);
  },
};
