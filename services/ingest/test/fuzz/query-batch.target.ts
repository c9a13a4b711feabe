import {
  decodeQueryBatch,
  encodeQueryBatch,
  ErrorCodes,
  queryBatchSchema,
  SluiceError,
  type QueryBatch,
  type QueryEvent,
} from '@sluice/contracts';
import {
  describeMutant,
  mutants,
  type FuzzTarget,
  type FuzzTargetFactory,
  type Mutant,
  type Seed,
} from '@sluice/testing';
import { type EncodedBatch, QueryBatcher } from '../../src/core/query-batcher';
import { CaptureIngest } from '../../src/core/sources';
import { ZoneMapper } from '../../src/core/zone-mapper';
import { pcapSeeds, scenarioEvents } from './seeds';

/** decodeQueryBatch's errors (all SLUICE_SCHEMA_INVALID), by what they say. */
const BATCH_REASONS: ReadonlyArray<[string, string]> = [
  ['binary query batch is truncated or corrupt', 'batch-truncated'],
  ['query batch is not valid JSON', 'batch-bad-json'],
  ['query batch does not match its schema', 'batch-schema'],
  ['unknown query batch encoding', 'batch-unknown-encoding'],
];

/** The batches the ingest publishes: real captures replayed through CaptureIngest and QueryBatcher. */
function publishedBatches(): EncodedBatch[] {
  const batches: EncodedBatch[] = [];
  const batcher = new QueryBatcher((b) => batches.push(b), 6);
  const zones = new ZoneMapper(['example.com', 'victim.test']);
  for (const seed of pcapSeeds()) {
    const ingest = new CaptureIngest(seed.label, {
      zones,
      sink: { record: (e, source) => batcher.add(e, source), malformed: () => undefined },
    });
    ingest.push(seed.bytes);
    ingest.end();
  }
  // Straight from the scenario too: every attack kind, IPv6 resolvers, rcodes and answer counts.
  for (const e of scenarioEvents(60)) batcher.add(e, 'dnstap-tcp:ns1.example');
  batcher.drain();
  return batches;
}

export function batchSeeds(): Seed[] {
  const seeds: Seed[] = [];
  for (const b of publishedBatches()) {
    seeds.push({ label: `binary ${b.zone} ×${b.events} (${b.source})`, bytes: b.value });
    const batch = decodeQueryBatch(b.value);
    if (seeds.length % 4 === 0)
      seeds.push({ label: `json ${b.zone} ×${b.events}`, bytes: encodeQueryBatch(batch, 'json') });
    // Encoding 0x02 (before ancount) is still read: identical bytes when no event has an rcode.
    if (batch.events.every((e) => e.rcode === null)) {
      const v2 = Buffer.from(b.value);
      v2[0] = 0x02;
      seeds.push({ label: `binary v2 ${b.zone} ×${b.events}`, bytes: v2 });
    }
  }
  // A batch whose events name other zones and non-ASCII names (flags 32 and 64/128 together).
  const mixed: QueryEvent[] = scenarioEvents(6).map((e, i) => ({
    ...e,
    zone: i % 2 ? 'other.example' : e.zone,
    qname: i === 3 ? 'bücher.other.example' : i === 5 ? 'other.example' : e.qname,
  }));
  const batch: QueryBatch = { v: 1, source: 'mixed', zone: mixed[0]!.zone, events: mixed };
  seeds.push({ label: 'binary mixed zones', bytes: encodeQueryBatch(batch) });
  seeds.push({ label: 'json mixed zones', bytes: encodeQueryBatch(batch, 'json') });
  return seeds;
}

/** Stable text of a batch: ancount absent and null are the same (JSON may omit it). */
function text(b: QueryBatch): string {
  return JSON.stringify({
    ...b,
    events: b.events.map((e) => ({ ...e, ancount: e.ancount ?? null })),
  });
}

/**
 * The query-batch codec, as the detector uses it on sluice.queries.v1: every mutated batch is
 * decoded into a batch inside the contract (which re-encodes to itself, binary and JSON) or
 * rejected with SLUICE_SCHEMA_INVALID and a reason; any other exception is a bug.
 */
export const queryBatchFuzzTarget: FuzzTargetFactory = {
  name: 'query-batch',
  network: false,
  description:
    'sluice.queries.v1 values the ingest publishes (binary 0x03 and 0x02, JSON; pcap replays and scenario events through QueryBatcher) → decodeQueryBatch, contract check, re-encode round trip',
  create() {
    const seeds = batchSeeds();
    const target: FuzzTarget<Mutant> = {
      name: 'query-batch',
      arbitrary: mutants(seeds, { maxMutations: 5 }),
      reasons: BATCH_REASONS.map(([, r]) => r),
      describe: (m) => describeMutant(seeds, m),
      run(m) {
        let batch: QueryBatch;
        try {
          batch = decodeQueryBatch(m.bytes);
        } catch (e) {
          if (!(e instanceof SluiceError) || e.code !== ErrorCodes.schema) throw e;
          const reason = BATCH_REASONS.find(([prefix]) => e.message.startsWith(prefix))?.[1];
          return { decoded: 0, malformed: [reason ?? `unknown: ${e.message}`] };
        }
        const parsed = queryBatchSchema.safeParse(batch);
        if (!parsed.success)
          throw new Error(
            `decoded batch is outside the contract: ${parsed.error.message.slice(0, 500)}`,
          );
        const want = text(batch);
        for (const encoding of ['binary', 'json'] as const) {
          const again = text(decodeQueryBatch(encodeQueryBatch(batch, encoding)));
          if (again !== want) throw new Error(`${encoding} re-encoding changed the batch`);
        }
        return { decoded: batch.events.length + 1, malformed: [] };
      },
    };
    return Promise.resolve(target as FuzzTarget<unknown>);
  },
};
